"""Ctrl-C and SIGKILL in the middle of `doit bisect`: HEAD and the workspace are as they were.

The stop is certain: bisect's first stack run is held at a checkpoint of the graph it runs, with HEAD lent to
the iteration it probes: `registry` (no Docker is reached before that point) or, with Docker, `up`.
"""

from __future__ import annotations

import signal

import httpx
import pytest
from bisect_history import BROKEN_PAGE, OK_PAGE, SERVICE, record, site_history
from conftest import run_doit

from faults.conftest import Running, assert_one_line_interruption, changed, snapshot, start_doit
from genlib.app import lent_head
from genlib.stack import ports, stack_actions
from genlib.workspace import Workspace

BUILD = ("materialize", "registry", "compose")


@pytest.fixture
def probed(workspace: Workspace) -> Workspace:
    """4 iterations, HEAD's failure recorded and nothing else, built as a `doit` leaves it: bisect must run the
    stack, first at iter_002."""
    line = site_history(workspace, length=4, broke=3)
    record(workspace, line[-1], "failed")
    assert run_doit(workspace, *BUILD).returncode == 0
    return workspace


def lent_to(ws: Workspace) -> str:
    return ws.head_file.read_text().strip() if ws.head_file.exists() else ""


def test_ctrl_c_mid_bisect_leaves_head_and_the_workspace_as_they_were(
    probed: Workspace, doit_runs: list[Running]
) -> None:
    before = snapshot(probed.root)
    run = start_doit(probed, "bisect", stop_at="registry")
    doit_runs.append(run)
    run.at_checkpoint()
    assert lent_to(probed) == "iter_002_patch"  # in progress: HEAD is lent to the iteration being run
    assert_one_line_interruption(run, run.stop(signal.SIGINT))
    assert not probed.head_file.exists()  # HEAD is the newest again, as it was
    assert changed(before, snapshot(probed.root)) == []  # registry.yaml, docker-compose.yml: HEAD's again
    assert not lent_head.record_path(probed).exists()


def test_a_bisect_killed_mid_run_has_head_put_back_by_the_next_run(probed: Workspace, doit_runs: list[Running]) -> None:
    before = snapshot(probed.root)
    run = start_doit(probed, "bisect", stop_at="registry")
    doit_runs.append(run)
    run.at_checkpoint()
    assert run.stop(signal.SIGKILL) == -9
    assert lent_to(probed) == "iter_002_patch"  # a kill leaves HEAD lent ...
    after = run_doit(probed, *BUILD)  # ... until the next run takes the lock
    assert after.returncode == 0, after.output
    assert "a killed `doit bisect` had moved HEAD; it is back at the newest iteration" in after.output
    assert not probed.head_file.exists() and not lent_head.record_path(probed).exists()
    assert changed(before, snapshot(probed.root)) == []


@pytest.mark.docker
def test_ctrl_c_with_the_stack_up_at_another_iteration_brings_it_back_up_at_head(
    engine: Workspace, doit_runs: list[Running]
) -> None:
    """Held at `up` of its first stack run (the stack up at iter_002, up.json not yet written): after Ctrl-C the
    stack serves HEAD's files again, and nothing else moved."""
    site_history(engine, length=4, broke=3)
    assert run_doit(engine).returncode == 1  # up at HEAD, its failure recorded
    before = snapshot(engine.root)
    run = start_doit(engine, "bisect", stop_at="up")
    doit_runs.append(run)
    run.at_checkpoint()
    assert lent_to(engine) == "iter_002_patch"
    assert page(engine) == OK_PAGE  # iteration 2's page is being served
    assert_one_line_interruption(run, run.stop(signal.SIGINT))
    assert not engine.head_file.exists()
    assert changed(before, snapshot(engine.root)) == []
    assert stack_actions.stack_running(engine) and page(engine) == BROKEN_PAGE  # up at HEAD again


def page(ws: Workspace) -> str:
    return httpx.get(f"http://127.0.0.1:{ports.load(ws)[SERVICE]}/index.html", timeout=10).text
