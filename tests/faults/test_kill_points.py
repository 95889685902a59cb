"""SIGKILL and SIGINT at each step of gen, heal and the graph: the workspace stays consistent (no half
iteration, no truncated JSON or YAML), Ctrl-C is one line with exit 130, and running the same command
again finishes the job.

Each stop point is certain: the run is started with GENLIB_CHECKPOINT naming a genlib.checkpoint, which
announces itself (a marker file) and holds the run there, mid-step, until the signal comes.
"""

from __future__ import annotations

import signal
from collections.abc import Callable

import pytest
import yaml
from conftest import add_iteration, run_doit
from ollama_server import ScriptedOllama

from faults.conftest import (
    NOTES,
    NOTES_TEXT,
    SEED_ITERATION,
    Running,
    assert_consistent,
    assert_stopped,
    changed,
    snapshot,
    start_doit,
)
from genlib.app.iterations import list_iterations, read_manifest
from genlib.workspace import Workspace

BUILD = ("materialize", "registry", "compose")
SIGNALS = pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["SIGKILL", "SIGINT"])


def iteration_names(ws: Workspace) -> list[str]:
    return [it.name for it in list_iterations(ws)]


def temp_folders(ws: Workspace) -> list[str]:
    return [p.name for p in ws.iterations_dir.iterdir() if p.name.startswith(".iter_")]


# -- gen --------------------------------------------------------------------------------------------


@SIGNALS
def test_gen_stopped_while_streaming(
    sig: signal.Signals, seeded: Workspace, ollama: ScriptedOllama, doit_runs: list[Running]
) -> None:
    ollama.piece = 256
    ollama.enqueue(NOTES_TEXT)
    before = snapshot(seeded.root)
    run = start_doit(seeded, "gen", "desc=the notes app again", stop_at="streaming")
    doit_runs.append(run)
    run.at_checkpoint()
    assert_stopped(run, sig, run.stop(sig))
    assert changed(before, snapshot(seeded.root)) == []  # no iteration, not even a hidden temp folder
    assert_consistent(seeded)
    ollama.enqueue(NOTES_TEXT)
    again = run_doit(seeded, "gen", "desc=the notes app again")
    assert again.returncode == 0, again.output
    assert iteration_names(seeded) == [SEED_ITERATION, "iter_002_the_notes_app_again"]


@SIGNALS
def test_gen_stopped_while_writing_the_iteration(
    sig: signal.Signals, seeded: Workspace, ollama: ScriptedOllama, doit_runs: list[Running]
) -> None:
    ollama.enqueue(NOTES_TEXT)
    run = start_doit(seeded, "gen", "desc=the notes app again", stop_at="write_iteration")
    doit_runs.append(run)
    run.at_checkpoint()
    assert len(temp_folders(seeded)) == 1  # its files are written, the folder not yet renamed into place
    assert_stopped(run, sig, run.stop(sig))
    assert iteration_names(seeded) == [SEED_ITERATION]  # a killed run's temp folder is hidden from the graph
    if sig == signal.SIGINT:
        assert temp_folders(seeded) == []  # and an interrupted one removes it
    assert_consistent(seeded)
    assert run_doit(seeded, *BUILD).returncode == 0
    ollama.enqueue(NOTES_TEXT)
    again = run_doit(seeded, "gen", "desc=the notes app again")
    assert again.returncode == 0, again.output
    assert iteration_names(seeded) == [SEED_ITERATION, "iter_002_the_notes_app_again"]
    assert temp_folders(seeded) == []
    assert_consistent(seeded)


def test_gen_interrupted_in_its_graph_is_one_line(
    seeded: Workspace, ollama: ScriptedOllama, doit_runs: list[Running]
) -> None:
    """The graph gen runs in-process: its Ctrl-C is gen's one line, not the graph's too."""
    ollama.enqueue(NOTES_TEXT)
    run = start_doit(seeded, "gen", "desc=the notes app again", stop_at="materialize")
    doit_runs.append(run)
    run.at_checkpoint()
    assert_stopped(run, signal.SIGINT, run.stop(signal.SIGINT))
    assert iteration_names(seeded) == [SEED_ITERATION, "iter_002_the_notes_app_again"]
    assert_consistent(seeded)
    again = run_doit(seeded, *BUILD)  # what gen had left to do
    assert again.returncode == 0, again.output
    assert read_manifest(list_iterations(seeded)[-1]) is not None


# -- heal -------------------------------------------------------------------------------------------


def test_heal_interrupted_while_streaming_is_one_line_and_writes_nothing(
    seeded: Workspace, ollama: ScriptedOllama, doit_runs: list[Running]
) -> None:
    ollama.enqueue('{"summary": "a fix", "files": []}')
    before = snapshot(seeded.root)
    run = start_doit(seeded, "heal", stop_at="streaming")
    doit_runs.append(run)
    run.at_checkpoint()
    assert_stopped(run, signal.SIGINT, run.stop(signal.SIGINT))
    assert changed(before, snapshot(seeded.root)) == []
    assert_consistent(seeded)


# -- the graph --------------------------------------------------------------------------------------


@pytest.fixture
def fresh(workspace: Workspace) -> Workspace:
    """A workspace whose one iteration (the notes app) is not yet materialized."""
    add_iteration(workspace, "iter_001_notes", "notes")
    return workspace


def in_progress(stop: str) -> Callable[[Workspace], bool]:
    """What the checkpoint proves about the step it holds."""
    return {
        "materialize": lambda ws: (
            (ws.iterations_dir / "iter_001_notes" / "api").exists()
            and not (ws.iterations_dir / "iter_001_notes" / "manifest.json").exists()
        ),
        "registry": lambda ws: not ws.registry_path.exists(),
        "compose": lambda ws: ws.registry_path.exists() and not ws.compose_path.exists(),
    }[stop]


@pytest.mark.parametrize("stop", ["materialize", "registry", "compose"])
@SIGNALS
def test_the_graph_stopped_midway_is_finished_by_the_next_run(
    stop: str, sig: signal.Signals, fresh: Workspace, doit_runs: list[Running]
) -> None:
    run = start_doit(fresh, *BUILD, stop_at=stop)
    doit_runs.append(run)
    run.at_checkpoint()
    assert in_progress(stop)(fresh)
    assert_stopped(run, sig, run.stop(sig))
    assert_consistent(fresh)
    again = run_doit(fresh, *BUILD)
    assert again.returncode == 0, again.output
    it = list_iterations(fresh)[0]
    manifest = read_manifest(it)
    assert manifest is not None and len(manifest.files) == len(NOTES["files"])
    for rel in manifest.files:
        assert (it.path / rel).stat().st_size > 0
    components = yaml.safe_load(fresh.registry_path.read_text())["components"]
    assert len([f["path"] for c in components for f in c["files"]]) == len(manifest.files)
    assert fresh.compose_path.exists()
    assert run_doit(fresh, *BUILD).executed == []  # and now nothing is stale
