"""The stamp `up` leaves, .genlib/up.json: when it began and ended, each service's container, the services that
failed.

    path(ws)            where it is (doit's target of `up`; `down` removes it)
    save(ws, stamp)     written by stack_actions.up
    load(ws) -> UpStamp | None   read by up's up-to-date check (tasks.graph): None when missing or damaged

Cheap to import (no Docker SDK): a no-op `doit` reads it.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import ValidationError

from genlib.errors import WorkspaceError
from genlib.fsutil import atomic_write_text, read_json_object
from genlib.strict import Strict
from genlib.workspace import Workspace

NAME = "up.json"


class UpStamp(Strict):
    began: float | None = None  # seconds since the epoch when up began (a logs scenario's window); older: none
    started: str  # ISO 8601: each up is a new stack to test (tasks.graph._same_stack hashes the file)
    services: dict[str, str]  # service -> container id
    failed: dict[str, str]  # service -> why it did not come up


def path(ws: Workspace) -> Path:
    return ws.state_dir / NAME


def save(ws: Workspace, stamp: UpStamp) -> None:
    atomic_write_text(path(ws), json.dumps(stamp.model_dump(mode="json"), indent=2, sort_keys=True) + "\n")


def load(ws: Workspace) -> UpStamp | None:
    """The stamp; None when there is none or it is damaged (then `up` runs again and rewrites it)."""
    try:
        data = read_json_object(path(ws), "")
        return None if data is None else UpStamp.model_validate(data)
    except (WorkspaceError, ValidationError):
        return None
