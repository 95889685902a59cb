"""Heal rounds that left no iteration behind (every answer rejected, a patch already tried): one JSON line each
in iterations/heal_journal.jsonl, so `doit history` can say what happened between iterations.

    append(ws, round_number, after_iteration, why)
    read(ws) -> [Entry]
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from genlib.workspace import Workspace

FILE = "heal_journal.jsonl"


@dataclass(frozen=True)
class Entry:
    time: str
    round: int
    after: str  # the iteration HEAD pointed at
    why: str


def append(ws: Workspace, number: int, after: str, why: str) -> None:
    """One line, appended (earlier lines are never rewritten)."""
    entry = {"time": datetime.now(UTC).isoformat(timespec="seconds"), "round": number, "after": after, "why": why}
    with (ws.iterations_dir / FILE).open("a", encoding="utf-8") as out:
        out.write(json.dumps(entry, ensure_ascii=False) + "\n")


def read(ws: Workspace) -> list[Entry]:
    """Every entry; a line that cannot be read (cut by a crash) is skipped."""
    try:
        lines = (ws.iterations_dir / FILE).read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    entries = []
    for line in lines:
        try:
            data = json.loads(line)
            entries.append(Entry(str(data["time"]), int(data["round"]), str(data["after"]), str(data["why"])))
        except (ValueError, KeyError, TypeError):
            continue
    return entries


def format_entries(entries: list[Entry]) -> str:
    if not entries:
        return ""
    lines = ["heal rounds that wrote no iteration:"]
    lines += [f"  {e.time}  round {e.round} after {e.after}: {e.why}" for e in entries]
    return "\n".join(lines)
