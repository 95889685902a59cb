"""The broken apps of bench/heal_effectiveness.py and their scripted model; two of them healed on the real engine."""

from __future__ import annotations

import json

import pytest
from conftest import run_doit
from ollama_server import ScriptedOllama
from resources.broken_apps import APPS, BY_NAME, Fixer, llm_output

from genlib.documents.scenarios import TestFile, merge_model_scenarios, parse_scenarios, save_tests
from genlib.workspace import Workspace


def test_the_set_covers_the_classes_heal_must_handle() -> None:
    assert len(APPS) >= 15
    assert {"python", "node", "static"} <= set().union(*(app.runtimes for app in APPS))
    layers = {c["layer"] for app in APPS for c in app.components}
    assert {"frontend", "api", "backend", "workers"} <= layers
    kinds = " ".join(app.kind for app in APPS)
    for word in ("startup", "request", "page", "logs", "upstream", "exec", "dependencies", "data", "127.0.0.1"):
        assert word in kinds
    assert len(BY_NAME["large-38-files"].files) == 38
    for app in APPS:
        assert app.broken_files()[app.culprit] != app.files[app.culprit]


def _prompt(app_name: str, *, culprit: bool = True, failing: bool = True) -> str:
    app = BY_NAME[app_name]
    parts = ["## Failing tests", app.failing if failing else "status 500"]
    if culprit:
        parts += [f"### {app.culprit}", "```", app.broken_files()[app.culprit], "```"]
    return "\n".join(parts)


def test_the_scripted_model_fixes_only_what_the_prompt_shows_it() -> None:
    fixer = Fixer(BY_NAME["upstream-python"])
    chat = {"messages": [{"role": "user", "content": _prompt("upstream-python")}]}
    answer = json.loads(fixer.respond(chat))
    assert answer["files"] == [{"path": "backend/stock/inventory.py", "content": fixer.app.files[fixer.app.culprit]}]
    for prompt in (_prompt("upstream-python", culprit=False), _prompt("upstream-python", failing=False)):
        guess = json.loads(fixer.respond({"messages": [{"role": "user", "content": prompt}]}))
        assert guess["summary"] == "a guess"
        assert guess["files"][0]["content"] != fixer.app.files[fixer.app.culprit]


@pytest.mark.docker
@pytest.mark.parametrize("name", ["upstream-python", "large-38-files", "py-loopback-only"])
def test_a_broken_app_is_healed_within_two_rounds(engine: Workspace, name: str) -> None:
    app = BY_NAME[name]
    folder = engine.iterations_dir / "iter_001_broken"
    folder.mkdir()
    (folder / "llm_output.json").write_text(json.dumps(llm_output(app)))
    save_tests(engine.tests_path, merge_model_scenarios(TestFile(), parse_scenarios(app.scenarios), folder.name)[0])
    fixer = Fixer(app)
    server = ScriptedOllama().start()
    server.responder = fixer.respond
    try:
        run = run_doit(engine, "heal", "max_iter=3", env={"OLLAMA_HOST": server.url}, timeout=900)
    finally:
        server.stop()
    assert run.returncode == 0, run.output
    assert fixer.fixed_at is not None and fixer.fixed_at <= 2, run.output
    assert app.failing in fixer.prompts[fixer.fixed_at - 1]
