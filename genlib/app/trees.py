"""An iteration's effective tree (every layer file as the graph sees it with HEAD there), and what changed
between two trees: the unified diff of `doit diff` and the report, the one-line summary of `doit bisect`.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from genlib.app.iterations import Iteration, lineage, overlay, read_manifest
from genlib.errors import WorkspaceError
from genlib.workspace import Workspace


def effective_tree(ws: Workspace, upto: Iteration) -> dict[str, str]:
    """Path -> current text of every layer file, as the graph would see it with HEAD at `upto`."""
    chain = lineage(ws, upto)
    unbuilt = [it.name for it in chain if read_manifest(it) is None]
    if unbuilt:
        raise WorkspaceError(f"{unbuilt[0]} is not materialized yet; run `doit materialize` first")
    tree = {}
    for path, ref in overlay(chain).items():
        try:
            tree[path] = ref.source.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise WorkspaceError(f"{ref.source} cannot be read ({exc}); run `doit materialize force=1`") from exc
    return tree


def unified_diff(old: dict[str, str], new: dict[str, str], old_name: str, new_name: str) -> str:
    """A unified diff from one tree to another ('' when they are the same)."""
    chunks: list[str] = []
    for path in sorted(old.keys() | new.keys()):
        before, after = old.get(path), new.get(path)
        if before == after:
            continue
        lines = difflib.unified_diff(
            (before or "").splitlines(keepends=True),
            (after or "").splitlines(keepends=True),
            fromfile=f"{old_name}/{path}" if before is not None else "/dev/null",
            tofile=f"{new_name}/{path}" if after is not None else "/dev/null",
        )
        # as `diff -u` does: a last line without a newline is marked, not glued to the next
        chunks.extend(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)
    return "".join(chunks)


@dataclass(frozen=True)
class Change:
    """One file's change, as `git diff --stat` counts it."""

    path: str
    added: int
    removed: int
    status: str  # "added", "deleted" or "changed"

    def __str__(self) -> str:
        counts = f"+{self.added} -{self.removed}"
        return f"{self.path} ({self.status}, {counts})" if self.status != "changed" else f"{self.path} ({counts})"


def changes(old: dict[str, str], new: dict[str, str]) -> list[Change]:
    """Every file that differs between two trees, by path, with its added and removed lines."""
    found = []
    for path in sorted(old.keys() | new.keys()):
        before, after = old.get(path), new.get(path)
        if before == after:
            continue
        ops = difflib.SequenceMatcher(None, (before or "").splitlines(), (after or "").splitlines()).get_opcodes()
        added = sum(j2 - j1 for tag, _, _, j1, j2 in ops if tag in ("insert", "replace"))
        removed = sum(i2 - i1 for tag, i1, i2, _, _ in ops if tag in ("delete", "replace"))
        status = "added" if before is None else "deleted" if after is None else "changed"
        found.append(Change(path, added, removed, status))
    return found
