"""Two `doit` runs in one workspace: the second is refused with one clear line, never interleaved."""

from __future__ import annotations

import json
import signal
import threading

import pytest
from conftest import run_doit
from ollama_server import ScriptedOllama, held

from faults.conftest import NOTES, NOTES_TEXT, SEED_ITERATION, Running, changed, error_lines, snapshot, start_doit
from genlib.app.iterations import list_iterations
from genlib.workspace import Workspace


def gen_holding_the_lock(ws: Workspace, ollama: ScriptedOllama, runs: list[Running], gate: threading.Event) -> Running:
    """A `doit gen` whose answer waits for `gate`: it holds the workspace until the test lets it go
    (no timing window a loaded machine could miss)."""
    ollama.enqueue(held(NOTES_TEXT, gate))
    first = start_doit(ws, "gen", "desc=a second notes app")
    runs.append(first)
    first.wait_for(lambda: bool(ollama.chats()), "the model to be asked")
    return first


@pytest.mark.parametrize(
    "second",
    [["heal"], ["materialize", "registry", "compose"]],
    ids=["a doit command", "the graph"],
)
def test_a_second_run_is_refused_while_the_first_holds_the_workspace(
    seeded: Workspace, ollama: ScriptedOllama, doit_runs: list[Running], second: list[str]
) -> None:
    gate = threading.Event()
    first = gen_holding_the_lock(seeded, ollama, doit_runs, gate)
    before = snapshot(seeded.root)
    refused = run_doit(seeded, *second)
    gate.set()
    assert refused.returncode == 3, refused.output  # the same from `doit` and from a doit command
    assert error_lines(refused.output) == [
        f"ERROR: {seeded.root} is busy: pid {first.proc.pid} is running genlib there; wait for it to finish or stop it"
    ]
    assert changed(before, snapshot(seeded.root)) == []  # refused before touching anything
    assert len(ollama.app_chats()) == 1  # the second never reached the model (the first asks for its files)
    assert first.finish() == 0, first.output
    assert [it.name for it in list_iterations(seeded)] == [SEED_ITERATION, "iter_002_a_second_notes_app"]
    assert run_doit(seeded, "history").returncode == 0  # free again once the first is done


def test_a_killed_holder_frees_the_workspace(
    seeded: Workspace, ollama: ScriptedOllama, doit_runs: list[Running]
) -> None:
    gate = threading.Event()
    first = gen_holding_the_lock(seeded, ollama, doit_runs, gate)
    first.stop(signal.SIGKILL)
    gate.set()
    ollama.enqueue(NOTES_TEXT)
    again = run_doit(seeded, "gen", "desc=a second notes app")
    assert again.returncode == 0, again.output
    output = json.loads((seeded.iterations_dir / "iter_002_a_second_notes_app" / "llm_output.json").read_text())
    assert [s["name"] for s in output["steps"]] == ["plan", *(f["path"] for f in NOTES["files"])]
    assert output["answer"]["files"] == NOTES["files"]  # the second run's answer, whole, not a mix of both
