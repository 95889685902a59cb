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
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

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


# The index's records are NamedTuples, not dataclasses: no pydantic on a no-op's path, and a NamedTuple
# class costs a fifth of a frozen dataclass to define (each `doit` defines them again).


class ListedComponent(NamedTuple):
    layer: str
    name: str
    runtime: str
    command: Sequence[str] | None


class Listed(NamedTuple):
    """The graph's part of a manifest as the index holds it."""

    files: Mapping[str, str]
    deletions: Sequence[str]
    components: Sequence[ListedComponent]


class Entry(NamedTuple):
    name: str
    parent: str | None
    layout: Listed | None


@dataclass(frozen=True)
class Snapshot:
    iterations: list[Iteration]
    parents: dict[str, Iteration | None]
    manifests: Mapping[str, Layout | None]
    # the last overlay asked for: the graph's creators ask for HEAD's three times per run
    _last: dict[tuple[str, ...], dict[str, FileRef]] = field(default_factory=dict, compare=False, repr=False)

    def head_lineage(self, ws: Workspace) -> list[Iteration]:
        current = head(ws)
        return chain(current, self.parents) if current else []

    def overlay(self, iterations: list[Iteration]) -> dict[str, FileRef]:
        key = tuple(it.name for it in iterations)
        if key not in self._last:
            self._last.clear()  # one kept: prune asks for every iteration's
            self._last[key] = overlay(iterations, lambda it: self.manifests.get(it.name))
        return dict(self._last[key])


def index_path(ws: Workspace) -> Path:
    return ws.state_dir / "iterations.json"


def load(ws: Workspace) -> Snapshot:
    iterations = list_iterations(ws)
    names = [it.name for it in iterations]
    key = _index_key(ws)
    cached = _loaded.get(ws.root)
    if key is not None and cached is not None and cached[0] == (key, names):
        return cached[1]  # the graph's creators load it three times per run; unchanged, it is read once
    index = _read_index(ws)
    if key is None or index is None or [entry.name for entry in index] != names:
        return _from_folder(ws, iterations)
    by_name = {it.name: it for it in iterations}
    parents = {e.name: by_name[e.parent] if e.parent else None for e in index}
    snap = Snapshot(iterations, parents, {e.name: e.layout for e in index})
    _loaded[ws.root] = ((key, names), snap)
    return snap


# workspace root -> ((the index file's stat, the iterations' names), the snapshot they made)
_loaded: dict[Path, tuple[tuple[tuple[int, int, int], list[str]], Snapshot]] = {}


def _index_key(ws: Workspace) -> tuple[int, int, int] | None:
    """What tells one version of the index from another (write_if_changed replaces the file by a rename)."""
    try:
        stat = os.stat(index_path(ws))
    except FileNotFoundError:
        return None
    return stat.st_mtime_ns, stat.st_size, stat.st_ino


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
