"""The stamp `up` leaves, .genlib/up.json: when it began and ended, each service's container, the services that
failed, and the iteration it brought up.

    path(ws)            where it is (doit's target of `up`; `down` removes it)
    save(ws, stamp)     written by stack_actions.up
    load(ws) -> UpStamp | None   read by up's up-to-date check (tasks.graph): None when missing or damaged
    began_for(ws, iteration)     when the stack of `iteration` began to come up (.genlib/up-began.json)

Cheap to import (no Docker SDK): a no-op `doit` reads it.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import NamedTuple

from genlib.errors import WorkspaceError
from genlib.fsutil import atomic_write_text, read_json_object
from genlib.workspace import Workspace

NAME = "up.json"
BEGAN = "up-began.json"  # written before compose runs: an `up` killed half way still marks it


class UpStamp(NamedTuple):
    """A NamedTuple, neither a pydantic model nor a dataclass: a no-op `doit` defines this class, and those cost
    it more to define (pydantic's models, about half of its start-up; a dataclass, its methods compiled)."""

    started: str  # ISO 8601: each up is a new stack to test (tasks.graph._same_stack hashes the file)
    services: dict[str, str]  # service -> container id
    failed: dict[str, str]  # service -> why it did not come up
    began: float | None = None  # epoch seconds: the first up of `iteration` began (a logs window); older: none
    iteration: str | None = None  # the iteration HEAD named: a later up of the same one keeps `began`

    @classmethod
    def parse(cls, data: dict[str, object]) -> UpStamp | None:
        """The stamp in `data`; None when a field is missing, unknown or of the wrong type."""
        started, began, iteration = data.get("started"), data.get("began"), data.get("iteration")
        services, failed = _text_map(data.get("services")), _text_map(data.get("failed"))
        if set(data) - set(cls._fields) or not isinstance(started, str) or services is None:
            return None
        if failed is None or (began is not None and (isinstance(began, bool) or not isinstance(began, int | float))):
            return None
        if iteration is not None and not isinstance(iteration, str):
            return None
        return cls(started, services, failed, None if began is None else float(began), iteration)


def _text_map(value: object) -> dict[str, str] | None:
    """`value` as a {name: text} map; None when it is not one."""
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        return None
    return {str(k): str(v) for k, v in value.items()}


def path(ws: Workspace) -> Path:
    return ws.state_dir / NAME


def save(ws: Workspace, stamp: UpStamp) -> None:
    atomic_write_text(path(ws), json.dumps(stamp._asdict(), indent=2, sort_keys=True) + "\n")


def load(ws: Workspace) -> UpStamp | None:
    """The stamp; None when there is none or it is damaged (then `up` runs again and rewrites it)."""
    try:
        data = read_json_object(path(ws), "")
    except WorkspaceError:
        return None
    return None if data is None else UpStamp.parse(data)


def began_for(ws: Workspace, iteration: str | None) -> float:
    """When the stack of `iteration` began to come up: kept from its first `up`, even one killed before its stamp
    was written (the next `doit` finishes that stack; what its services printed then is this stack's output);
    now, for another iteration."""
    kept = _began_record(ws)
    if kept is not None and iteration is not None and kept[0] == iteration:
        return kept[1]
    now = time.time()
    atomic_write_text(ws.state_dir / BEGAN, json.dumps({"iteration": iteration, "began": now}) + "\n")
    return now


def forget_began(ws: Workspace) -> None:
    (ws.state_dir / BEGAN).unlink(missing_ok=True)


def began(ws: Workspace) -> float | None:
    """When the stack under test began to come up; None before any `up` recorded it."""
    kept = _began_record(ws)
    if kept is not None:
        return kept[1]
    stamp = load(ws)  # a stamp of the genlib before up-began.json
    return stamp.began if stamp else None


def _began_record(ws: Workspace) -> tuple[str | None, float] | None:
    try:
        data = read_json_object(ws.state_dir / BEGAN, "")
    except WorkspaceError:
        return None
    when, iteration = (data.get("began"), data.get("iteration")) if data else (None, None)
    if isinstance(when, bool) or not isinstance(when, int | float) or not isinstance(iteration, str | None):
        return None
    return iteration, float(when)
