"""The up stamp (genlib/stack/upstamp.py): written by `up`, read by its cheap up-to-date check."""

from __future__ import annotations

import json

from genlib.stack import stack_actions, upstamp
from genlib.stack.upstamp import UpStamp
from genlib.tasks import graph
from genlib.workspace import Workspace


def test_a_stamp_round_trips_sorted(workspace: Workspace) -> None:
    stamp = UpStamp(began=1.5, started="2026-01-02T03:04:05+00:00", services={"notes-api": "abc123"}, failed={})
    upstamp.save(workspace, stamp)
    assert upstamp.load(workspace) == stamp and stack_actions.up_began(workspace) == 1.5
    assert list(json.loads(upstamp.path(workspace).read_text())) == ["began", "failed", "services", "started"]


def test_a_stamp_of_an_older_genlib_has_no_beginning(workspace: Workspace) -> None:
    upstamp.path(workspace).parent.mkdir(parents=True, exist_ok=True)
    upstamp.path(workspace).write_text('{"failed": {}, "services": {"api": "abc"}, "started": "2026-01-02T03:04:05"}')
    stamp = upstamp.load(workspace)
    assert stamp is not None and stamp.began is None and stack_actions.up_began(workspace) is None


def test_a_missing_or_damaged_stamp_is_none(workspace: Workspace) -> None:
    assert upstamp.load(workspace) is None
    upstamp.path(workspace).parent.mkdir(parents=True, exist_ok=True)
    for damaged in (
        "{not json",
        "[]",
        '{"started": "x", "services": {}}',
        '{"started": 1, "services": {}, "failed": {}}',
    ):
        upstamp.path(workspace).write_text(damaged)
        assert upstamp.load(workspace) is None, damaged


def test_a_stamp_with_a_failed_service_is_not_up(workspace: Workspace) -> None:
    """up runs again without asking the engine: the last up left a service down."""
    failed = UpStamp(started="2026-01-02T03:04:05+00:00", services={"api": "abc"}, failed={"api": "exited (1)"})
    upstamp.save(workspace, failed)
    assert graph._stack_still_up(workspace) is False
