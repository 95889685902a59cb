"""What happened so far: the iteration table, diffs between effective trees, and rollback.

    doit history            one row per iteration, HEAD marked
    doit diff a=1 b=3       unified diff of the effective trees (the overlay up to each)
    doit rollback to=2      move HEAD; nothing is deleted

Everything here reads files the graph and the heal loop wrote; nothing talks to
Docker or the model.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from genlib.app.iterations import (
    Iteration,
    find_iteration,
    head,
    lineage,
    list_iterations,
    overlay,
    read_manifest,
    set_head,
)
from genlib.documents import results
from genlib.documents.llm_output import LLMOutput, load_output
from genlib.errors import GenlibError, WorkspaceError
from genlib.text import columns, one_line
from genlib.workspace import Workspace

_DESC_WIDTH = 40
_T = TypeVar("_T")


@dataclass(frozen=True)
class Row:
    number: int
    name: str
    kind: str
    description: str
    files_changed: int | None  # None: not materialized yet
    passed: int | None  # None: never tested
    failed: int | None
    tokens: int | None
    time: str
    is_head: bool


def rows(ws: Workspace) -> list[Row]:
    current = head(ws)
    return [_row(it, current) for it in list_iterations(ws)]


def _row(it: Iteration, current: Iteration | None) -> Row:
    output = best_effort(lambda: load_output(it.llm_output))
    report = best_effort(lambda: results.load(it.results))
    manifest = best_effort(lambda: read_manifest(it))
    return Row(
        number=it.number,
        name=it.name,
        kind=output.kind if output else it.kind,
        description=_description(it, output),
        files_changed=len(manifest.files) + len(manifest.deletions) if manifest else None,
        passed=report.summary["passed"] if report else None,
        failed=len(report.failing) if report else None,
        tokens=(output.stats.prompt_tokens + output.stats.completion_tokens) if output else None,
        time=_time(output.created if output else ""),
        is_head=current is not None and current.name == it.name,
    )


def best_effort(read: Callable[[], _T | None]) -> _T | None:
    """History shows what it can: a missing or broken file is a '-', not a crash."""
    try:
        return read()
    except GenlibError:
        return None


def _description(it: Iteration, output: LLMOutput | None) -> str:
    try:
        text = it.desc.read_text(encoding="utf-8")
    except OSError:
        text = output.description if output else ""
    return one_line(text, _DESC_WIDTH)


def _time(created: str) -> str:
    try:
        return datetime.fromisoformat(created.replace("Z", "+00:00")).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return "-"


def format_table(table: list[Row]) -> str:
    if not table:
        return 'no iterations yet; run `doit gen desc="what to build"`'
    header = ("", "#", "kind", "description", "files", "passed", "failed", "tokens", "time")
    lines = [header] + [
        (
            "*" if r.is_head else "",
            str(r.number),
            r.kind,
            r.description,
            _num(r.files_changed),
            _num(r.passed),
            _num(r.failed),
            _num(r.tokens),
            r.time,
        )
        for r in table
    ]
    return "\n".join(columns(lines, right={1, 4, 5, 6, 7})) + "\n(* = HEAD)"


def _num(value: int | None) -> str:
    return "-" if value is None else str(value)


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


def diff(ws: Workspace, a: str, b: str) -> str:
    """A unified diff from iteration `a`'s effective tree to `b`'s ('' when they are the same)."""
    first, second = find_iteration(ws, a), find_iteration(ws, b)
    old, new = effective_tree(ws, first), effective_tree(ws, second)
    chunks: list[str] = []
    for path in sorted(old.keys() | new.keys()):
        before, after = old.get(path), new.get(path)
        if before == after:
            continue
        lines = difflib.unified_diff(
            (before or "").splitlines(keepends=True),
            (after or "").splitlines(keepends=True),
            fromfile=f"{first.name}/{path}" if before is not None else "/dev/null",
            tofile=f"{second.name}/{path}" if after is not None else "/dev/null",
        )
        # as `diff -u` does: a last line without a newline is marked, not glued to the next
        chunks.extend(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)
    return "".join(chunks)


def rollback(ws: Workspace, to: str) -> Iteration:
    """Point HEAD at iteration `to`; later iterations stay on disk (roll forward the same way)."""
    target = find_iteration(ws, to)
    set_head(ws, target)
    return target
