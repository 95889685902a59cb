"""One file read for the graph's task creators instead of two per iteration.

Describing the graph needs every iteration's parent and manifest. With a long
history that is thousands of small reads on every `doit`, so materialize keeps
them all in .genlib/iterations.json. The creators use it while it lists exactly
the iterations in the folder (an iteration appears by a rename, so a new one
makes it stale) and read the folder otherwise. The manifests stay the truth: the
index is a cache of them, rewritten whenever materialize runs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genlib.errors import WorkspaceError
from genlib.fsutil import atomic_write_text, read_json_object
from genlib.iterations import FileRef, Iteration, chain, head, list_iterations, overlay, parent_map, read_manifest
from genlib.workspace import Workspace

INDEX_FORMAT = "genlib.index/1"


@dataclass(frozen=True)
class Snapshot:
    iterations: list[Iteration]
    parents: dict[str, Iteration | None]
    manifests: dict[str, dict[str, Any] | None]

    def head_lineage(self, ws: Workspace) -> list[Iteration]:
        current = head(ws)
        return chain(current, self.parents) if current else []

    def overlay(self, iterations: list[Iteration]) -> dict[str, FileRef]:
        return overlay(iterations, lambda it: self.manifests.get(it.name))


def index_path(ws: Workspace) -> Path:
    return ws.state_dir / "iterations.json"


def load(ws: Workspace) -> Snapshot:
    iterations = list_iterations(ws)
    index = _read_index(ws)
    if index is not None and [entry["name"] for entry in index] == [it.name for it in iterations]:
        by_name = {it.name: it for it in iterations}
        parents = {e["name"]: by_name[e["parent"]] if e["parent"] else None for e in index}
        return Snapshot(iterations, parents, {e["name"]: e["manifest"] for e in index})
    return _from_folder(ws, iterations)


def write(ws: Workspace) -> None:
    """Rewrite the index from the folder (only when it changed, so doit sees no change otherwise)."""
    snap = _from_folder(ws, list_iterations(ws))
    entries = [
        {
            "name": it.name,
            "parent": parent.name if (parent := snap.parents[it.name]) else None,
            "manifest": snap.manifests[it.name],
        }
        for it in snap.iterations
    ]
    text = json.dumps({"format": INDEX_FORMAT, "iterations": entries}, sort_keys=True) + "\n"
    path = index_path(ws)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        atomic_write_text(path, text)


def _from_folder(ws: Workspace, iterations: list[Iteration]) -> Snapshot:
    return Snapshot(iterations, parent_map(ws), {it.name: read_manifest(it) for it in iterations})


def _read_index(ws: Workspace) -> list[dict[str, Any]] | None:
    try:
        data = read_json_object(index_path(ws), "")
    except WorkspaceError:
        return None  # damaged: read the folder instead
    if data is None or data.get("format") != INDEX_FORMAT:
        return None
    entries = data.get("iterations")
    return entries if isinstance(entries, list) else None
