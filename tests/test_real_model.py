"""The embedded model for real: with no Ollama, `doit gen` starts the 0.5B that .ci/setup installs and lands a
tiny app, its plan and every planned file. No scripted server: this is the person's first command.

The models come from the user's cache (read before conftest isolates it); the server runs in the test's own
cache folder, so it never touches a person's running one, and is stopped at the end.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import run_doit

from genlib.workspace import Workspace

DESC = 'A hello API: one python service named hello-api, standard library only: GET /hello returns {"hello": "world"}'


@pytest.mark.real_model
def test_doit_gen_with_no_ollama_lands_an_app_from_the_embedded_model(workspace: Workspace, embedded: str) -> None:
    env = {"OLLAMA_HOST": "http://127.0.0.1:9", "GENLIB_LOCAL_MODEL": embedded, "GENLIB_LOCAL_IDLE": "60"}
    run = run_doit(workspace, "gen", f"desc={DESC}", timeout=2400, env=env)
    lines = run.output.splitlines()
    assert lines[0].startswith(f"model: {embedded} (local llama.cpp, "), run.output
    assert "Ollama does not answer at http://127.0.0.1:9" in lines[0]
    its = sorted(workspace.iterations_dir.glob("iter_001_*"))
    said = "\n".join(line for line in lines if " tok/s" not in line)  # without the meter's lines
    assert its, f"no iteration landed (exit {run.returncode}):\n{said[-3000:]}\n{_kept(workspace.root / '.genlib')}"
    output = json.loads((its[0] / "llm_output.json").read_text())
    steps = [step["name"] for step in output["steps"]]
    files = [name for name in steps[1:] if not name.startswith("route ")]  # "route 1 of 2 GET /x in <file>": a stub
    assert steps[0] == "plan" and files, steps
    for path in files:
        assert (its[0] / path).is_file(), path
    assert run.returncode == 0, said[-3000:]


def _kept(state: Path) -> str:
    """What the steps kept when gen stopped early: which answers came, for the failure message."""
    return "\n".join(str(p.relative_to(state)) for p in sorted(state.rglob("*")) if p.is_file())[:2000]
