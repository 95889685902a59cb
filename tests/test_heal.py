"""`doit heal`: the loop against the scripted Ollama; the Docker tests use the real engine."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import APPS, DoitRun, add_iteration, run_doit, write_results
from ollama_server import ScriptedOllama
from resources.make_fixtures import build as build_fixture

from genlib.app.iterations import head, list_iterations
from genlib.documents.scenarios import TestFile, load_tests, merge_model_scenarios, parse_scenarios, save_tests
from genlib.stack import ports
from genlib.workspace import Workspace

SERVER = "api/notes/server.js"
GOOD_LINE = "return send(res, 200, notes);"
BROKEN_LINE = 'return send(res, 500, { error: "db down" });'
PERSON_TEST = {"name": "list notes", "kind": "http", "service": "notes-api", "request": {"path": "/notes"},
               "expect": {"status": 200, "body_contains": ["hello"]}}  # fmt: skip


def server_source() -> str:
    return (APPS / "notes" / "src" / SERVER).read_text()


def patch(summary: str, content: str, **extra: Any) -> str:
    return json.dumps({"summary": summary, "files": [{"path": SERVER, "content": content}], **extra})


def fixed() -> str:
    """The fix, plus a file resent unchanged (models do): only the fix may land."""
    worker = "workers/digest/worker.py"
    unchanged = {"path": worker, "content": (APPS / "notes" / "src" / worker).read_text()}
    fix = json.loads(patch("return the notes instead of a 500", server_source()))
    return json.dumps({**fix, "files": [*fix["files"], unchanged]})


def still_broken(n: int) -> str:
    """A patch that changes the error (so the evidence changes) but never fixes it."""
    return patch(f"attempt {n}", server_source().replace(GOOD_LINE, f'return send(res, 500, {{ error: "try {n}" }});'))


def broken_workspace(ws: Workspace) -> Path:
    """The notes app with GET /notes answering 500; its scenarios in test.yaml, `list notes` a person's."""
    app = ws.root.parent / "notes-broken"
    shutil.copytree(APPS / "notes", app)
    source = app / "src" / SERVER
    assert GOOD_LINE in source.read_text(), "the notes fixture changed: update GOOD_LINE"
    source.write_text(source.read_text().replace(GOOD_LINE, BROKEN_LINE))
    (app / "llm_output.json").write_text(json.dumps(build_fixture(app)))
    add_iteration(ws, "iter_001_notes", app / "llm_output.json")
    proposed = parse_scenarios(json.loads((app / "llm_output.json").read_text())["answer"]["scenarios"])
    tests, _ = merge_model_scenarios(TestFile(), proposed, "iter_001_notes")
    user = parse_scenarios([PERSON_TEST])[0]
    save_tests(ws.tests_path, TestFile(scenarios=[user, *(s for s in tests.scenarios if s.name != "list notes")]))
    return app


def iteration_names(ws: Workspace) -> list[str]:
    return [it.name for it in list_iterations(ws)]


def failing_results(ws: Workspace, it: str = "iter_001_notes") -> None:
    """A results.json as the runner writes it, so the loop starts without Docker."""
    result = {
        "name": "list notes",
        "kind": "http",
        "service": "notes-api",
        "origin": "user",
        "status": "failed",
        "reason": "GET /notes: status 500, expected 200",
        "evidence": {"status": 500},
    }
    data = {
        "format": "genlib.results/1",
        "iteration": it,
        "started": "2026-01-02T03:04:05+00:00",
        "duration_s": 1.0,
        "summary": {"passed": 0, "failed": 1, "skipped": 0, "error": 0},
        "results": [result],
    }
    (ws.iterations_dir / it / "results.json").write_text(json.dumps(data))


# -- without Docker ---------------------------------------------------------------------------------


def test_heal_without_an_iteration_says_what_to_do(workspace: Workspace) -> None:
    run = run_doit(workspace, "heal")
    assert run.returncode == 2
    assert run.output.strip().splitlines() == [
        'ERROR: nothing to heal: there is no iteration yet; run `doit gen desc="what to build"` first'
    ]


def test_heal_with_green_results_has_nothing_to_do(workspace: Workspace) -> None:
    add_iteration(workspace, "iter_001_notes", "notes")
    write_results(workspace.iterations_dir / "iter_001_notes", *["passed"] * 7, "skipped")
    run = run_doit(workspace, "heal")
    assert run.returncode == 0, run.output
    assert "nothing to heal: all 7 scenario(s) of iter_001_notes pass" in run.output


def test_model_unreachable_keeps_everything_and_says_so(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    broken_workspace(workspace)
    assert run_doit(workspace, "registry").returncode == 0
    failing_results(workspace)
    monkeypatch.setenv("OLLAMA_HOST", "http://127.0.0.1:9")  # nothing listens on the discard port
    run = run_doit(workspace, "heal")
    assert run.returncode == 2
    errors = [line for line in run.output.splitlines() if line.startswith("ERROR")]
    assert len(errors) == 1 and "cannot reach Ollama" in errors[0] and "HEAD is iter_001_notes" in errors[0]
    assert iteration_names(workspace) == ["iter_001_notes"]


def test_a_patch_deleting_a_person_s_scenario_is_rejected_and_fed_back(
    workspace: Workspace, ollama: ScriptedOllama
) -> None:
    broken_workspace(workspace)
    assert run_doit(workspace, "registry").returncode == 0
    failing_results(workspace)
    weakened = {**PERSON_TEST, "origin": "model", "expect": {"status": 500}}
    bad = patch("accept the 500", server_source().replace(GOOD_LINE, BROKEN_LINE), scenarios=[weakened])
    outside = json.dumps({"summary": "edit the tests", "files": [{"path": "test.yaml", "content": "scenarios: []"}]})
    ollama.enqueue(bad, outside, bad)  # retries=2: three answers, all refused
    run = run_doit(workspace, "heal", "max_iter=1")
    assert run.returncode == 1, run.output  # a failed round, not a tool error
    assert "still invalid after 3 attempts" in run.output and "ERROR" not in run.output
    chats = ollama.app_chats()  # in steps each is refused at the header, before any file is asked for
    assert len(chats) == 3
    second_ask = chats[1]["messages"][-1]["content"]
    assert "'list notes' was written by a person" in second_ask  # the reason went back to the model
    assert "unknown layer 'test.yaml'" in chats[2]["messages"][-1]["content"]
    assert iteration_names(workspace) == ["iter_001_notes"]  # nothing written
    person = next(s for s in load_tests(workspace.tests_path).scenarios if s.name == "list notes")
    assert person.origin == "user" and person.expect.status == 200  # type: ignore[union-attr]


def test_unchanged_files_sent_three_times_are_a_failed_round_recorded_in_history(
    workspace: Workspace, ollama: ScriptedOllama
) -> None:
    broken_workspace(workspace)
    assert run_doit(workspace, "registry").returncode == 0
    failing_results(workspace)
    unchanged = patch("looks fine to me", server_source().replace(GOOD_LINE, BROKEN_LINE))
    ollama.enqueue(unchanged, unchanged, unchanged)
    (workspace.root / "genlib.toml").write_text("[heal]\nmax_iter = 1\n")  # not on the command line
    run = run_doit(workspace, "heal")
    assert run.returncode == 1, run.output
    assert "ERROR" not in run.output
    assert "round 1: (no iteration)" in run.output and "patch changes nothing" in run.output
    assert "stopped after 1 round(s): the limit of 1 round(s) was reached (max_iter=1;" in run.output
    assert iteration_names(workspace) == ["iter_001_notes"]
    shown = run_doit(workspace, "history").output
    assert "heal rounds that wrote no iteration:" in shown
    assert "round 1 after iter_001_notes: no usable patch:" in shown and "patch changes nothing" in shown


# -- with the real engine -------------------------------------------------------------------------


def heal(ws: Workspace, *args: str) -> DoitRun:
    return run_doit(ws, "heal", *args, timeout=900)


def round_lines(run: DoitRun) -> list[str]:
    return [line for line in run.output.splitlines() if line.startswith("round ")]


@pytest.mark.docker
def test_a_broken_app_is_healed_in_one_round(engine: Workspace, ollama: ScriptedOllama) -> None:
    broken_workspace(engine)
    ollama.enqueue(fixed())
    run = heal(engine)
    assert run.returncode == 0, run.output
    assert "has no test results yet" in run.output  # the graph ran first to find the failures
    assert len(round_lines(run)) == 1 and round_lines(run)[0].endswith("-> green")
    assert "heal: green after 1 round(s); HEAD is iter_002_patch" in run.output
    prompt = ollama.chats()[0]["messages"][0]["content"]
    assert "list notes" in prompt and "status 500" in prompt and BROKEN_LINE in prompt
    patch_dir = engine.iterations_dir / "iter_002_patch"
    output = json.loads((patch_dir / "llm_output.json").read_text())
    assert output["kind"] == "patch" and (patch_dir / "desc.txt").read_text().startswith("heal round 1:")
    assert sorted(p.name for p in patch_dir.iterdir() if p.is_dir()) == ["api", "logs"]  # only the changed file
    assert [f["path"] for f in output["answer"]["files"]] == [SERVER]
    assert "workers/digest/worker.py" in [s["name"] for s in output["steps"]]  # what the model said is kept
    assert "up: 1 recreated (notes-api), 2 unchanged" in run.output
    assert json.loads((patch_dir / "results.json").read_text())["summary"]["failed"] == 0


@pytest.mark.docker
def test_a_bad_patch_then_a_good_one_takes_two_rounds(engine: Workspace, ollama: ScriptedOllama) -> None:
    broken_workspace(engine)
    ollama.enqueue(still_broken(1), fixed())
    run = heal(engine)
    assert run.returncode == 0, run.output
    lines = round_lines(run)
    assert len(lines) == 2 and "failing: list notes (status 500" in lines[0] and lines[1].endswith("-> green")
    second_prompt = ollama.app_chats()[1]["messages"][0]["content"]
    assert "Earlier rounds" in second_prompt and "iter_002_patch: attempt 1" in second_prompt
    assert "try 1" in second_prompt  # the new evidence
    assert iteration_names(engine) == ["iter_001_notes", "iter_002_patch", "iter_003_patch"]


@pytest.mark.docker
def test_a_model_that_never_fixes_it_stops_at_the_limit(engine: Workspace, ollama: ScriptedOllama) -> None:
    broken_workspace(engine)
    ollama.enqueue(still_broken(1), still_broken(2), still_broken(3))
    run = heal(engine, "max_iter=2")
    assert run.returncode == 1, run.output
    assert len(round_lines(run)) == 2
    assert "stopped after 2 round(s): the limit of 2 round(s) was reached" in run.output
    assert iteration_names(engine) == ["iter_001_notes", "iter_002_patch", "iter_003_patch"]
    current = head(engine)
    assert current is not None and current.name == "iter_003_patch"
    shown = run_doit(engine, "history")
    assert "heal round 2: attempt 2" in shown.output and "*" in shown.output.splitlines()[3]


def cosmetic(n: int) -> str:
    """A patch that leaves the failure and its evidence exactly as they were."""
    return patch(
        f"reword a comment {n}", server_source().replace(GOOD_LINE, BROKEN_LINE).replace("// A tiny", f"// A{n}")
    )


@pytest.mark.docker
def test_a_wrong_first_patch_leads_to_regenerating_the_component(engine: Workspace, ollama: ScriptedOllama) -> None:
    broken_workspace(engine)
    ollama.enqueue(cosmetic(1), fixed())
    run = heal(engine, "max_iter=3")
    assert run.returncode == 0, run.output
    assert len(round_lines(run)) == 2 and round_lines(run)[1].endswith("-> green")
    assert "round 2: rewriting api/notes whole" in run.output
    second = ollama.app_chats()[1]["messages"][0]["content"]
    assert "## This round: rewrite api/notes whole" in second and "send EVERY one of its files" in second
    assert "iter_002_patch: reword a comment 1" in second  # what was tried


@pytest.mark.docker
def test_no_progress_stops_only_when_the_strategy_has_run_out(engine: Workspace, ollama: ScriptedOllama) -> None:
    broken_workspace(engine)
    ollama.enqueue(cosmetic(1), cosmetic(2), fixed())
    run = heal(engine, "max_iter=3")
    assert run.returncode == 1, run.output
    assert (
        "no progress: the same failures with the same evidence twice, after patching and regenerating api/notes: "
        "no other strategy left" in run.output
    )
    assert len(round_lines(run)) == 2 and len(ollama.app_chats()) == 2


@pytest.mark.docker
def test_rollback_then_plain_doit_brings_the_old_version_back(engine: Workspace, ollama: ScriptedOllama) -> None:
    broken_workspace(engine)
    ollama.enqueue(fixed())
    assert heal(engine).returncode == 0
    api = ports.load(engine)["notes-api"]
    assert httpx.get(f"http://127.0.0.1:{api}/notes", timeout=5).status_code == 200
    rolled = run_doit(engine, "rollback", "to=1")
    assert rolled.returncode == 0 and "run `doit` to rebuild and restart" in rolled.output
    again = run_doit(engine, timeout=900)
    assert again.returncode == 1, again.output  # the old version's tests fail again
    assert httpx.get(f"http://127.0.0.1:{api}/notes", timeout=5).status_code == 500
    assert iteration_names(engine) == ["iter_001_notes", "iter_002_patch"]  # nothing deleted
