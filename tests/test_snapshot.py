"""The graph's index of iterations (genlib/app/snapshot.py): read once per run while unchanged, never stale."""

from __future__ import annotations

import json

from conftest import add_iteration, run_doit

from genlib.app import snapshot
from genlib.workspace import Workspace

NOTES_FILES = ("api/notes/server.js", "frontend/web/app.js", "frontend/web/index.html", "workers/digest/worker.py")


def materialized(ws: Workspace) -> Workspace:
    add_iteration(ws, "iter_001_notes", "notes")
    assert run_doit(ws, "materialize").returncode == 0
    return ws


def test_an_unchanged_index_is_read_once_and_its_overlay_made_once(workspace: Workspace) -> None:
    ws = materialized(workspace)
    snap = snapshot.load(ws)
    assert snapshot.load(ws) is snap  # the graph's three creators share one read
    lineage = snap.head_lineage(ws)
    files = snap.overlay(lineage)
    assert sorted(files) == [*NOTES_FILES]
    files.clear()  # a caller's copy: the next one is whole
    assert snap.overlay(lineage) == snap.overlay(lineage) != {}
    assert snap.overlay([]) == {}  # another lineage, its own overlay
    assert len(snap.overlay(lineage)) == len(NOTES_FILES)


def test_a_rewritten_index_is_read_again(workspace: Workspace) -> None:
    ws = materialized(workspace)
    before = snapshot.load(ws)
    old = before.overlay(before.head_lineage(ws))["workers/digest/worker.py"].sha256

    source = ws.iterations_dir / "iter_001_notes/llm_output.json"
    data = json.loads(source.read_text())
    worker = next(f for f in data["answer"]["files"] if f["path"] == "workers/digest/worker.py")
    worker["content"] += "# edited\n"
    source.write_text(json.dumps(data))  # the same iterations, another content
    assert run_doit(ws, "materialize").returncode == 0
    edited = snapshot.load(ws)
    assert edited is not before
    assert edited.overlay(edited.head_lineage(ws))["workers/digest/worker.py"].sha256 != old

    add_iteration(ws, "iter_002_notes", "notes")  # a new iteration, not materialized yet: the folder is read
    assert [it.name for it in snapshot.load(ws).iterations] == ["iter_001_notes", "iter_002_notes"]
    assert run_doit(ws, "materialize").returncode == 0
    again = snapshot.load(ws)
    assert [it.name for it in again.iterations] == ["iter_001_notes", "iter_002_notes"]
    assert snapshot.load(ws) is again
