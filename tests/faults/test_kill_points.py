"""SIGKILL and SIGINT at each step of gen and the graph: the workspace stays consistent (no half
iteration, no truncated JSON or YAML) and running the same command again finishes the job.

Each stop point is reached without patching genlib: a slow scripted stream (gen is
streaming), a temp folder appearing (gen is writing the iteration), a layer file
appearing before the manifest (materialize), or doit's own `.  <task>` line.
"""

from __future__ import annotations

import copy
import json
import signal
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from conftest import APPS, add_iteration, run_doit
from ollama_server import ScriptedOllama, slow

from faults.conftest import (
    NOTES,
    NOTES_TEXT,
    SEED_ITERATION,
    Running,
    assert_consistent,
    changed,
    snapshot,
    start_doit,
)
from genlib.iterations import list_iterations, read_manifest
from genlib.workspace import Workspace

BIG_FILES = 80
BIG_CHARS = 250_000  # 80 x 250 kB: writing and hashing take long enough to be caught in the middle
BUILD = ("materialize", "registry", "compose")


def big_answer() -> dict[str, object]:
    answer = copy.deepcopy(NOTES)
    line = "// padding so materialize has real work to do\n"
    pad = line * (BIG_CHARS // len(line))
    answer["files"] += [{"path": f"api/notes/big{n:02d}.js", "content": pad} for n in range(BIG_FILES)]
    return answer


def iteration_names(ws: Workspace) -> list[str]:
    return [it.name for it in list_iterations(ws)]


# -- gen --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["SIGKILL", "SIGINT"])
def test_gen_stopped_while_streaming(
    sig: signal.Signals, seeded: Workspace, ollama: ScriptedOllama, doit_runs: list[Running]
) -> None:
    ollama.piece = 256
    ollama.enqueue(slow(NOTES_TEXT, seconds=0.3))
    before = snapshot(seeded.root)
    run = start_doit(seeded, "gen", "desc=the notes app again")
    doit_runs.append(run)
    run.wait_for(lambda: bool(ollama.chats()), "the model to be asked")
    code = run.stop(sig)
    assert code == (-9 if sig == signal.SIGKILL else 130), run.output
    assert changed(before, snapshot(seeded.root)) == []  # no iteration, not even a hidden temp folder
    assert_consistent(seeded)
    ollama.enqueue(NOTES_TEXT)
    again = run_doit(seeded, "gen", "desc=the notes app again")
    assert again.returncode == 0, again.output
    assert iteration_names(seeded) == [SEED_ITERATION, "iter_002_the_notes_app_again"]


def test_gen_killed_while_writing_the_iteration(
    seeded: Workspace, ollama: ScriptedOllama, doit_runs: list[Running]
) -> None:
    ollama.piece = 1 << 16
    ollama.enqueue(json.dumps(big_answer()))
    run = start_doit(seeded, "gen", "desc=a big notes app")
    doit_runs.append(run)

    def temp() -> bool:
        return any(p.name.startswith(".iter_002_") for p in seeded.iterations_dir.iterdir())

    run.wait_for(temp, "the iteration's temp folder", limit=120)
    run.stop(signal.SIGKILL)
    assert iteration_names(seeded) == [SEED_ITERATION]  # the half-written folder is hidden from the graph
    assert_consistent(seeded)
    assert run_doit(seeded, *BUILD).returncode == 0
    ollama.enqueue(json.dumps(big_answer()))
    again = run_doit(seeded, "gen", "desc=a big notes app", timeout=300)
    assert again.returncode == 0, again.output
    assert iteration_names(seeded) == [SEED_ITERATION, "iter_002_a_big_notes_app"]
    assert_consistent(seeded)


# -- the graph --------------------------------------------------------------------------------------


@pytest.fixture
def big(workspace: Workspace, tmp_path: Path) -> Workspace:
    """A fresh workspace whose one iteration holds 80 big files, not yet materialized."""
    output = json.loads((APPS / "notes" / "llm_output.json").read_text())
    output["answer"] = big_answer()
    source = tmp_path / "big_llm_output.json"
    source.write_text(json.dumps(output))
    add_iteration(workspace, "iter_001_big", source)
    return workspace


def materializing(ws: Workspace) -> Callable[[], bool]:
    """Some layer files are on disk but the manifest, written last, is not."""
    it = ws.iterations_dir / "iter_001_big"
    return lambda: (it / "api").exists() and not (it / "manifest.json").exists()


def doit_line(run: Running, task: str) -> Callable[[], bool]:
    return run.saw(f".  {task}")


STOPS: dict[str, tuple[Callable[[Workspace, Running], Callable[[], bool]], signal.Signals]] = {
    "materialize SIGKILL": (lambda ws, run: materializing(ws), signal.SIGKILL),
    "materialize SIGINT": (lambda ws, run: materializing(ws), signal.SIGINT),
    "registry SIGKILL": (lambda ws, run: doit_line(run, "registry"), signal.SIGKILL),
    "compose SIGKILL": (lambda ws, run: doit_line(run, "compose"), signal.SIGKILL),
    "compose SIGINT": (lambda ws, run: doit_line(run, "compose"), signal.SIGINT),
}


@pytest.mark.parametrize("stop", list(STOPS))
def test_the_graph_stopped_midway_is_finished_by_the_next_run(
    stop: str, big: Workspace, doit_runs: list[Running]
) -> None:
    when, sig = STOPS[stop]
    run = start_doit(big, *BUILD)
    doit_runs.append(run)
    run.wait_for(when(big, run), stop, limit=120)
    code = run.stop(sig)
    assert code != 0 or "compose" in stop, run.output  # the last step may have finished as the signal came
    assert "Traceback" not in run.output or (sig == signal.SIGINT and "KeyboardInterrupt" in run.output)
    assert_consistent(big)
    again = run_doit(big, *BUILD, timeout=300)
    assert again.returncode == 0, again.output
    it = list_iterations(big)[0]
    manifest = read_manifest(it)
    assert manifest is not None and len(manifest.files) == len(NOTES["files"]) + BIG_FILES
    for rel in manifest.files:
        assert (it.path / rel).stat().st_size > 0
    components = yaml.safe_load(big.registry_path.read_text())["components"]
    registry_files = [f["path"] for c in components for f in c["files"]]
    assert len(registry_files) == len(manifest.files)
    assert big.compose_path.exists()
    assert run_doit(big, *BUILD).executed == []  # and now nothing is stale
