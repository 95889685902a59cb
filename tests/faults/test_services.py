"""Ollama down, slow, 404 and 500, for gen and for a heal round: one line naming the next step,
exit 2, and the workspace byte-identical. (tests/test_gen.py covers gen's down, slow and 404 on
/api/show; these add what it does not.)"""

from __future__ import annotations

import pytest
from conftest import run_doit
from ollama_server import Fault, ScriptedOllama, delay, status

from faults.conftest import SEED_ITERATION, changed, error_lines, snapshot
from genlib.workspace import Workspace

CASES: dict[str, tuple[list[str], list[Fault] | None, str]] = {
    "gen 500": (["gen", "desc=x"], [status(500, "CUDA error: out of memory")], "failed (500): CUDA error: out of"),
    "heal down": (["heal"], None, "cannot reach Ollama at http://127.0.0.1:"),
    "heal slow": (["heal", "timeout=0.5"], [delay(3.0)], "sent nothing for 0.5s; raise timeout="),
    "heal 404": (["heal", "model=tiny:1b"], [], "model 'tiny:1b' is not at"),
    "heal 500": (["heal"], [status(500, "llama runner process has terminated")], "failed (500): llama runner"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_ollama_faults_are_one_line_and_change_nothing(
    case: str, seeded: Workspace, ollama: ScriptedOllama, refused_port: int
) -> None:
    args, script, message = CASES[case]
    ollama.enqueue(*(script or []))
    before = snapshot(seeded.root)
    env = {"OLLAMA_HOST": f"http://127.0.0.1:{refused_port}"} if script is None else None
    run = run_doit(seeded, *args, "retries=0", env=env)
    assert run.returncode == 2, run.output
    errors = error_lines(run.output)
    assert len(errors) == 1 and message in errors[0], run.output
    assert "Traceback" not in run.output
    assert changed(before, snapshot(seeded.root)) == []
    assert [p.name for p in seeded.iterations_dir.iterdir()] == [SEED_ITERATION]
