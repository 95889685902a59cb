"""HEAD lent out for a while, and always given back: `doit bisect` runs the graph at older iterations.

    with lent_head.lent(ws):       .genlib/HEAD.lent keeps what HEAD was; on the way out (done, an error,
        set_head(ws, older) ...    Ctrl-C) HEAD is put back and the record removed, with Ctrl-C held meanwhile
    lent_head.give_back(ws)        a run killed while HEAD was lent (SIGKILL): the next run to take the
                                   workspace's lock puts it back first

The graph targets HEAD by design (HEAD is one of its inputs, so doit sees the move), which is why a bisect
moves HEAD rather than telling the graph about another iteration behind doit's back.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from genlib.fsutil import atomic_write_text
from genlib.workspace import Workspace

RECORD = "HEAD.lent"


def record_path(ws: Workspace) -> Path:
    return ws.state_dir / RECORD


@contextmanager
def lent(ws: Workspace) -> Iterator[None]:
    """HEAD may move inside; it is where it was afterwards, whatever happens (but SIGKILL: see give_back)."""
    give_back(ws)
    was = ws.head_file.read_text(encoding="utf-8") if ws.head_file.exists() else ""  # "": no HEAD file (the newest)
    ws.state_dir.mkdir(exist_ok=True)
    atomic_write_text(record_path(ws), was)
    try:
        yield
    finally:
        with _ctrl_c_held():
            give_back(ws)


def give_back(ws: Workspace) -> str | None:
    """Put HEAD back as the record says and remove the record; what HEAD was ('' for no HEAD file), None
    when nothing was lent."""
    path = record_path(ws)
    try:
        was = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    if was.strip():
        atomic_write_text(ws.head_file, was)
    else:
        ws.head_file.unlink(missing_ok=True)
    path.unlink()
    return was.strip()


def recover(ws: Workspace) -> None:
    """What a run does on taking the lock: HEAD left lent by a killed run is put back, and it says so."""
    was = give_back(ws)
    if was is not None:
        where = was or "the newest iteration"
        print(f"note: a killed `doit bisect` had moved HEAD; it is back at {where}", file=sys.stderr)


@contextmanager
def _ctrl_c_held() -> Iterator[None]:
    """A Ctrl-C during the block is raised after it, so HEAD is never left half given back."""
    caught: list[int] = []
    try:
        previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    except ValueError:  # not the main thread, where no SIGINT is delivered anyway
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        raise KeyboardInterrupt
