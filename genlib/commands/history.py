"""What happened so far: the iteration table, diffs between effective trees, and rollback.

    doit history            one row per iteration, HEAD marked
    doit diff a=1 b=3       unified diff of the effective trees (the overlay up to each)
    doit rollback to=2      move HEAD; nothing is deleted

Everything here reads files the graph and the heal loop wrote; nothing talks to
Docker or the model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from genlib.app import trees
from genlib.app.iterations import Iteration, find_iteration, head, list_iterations, read_manifest, set_head
from genlib.documents import results
from genlib.documents.llm_output import LLMOutput, load_output
from genlib.errors import GenlibError
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


def diff(ws: Workspace, a: str, b: str) -> str:
    """A unified diff from iteration `a`'s effective tree to `b`'s ('' when they are the same)."""
    first, second = find_iteration(ws, a), find_iteration(ws, b)
    old, new = trees.effective_tree(ws, first), trees.effective_tree(ws, second)
    return trees.unified_diff(old, new, first.name, second.name)


def rollback(ws: Workspace, to: str) -> Iteration:
    """Point HEAD at iteration `to`; later iterations stay on disk (roll forward the same way)."""
    target = find_iteration(ws, to)
    set_head(ws, target)
    return target
