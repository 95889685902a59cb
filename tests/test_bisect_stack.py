"""`doit bisect` running the real stack where nothing current is recorded, then putting HEAD and the stack back."""

from __future__ import annotations

import re

import httpx
import pytest
from bisect_history import BROKEN_PAGE, SCENARIO, SERVICE, site_history
from conftest import run_doit

from genlib.stack import ports, stack_actions
from genlib.stack.engine import Stack
from genlib.workspace import Workspace

pytestmark = pytest.mark.docker


def stack_runs(output: str) -> int:
    found = re.search(r"^stack runs: (\d+)", output, re.MULTILINE)
    assert found, output
    return int(found.group(1))


def test_sixteen_iterations_the_eleventh_broke_found_in_at_most_five_stack_runs(engine: Workspace) -> None:
    """Nothing recorded, the stack down: HEAD's run and four more name iteration 11; the stack is down again,
    HEAD where it was. The runs recorded their results, so a second bisect runs nothing."""
    site_history(engine, length=16, broke=11)
    done = run_doit(engine, "bisect", f"scenario={SCENARIO}")
    assert done.returncode == 0, done.output
    assert "broke at iteration 11 (iter_011_patch)" in done.output
    assert "last good: iteration 10 (iter_010_patch)" in done.output
    assert 1 <= stack_runs(done.output) <= 5
    assert not engine.head_file.exists()  # HEAD is the newest again, as it was
    assert Stack(engine).states() == {}  # down, as found
    assert "iter_016_patch" in engine.registry_path.read_text()  # the graph's files are HEAD's again
    again = run_doit(engine, "bisect", f"scenario={SCENARIO}")
    assert again.returncode == 0, again.output
    assert "broke at iteration 11 (iter_011_patch)" in again.output
    assert stack_runs(again.output) == 0  # what the runner recorded is current


def test_a_stack_found_up_is_up_at_head_afterwards(engine: Workspace) -> None:
    line = site_history(engine, length=4, broke=3)
    first = run_doit(engine)
    assert first.returncode == 1, first.output  # HEAD fails its scenario
    done = run_doit(engine, "bisect")
    assert done.returncode == 0, done.output
    assert "broke at iteration 3 (iter_003_patch)" in done.output
    assert stack_runs(done.output) == 2  # HEAD's results were current: only 1 and 2 ran
    assert engine.head_file.exists() is False and line[-1].name in engine.registry_path.read_text()
    assert stack_actions.stack_running(engine)
    page = httpx.get(f"http://127.0.0.1:{ports.load(engine)[SERVICE]}/index.html", timeout=10)
    assert page.text == BROKEN_PAGE  # HEAD's page, served again
    rest = run_doit(engine, "up")
    assert "-- up" in rest.output  # the graph finds the stack it left up to date
