"""The up stamp (genlib/stack/upstamp.py): written by `up`, read by its cheap up-to-date check."""

from __future__ import annotations

import json
import time

from genlib.stack import stack_actions, upstamp
from genlib.stack.upstamp import UpStamp
from genlib.tasks import graph
from genlib.workspace import Workspace


def test_a_stamp_round_trips_sorted(workspace: Workspace) -> None:
    stamp = UpStamp("2026-01-02T03:04:05+00:00", {"notes-api": "abc123"}, {}, began=1.5, iteration="iter_001_notes")
    upstamp.save(workspace, stamp)
    assert upstamp.load(workspace) == stamp and stack_actions.up_began(workspace) == 1.5
    keys = ["began", "failed", "iteration", "services", "started"]
    assert list(json.loads(upstamp.path(workspace).read_text())) == keys


def test_a_later_up_of_the_same_iteration_keeps_when_its_stack_came_up(workspace: Workspace) -> None:
    """A `doit` whose `up` changed nothing, or that finishes an `up` killed before its stamp was written, must not
    move the logs window past what a running service printed when it started; a new iteration's stack comes up
    now (its fix is judged on what it prints), and so does the stack after `doit down`."""
    first = stack_actions.stack_began(workspace, "iter_001_notes")
    assert not upstamp.path(workspace).exists()  # no stamp: that up was killed half way
    assert stack_actions.stack_began(workspace, "iter_001_notes") == first == stack_actions.up_began(workspace)
    before = time.time()
    assert stack_actions.stack_began(workspace, "iter_002_fix") >= before
    assert stack_actions.stack_began(workspace, "iter_002_fix") == stack_actions.up_began(workspace)
    upstamp.forget_began(workspace)  # what `doit down` does
    assert stack_actions.stack_began(workspace, "iter_002_fix") >= before


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
        '{"started": "x", "services": {}, "failed": {}, "iteration": 1}',
    ):
        upstamp.path(workspace).write_text(damaged)
        assert upstamp.load(workspace) is None, damaged


def test_a_stamp_with_a_failed_service_is_not_up(workspace: Workspace) -> None:
    """up runs again without asking the engine: the last up left a service down."""
    failed = UpStamp(started="2026-01-02T03:04:05+00:00", services={"api": "abc"}, failed={"api": "exited (1)"})
    upstamp.save(workspace, failed)
    assert graph._stack_still_up(workspace) is False
