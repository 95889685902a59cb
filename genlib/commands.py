"""genlib's doit commands (registered in the workspace's doit.cfg): loops and queries, not graph tasks.

`doit gen desc=...`, `doit heal`, `doit history`, `doit diff a=1 b=3`, `doit rollback to=2`.
Each command is a thin shell around a function in its own module; a GenlibError
becomes one `ERROR:` line and exit code 2 (3 for bad arguments).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from doit.cmd_base import Command

from genlib import lock
from genlib.errors import ConfigError, GenlibError
from genlib.workspace import Workspace


class GenlibCommand(Command):  # type: ignore[misc]  # doit has no type hints
    """Base: find the workspace, take its lock, run `action`, translate errors."""

    doc_usage = ""

    def execute(self, params: Any, args: list[str]) -> int:
        try:
            ws = Workspace.at(Path.cwd())
            lock.acquire(ws)
            return int(self.action(ws, args))
        except ConfigError as exc:
            print(f"ERROR: {exc}", file=sys.stderr)
            return 3
        except GenlibError as exc:
            print(f"ERROR: {exc}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print("ERROR: interrupted; earlier iterations are intact, run the command again to finish", file=sys.stderr)
            return 130

    action: Callable[[Workspace, list[str]], int]
