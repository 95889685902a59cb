"""genlib.answer.rules on plain data: the app an answer lands on, the answer, the app it would produce.

(The same rules through the real `doit gen` and `doit heal` are in tests/faults/.)
"""

from __future__ import annotations

from typing import Any

import pytest
from resources import at_caps

from genlib.answer.patch import fingerprint, only_changed
from genlib.answer.rules import App, Baseline, Limits, check, check_one_file
from genlib.answer.syntax import Syntax
from genlib.documents import scenarios
from genlib.documents.llm_output import Answer, ComponentSpec, FileSpec
from genlib.errors import OutputError, PatchRejected

SERVER = "api/notes/server.js"
SPECS = [
    {"name": "notes", "layer": "api", "runtime": "node", "port": 3000, "command": ["node", "server.js"]},
    {"name": "digest", "layer": "workers", "runtime": "python", "command": ["python3", "worker.py"],
     "depends_on": ["notes"]},
    {"name": "web", "layer": "frontend", "runtime": "static", "depends_on": ["notes"]},
]  # fmt: skip
TREE = {
    SERVER: "old server\n",
    "workers/digest/worker.py": "print('x')\n",
    "frontend/web/index.html": "<h1>Notes</h1>\n",
}
TESTS = scenarios.TestFile.model_validate(
    {
        "scenarios": [
            {"name": "list notes", "kind": "http", "service": "notes-api", "origin": "user"},
            {"name": "digest runs", "kind": "logs", "service": "digest-workers", "origin": "model"},
        ]
    }
)
CURRENT = Baseline(
    {(s["layer"], s["name"]): ComponentSpec.model_validate(s) for s in SPECS}, dict(TREE), TESTS
)  # fmt: skip


def patch(**answer: Any) -> App:
    return check(Answer.model_validate(answer), CURRENT, Limits(), patch=True)


def gen(limits: Limits = Limits(), **answer: Any) -> App:  # noqa: B008 (frozen)
    return check(Answer.model_validate({"files": [{"path": SERVER, "content": "x"}], **answer}), CURRENT, limits)


def test_a_good_patch_produces_the_app_with_it_applied() -> None:
    answer = Answer.model_validate(
        {
            "files": [
                {"path": SERVER, "content": "new server\n"},
                {"path": "frontend/web/index.html", "content": TREE["frontend/web/index.html"]},
            ],
            "deletions": ["workers/digest/worker.py"],
        }
    )
    app = check(answer, CURRENT, Limits(), patch=True)
    assert "workers/digest/worker.py" not in app.files and SERVER in app.files
    assert [f.path for f in only_changed(answer, TREE).files] == [SERVER]  # the unchanged file is not kept


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ({"files": [{"path": "test.yaml", "content": "x"}]}, "unknown layer 'test.yaml'"),
        ({"files": [{"path": "../api/notes/x.js", "content": "x"}]}, "'..' segment"),
        ({"files": [{"path": "api/other/x.js", "content": "x"}]}, "no declared component api/other"),
        ({"files": [{"path": SERVER, "content": "a\x00b"}]}, "looks binary"),
        ({"files": [{"path": SERVER, "content": "a\ud800b"}]}, "lone surrogate"),
        ({"deletions": ["docker-compose.yml"]}, "must be a file path or <layer>/<component>"),
        ({"deletions": ["api/notes/missing.js"]}, "names no current file"),
        ({"files": [{"path": SERVER, "content": TREE[SERVER]}]}, "changes nothing"),
        ({}, "changes nothing"),
    ],
)
def test_patches_breaking_a_rule_are_rejected_with_a_reason(answer: dict[str, Any], reason: str) -> None:
    with pytest.raises(PatchRejected, match=reason.replace("(", r"\(").replace(")", r"\)")):
        patch(**answer)


def test_a_person_s_scenario_may_not_be_resent_even_weakened() -> None:
    weakened = {"name": "list notes", "kind": "http", "service": "notes-api", "expect": {"status": 500}}
    with pytest.raises(PatchRejected, match="'list notes' was written by a person"):
        patch(files=[{"path": SERVER, "content": "x"}], scenarios=[weakened])


def test_a_patch_may_not_claim_user_origin_for_its_scenarios() -> None:
    new = {"name": "new check", "kind": "logs", "service": "notes-api", "origin": "user"}
    with pytest.raises(PatchRejected, match="claims origin user"):
        patch(scenarios=[new])


def test_model_scenarios_may_be_changed_and_added() -> None:
    changed = {"name": "digest runs", "kind": "logs", "service": "digest-workers", "must_contain": ["ok"]}
    added = {"name": "api logs", "kind": "logs", "service": "notes-api"}  # origin left out: fine
    assert patch(scenarios=[changed, added]).services == {"notes-api", "digest-workers", "web-frontend"}


def test_a_service_a_person_tests_may_not_be_deleted_or_stopped() -> None:
    with pytest.raises(PatchRejected, match="removes or stops service 'notes-api', which scenario 'list notes'"):
        patch(deletions=["api/notes"], components=[{**SPECS[1], "depends_on": []}, {**SPECS[2], "depends_on": []}])
    silenced = {"name": "notes", "layer": "api", "runtime": "node"}
    with pytest.raises(PatchRejected, match="removes or stops service 'notes-api'"):
        patch(components=[silenced], files=[{"path": SERVER, "content": "x"}])


def test_deleting_a_component_its_dependents_wait_on_is_refused() -> None:
    """The dependants' depends_on would name nothing: the app could not start."""
    with pytest.raises(PatchRejected, match="depends_on 'digest' names no runnable component"):
        patch(deletions=["workers/digest"], components=[{**SPECS[2], "depends_on": ["digest"]}])


def test_a_model_scenario_of_a_deleted_component_is_dropped_from_test_yaml() -> None:
    app = patch(deletions=["workers/digest"])
    settled, dropped = scenarios.settle(TESTS, app.services)
    assert dropped == ["digest runs"]
    assert [s.name for s in settled.scenarios] == ["list notes"]


def test_a_scenario_naming_a_service_the_app_would_not_have_is_refused() -> None:
    ghost = {"name": "ghost", "kind": "logs", "service": "digest-workers"}
    with pytest.raises(PatchRejected, match="names service 'digest-workers', which the app would not have"):
        patch(deletions=["workers/digest"], scenarios=[ghost])


def test_a_depends_on_cycle_is_refused() -> None:
    loop = {**SPECS[0], "depends_on": ["web"]}
    with pytest.raises(OutputError, match="depends_on makes a cycle: notes-api -> web-frontend -> notes-api"):
        gen(components=[loop])


@pytest.mark.fault_class(3)
def test_a_dense_depends_on_graph_is_checked_once_per_service() -> None:
    """30 services each depending on every earlier one: 2^30 paths, walked once each service (it hung)."""
    app = check(Answer.model_validate(at_caps.app()), Baseline(), Limits())
    assert len(app.services) == at_caps.COMPONENTS


@pytest.mark.parametrize(
    ("command", "reason"),
    [
        (["node", "a\x85b"], r"components\[0\].command\[1\]: holds the control character U\+0085"),
        (["node", "a\x1bb"], r"components\[0\].command\[1\]: holds the control character U\+001B"),
        (["node", "a\udc00"], r"components\[0\].command\[1\]: holds a lone surrogate"),
        (["node", "x" * 4001], r"components\[0\].command\[1\]: 4001 characters, over the limit of 4000"),
    ],
)
def test_a_string_yaml_cannot_carry_or_over_its_cap_is_refused_naming_the_field(
    command: list[str], reason: str
) -> None:
    with pytest.raises(OutputError, match=reason):
        gen(components=[{**SPECS[0], "command": command}])


@pytest.mark.parametrize("health", ["/'); import os; os.system('id'); ('", "health", ""])
def test_a_health_path_is_a_plain_path_not_code_for_the_healthcheck(health: str) -> None:
    """One rule, in one place, with one reason (the answer's schema has no second, partial copy of it)."""
    with pytest.raises(OutputError, match=r"field health: .* must be a plain URL path such as /health"):
        gen(components=[{**SPECS[0], "health": health}])


def test_the_number_of_components_is_capped() -> None:
    many = [{"name": f"c{n}", "layer": "workers", "runtime": "shell"} for n in range(3)]
    with pytest.raises(
        OutputError, match=r"the app would have 6 components, over the limit of 5 .setting max_components."
    ):
        gen(Limits(max_components=5), components=many)


def test_a_long_segment_says_it_is_too_long_not_a_character_problem() -> None:
    with pytest.raises(OutputError, match="a segment is 101 characters, over 100"):
        gen(files=[{"path": "api/notes/" + "a" * 101, "content": "x"}])


def test_two_paths_differing_only_in_case_are_one_file() -> None:
    with pytest.raises(OutputError, match=r"appears twice .letter case aside."):
        gen(files=[{"path": SERVER, "content": "x"}, {"path": "api/notes/Server.js", "content": "y"}])


def test_fingerprint_ignores_order_and_summary_but_not_content() -> None:
    a = Answer.model_validate(
        {"summary": "one", "files": [{"path": SERVER, "content": "x"}, {"path": "api/notes/b.js", "content": "y"}]}
    )
    b = Answer.model_validate(
        {"summary": "two", "files": [{"path": "api/notes/b.js", "content": "y"}, {"path": SERVER, "content": "x"}]}
    )
    c = Answer.model_validate(
        {"files": [{"path": SERVER, "content": "x!"}, {"path": "api/notes/b.js", "content": "y"}]}
    )
    assert fingerprint(a) == fingerprint(b) != fingerprint(c)


# -- the per-file rules: one rule for both modes (a whole JSON answer, or each file as it arrives) ------

SHOP = [
    {"name": "shop", "layer": "api", "runtime": "python", "port": 8000, "command": ["python3", "-u", "main.py"]},
    {"name": "jobs", "layer": "workers", "runtime": "python", "command": ["python3", "-m", "jobs.loop"]},
    {"name": "cron", "layer": "deployment", "runtime": "python", "command": ["sh", "./bin/run.sh"]},
    {"name": "site", "layer": "frontend", "runtime": "static"},
]
SHOP_FILES = {
    "api/shop/main.py": "from handlers import items\n",
    "api/shop/handlers/__init__.py": "",  # a package: empty is what it should be
    "api/shop/handlers/items.py": "ITEMS = []\n",
    "workers/jobs/jobs/__init__.py": "",
    "workers/jobs/jobs/loop.py": "print('loop')\n",
    "deployment/cron/bin/run.sh": "echo run\n",
    "frontend/site/index.html": "<h1>Shop</h1>\n",
    "frontend/site/style.css": "",  # no styles yet
}


def shop(path: str = "", content: str = "") -> Answer:
    """The shop app, with `content` for `path` when given."""
    files = {**SHOP_FILES, **({path: content} if path else {})}
    return Answer.model_validate({"components": SHOP, "files": [{"path": p, "content": c} for p, c in files.items()]})


def test_empty_is_refused_only_for_a_file_a_command_runs() -> None:
    check(shop(), Baseline(), Limits())  # an empty __init__.py and an empty stylesheet are files like any other
    for path, service in [
        ("api/shop/main.py", "shop-api"),  # python3 -u main.py
        ("workers/jobs/jobs/loop.py", "jobs-workers"),  # python3 -m jobs.loop
        ("deployment/cron/bin/run.sh", "cron-deployment"),  # sh ./bin/run.sh
        ("frontend/site/index.html", "site-frontend"),  # the static server's entry page
    ]:
        with pytest.raises(OutputError, match=rf"{path} is empty, and {service} runs it; write its whole content"):
            check(shop(path, " \n"), Baseline(), Limits())


def test_a_file_s_rules_are_the_same_on_arrival_and_in_a_whole_answer() -> None:
    """steps (each file checked as it arrives, check_one_file) and steps=0 (check on the whole answer) refuse
    the same files with the same reason: emptiness where a command runs it, syntax, a shortened patch file."""
    planned = check(shop(), Baseline(), Limits())
    with Syntax() as syntax:
        for path, content in [("api/shop/main.py", ""), ("api/shop/handlers/items.py", "def f(:\n")]:
            with pytest.raises(OutputError) as in_whole:
                check(shop(path, content), Baseline(), Limits(), syntax=syntax)
            with pytest.raises(OutputError) as on_arrival:
                check_one_file(FileSpec(path=path, content=content), Baseline(), Limits(), planned, syntax)
            assert str(in_whole.value) == f"answer: {on_arrival.value}"
    old = "\n".join(f"const line{n} = {n};" for n in range(40)) + "\n"
    shortened = "const line0 = 0;\n// ... rest of the file unchanged\n"
    current = Baseline(CURRENT.components, {**TREE, SERVER: old}, TESTS)
    with pytest.raises(PatchRejected, match="parts left out"):
        check(Answer.model_validate({"files": [{"path": SERVER, "content": shortened}]}), current, Limits(), patch=True)


def test_an_http_scenario_on_a_worker_is_refused() -> None:
    """A 1.5B planned http scenarios for a worker: they could never run (no port), and heal could not fix them."""
    ask = {"name": "digest answers", "kind": "http", "service": "digest-workers"}
    with pytest.raises(PatchRejected, match="is http on 'digest-workers', which listens on no port"):
        patch(scenarios=[ask])
    patch(scenarios=[{"name": "digest logs", "kind": "logs", "service": "digest-workers"}])


def test_a_command_runs_a_script_its_component_has() -> None:
    """The 0.5B planned `node server.js` and wrote api/time/app.js: refused at the plan, with what it has."""
    time_api = {"name": "time", "layer": "api", "runtime": "node", "port": 8000, "command": ["node", "server.js"]}
    plan = Answer.model_validate({"components": [time_api], "files": [{"path": "api/time/app.js", "content": ""}]})
    with pytest.raises(OutputError, match=r"runs `node server.js`, but there is no api/time/server.js \(it has api/"):
        check(plan, Baseline(), Limits(), planned=True)
    fixed = plan.model_copy(update={"components": [ComponentSpec(**{**time_api, "command": ["node", "app.js"]})]})
    check(fixed, Baseline(), Limits(), planned=True)
    shop = Answer.model_validate(
        {"components": SHOP, "files": [{"path": p, "content": c} for p, c in SHOP_FILES.items()]}
    )
    check(shop, Baseline(), Limits())  # `sh ./bin/run.sh` is there; `-m jobs.loop` may come from a package
