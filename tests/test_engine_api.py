"""The cheap is-the-stack-up question: without a daemon it says no, never raises; the real engine in test_engine."""

from __future__ import annotations

import pytest

from genlib.stack import engine_api


def test_no_daemon_is_not_up() -> None:  # the guard's DOCKER_HOST names a socket that does not exist
    assert engine_api.stack_up("genlib-x", ["abc"]) is False


def test_an_engine_elsewhere_is_left_to_the_sdk(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:2375")
    assert engine_api.stack_up("genlib-x", ["abc"]) is None


@pytest.mark.parametrize(
    ("state", "status", "up"),
    [
        ("running", "Up 3 minutes (healthy)", True),
        ("running", "Up 2 seconds (health: starting)", True),
        ("running", "Up 3 minutes", True),
        ("running", "Up 3 minutes (unhealthy)", True),  # up judged it; a later flag is the test task's
        ("exited", "Exited (0) 1 second ago", False),
    ],
)
def test_up_means_every_recorded_container_still_runs(state: str, status: str, up: bool) -> None:
    containers = [{"Id": "a", "State": "running", "Status": "Up"}, {"Id": "b", "State": state, "Status": status}]
    assert engine_api.all_running(containers, {"a", "b"}) is up
    assert engine_api.all_running(containers, {"a", "gone"}) is False  # removed by hand
