"""Answers checked against the app they would produce (issue 11, classes 4 and 5), through the real
`doit gen` and `doit heal`: what cannot build is never written; test.yaml never names a ghost."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from conftest import add_iteration, notes_variant, run_doit
from ollama_server import ScriptedOllama

from faults.conftest import NOTES, SEED_ITERATION, changed, error_lines, snapshot
from faults.test_interpolation import probe_answer
from genlib.app import registry
from genlib.documents.scenarios import (
    TestFile,
    check_services,
    load_tests,
    merge_model_scenarios,
    parse_scenarios,
    save_tests,
)
from genlib.workspace import Workspace

DIGEST_SCENARIOS = ["worker reaches api", "worker file present"]  # the model's, from the seed's gen


def without_digest() -> str:
    answer = copy.deepcopy(NOTES)
    answer["components"] = [c for c in answer["components"] if c["name"] != "digest"]
    answer["files"] = [f for f in answer["files"] if not f["path"].startswith("workers/")]
    answer["deletions"] = ["workers/digest"]
    answer["scenarios"] = [s for s in answer["scenarios"] if s["service"] != "digest-workers"]
    return json.dumps(answer)


@pytest.mark.fault_class(5)
def test_gen_that_removes_a_component_drops_its_model_scenarios_with_a_reason(
    seeded: Workspace, ollama: ScriptedOllama
) -> None:
    assert {s.name for s in load_tests(seeded.tests_path).scenarios} >= set(DIGEST_SCENARIOS)
    ollama.enqueue(without_digest())
    run = run_doit(seeded, "gen", "desc=notes without the digest worker")
    assert run.returncode == 0, run.output
    assert f"dropped, their service is gone: {', '.join(DIGEST_SCENARIOS)}" in run.output
    tests = load_tests(seeded.tests_path)
    assert not {s.name for s in tests.scenarios} & set(DIGEST_SCENARIOS)
    assert "api health" in {s.name for s in tests.scenarios}  # the person's scenario stays
    services = set(registry.load(seeded).services)
    check_services(tests, services, seeded.tests_path)  # what `doit test` checks first: no ghost


@pytest.mark.fault_class(1, 4)
def test_a_template_that_cannot_carry_the_answer_is_refused_before_anything_is_written(
    seeded: Workspace, ollama: ScriptedOllama, tmp_path: Path
) -> None:
    """The template's fault, not the model's: one line naming the filter, the model asked once, nothing written."""
    template = seeded.compose_template
    template.write_text(template.read_text().replace("| compose_str", "| tojson"))
    ollama.enqueue(probe_answer())
    before = snapshot(tmp_path)
    run = run_doit(seeded, "gen", "desc=notes with a probe")
    assert run.returncode == 2, run.output
    errors = error_lines(run.output)
    assert len(errors) == 1 and "compose_str" in errors[0] and "'$CANARY_SECRET'" in errors[0], run.output
    assert "Traceback" not in run.output
    assert len(ollama.app_chats()) == 1
    assert changed(before, snapshot(tmp_path)) == []
    assert [p.name for p in seeded.iterations_dir.iterdir()] == [SEED_ITERATION]


@pytest.mark.docker
@pytest.mark.fault_class(5)
def test_heal_that_removes_a_component_leaves_no_ghost_for_the_next_run(
    engine: Workspace, ollama: ScriptedOllama
) -> None:
    server = "api/notes/server.js"
    good, bad = "return send(res, 200, notes);", 'return send(res, 500, { error: "db down" });'
    app = notes_variant(engine.root.parent, {server: (good, bad)})
    folder = add_iteration(engine, "iter_001_notes", app)
    proposed = parse_scenarios(json.loads((folder / "llm_output.json").read_text())["answer"]["scenarios"])
    save_tests(engine.tests_path, merge_model_scenarios(TestFile(), proposed, "iter_001_notes")[0])
    assert run_doit(engine, timeout=600).returncode == 1  # `list notes` fails
    fixed = (app.parent / "src" / server).read_text().replace(bad, good)
    fix = {"summary": "fix the list; the digest worker goes", "files": [{"path": server, "content": fixed}],
           "deletions": ["workers/digest"]}  # fmt: skip
    ollama.enqueue(json.dumps(fix))
    heal = run_doit(engine, "heal", timeout=900)
    assert heal.returncode == 0, heal.output
    assert "unknown service" not in heal.output
    names = {s.name for s in load_tests(engine.tests_path).scenarios}
    assert not names & set(DIGEST_SCENARIOS) and "list notes" in names
    again = run_doit(engine, "test", timeout=600)  # the next run: green, not "unknown service"
    assert again.returncode == 0, again.output
