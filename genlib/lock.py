"""One run at a time per workspace: a second `doit` is refused, never interleaved.

The lock is an flock on .genlib/lock, held until the process exits (the kernel
drops it even on SIGKILL). It is re-entrant within a process, so `doit heal`
can run the graph once per round.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

from genlib.errors import WorkspaceUnavailable
from genlib.workspace import Workspace

_held: dict[Path, IO[str]] = {}


def acquire(ws: Workspace) -> bool:
    """Take the lock; True when this call took it (False: this process holds it already)."""
    if ws.root in _held:
        return False
    ws.state_dir.mkdir(exist_ok=True)
    handle = open(ws.state_dir / "lock", "a+", encoding="utf-8")  # noqa: SIM115 (held for the process)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise WorkspaceUnavailable(
            f"{ws.root} is busy: pid {holder} is running genlib there; wait for it to finish or stop it"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    _held[ws.root] = handle
    return True


def release(ws: Workspace) -> None:
    handle = _held.pop(ws.root, None)
    if handle is not None:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()
