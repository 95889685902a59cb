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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from genlib.app.iterations import (
    FileRef,
    Iteration,
    Layout,
    chain,
    head,
    list_iterations,
    overlay,
    parent_map,
    read_manifest,
)
from genlib.errors import WorkspaceError
from genlib.fsutil import read_json_object, write_if_changed
from genlib.workspace import Workspace

INDEX_FORMAT = "genlib.index/1"


@dataclass(frozen=True)
class ListedComponent:
    layer: str
    name: str
    runtime: str
    command: Sequence[str] | None


@dataclass(frozen=True)
class Listed:
    """The graph's part of a manifest as the index holds it (no pydantic on a no-op's path)."""

    files: Mapping[str, str]
    deletions: Sequence[str]
    components: Sequence[ListedComponent]


@dataclass(frozen=True)
class Entry:
    name: str
    parent: str | None
    layout: Listed | None


@dataclass(frozen=True)
class Snapshot:
    iterations: list[Iteration]
    parents: dict[str, Iteration | None]
    manifests: Mapping[str, Layout | None]

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
    if index is not None and [entry.name for entry in index] == [it.name for it in iterations]:
        by_name = {it.name: it for it in iterations}
        parents = {e.name: by_name[e.parent] if e.parent else None for e in index}
        return Snapshot(iterations, parents, {e.name: e.layout for e in index})
    return _from_folder(ws, iterations)


def write(ws: Workspace) -> None:
    """Rewrite the index from the folder (only when it changed, so doit sees no change otherwise)."""
    iterations = list_iterations(ws)
    parents = parent_map(ws)
    entries = [
        {
            "name": it.name,
            "parent": parent.name if (parent := parents[it.name]) else None,
            "manifest": found.model_dump(mode="json") if (found := read_manifest(it)) else None,
        }
        for it in iterations
    ]
    text = json.dumps({"format": INDEX_FORMAT, "iterations": entries}, sort_keys=True) + "\n"
    path = index_path(ws)
    write_if_changed(path, text)


def _from_folder(ws: Workspace, iterations: list[Iteration]) -> Snapshot:
    return Snapshot(iterations, parent_map(ws), {it.name: read_manifest(it) for it in iterations})


def _read_index(ws: Workspace) -> list[Entry] | None:
    """The index's entries; None when it is missing or damaged in any way (then the folder is read)."""
    try:
        data = read_json_object(index_path(ws), "")
    except WorkspaceError:
        return None
    if data is None or data.get("format") != INDEX_FORMAT or not isinstance(data.get("iterations"), list):
        return None
    try:
        return [_entry(raw) for raw in data["iterations"]]
    except (KeyError, TypeError, ValueError):
        return None


def _entry(raw: dict[str, object]) -> Entry:
    """One entry, shape-checked by hand: the index is genlib's own cache of manifests already validated."""
    name, parent, manifest = raw["name"], raw["parent"], raw["manifest"]
    if not isinstance(name, str) or not (parent is None or isinstance(parent, str)):
        raise ValueError(name)
    if manifest is None:
        return Entry(name, parent, None)
    if not isinstance(manifest, dict) or not isinstance(manifest["files"], dict):
        raise ValueError(name)
    deletions, components = manifest["deletions"], manifest["components"]
    if not isinstance(deletions, list) or not isinstance(components, list):
        raise ValueError(name)
    return Entry(name, parent, Listed(manifest["files"], deletions, [_component(c) for c in components]))


def _component(raw: dict[str, object]) -> ListedComponent:
    layer, name, runtime, command = raw["layer"], raw["name"], raw["runtime"], raw["command"]
    if not (isinstance(layer, str) and isinstance(name, str) and isinstance(runtime, str)):
        raise ValueError(name)
    if command is not None and not isinstance(command, list):
        raise ValueError(name)
    return ListedComponent(layer, name, runtime, command)
