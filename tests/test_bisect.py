"""`doit bisect` without Docker: the search, recorded results reused while current, the line it walks, its
bad input. The stack runs themselves are in test_bisect_stack.py (docker), Ctrl-C in faults/test_bisect_faults.py."""

from __future__ import annotations

import json

import pytest
from bisect_history import BROKEN_PAGE, OK_PAGE, PAGE, SCENARIO, TEST_YAML, iteration, record, record_line, site_history
from conftest import run_doit

from genlib import lock
from genlib.app.iterations import head, set_head
from genlib.commands import htmlreport
from genlib.documents import bisection
from genlib.documents.results import Status
from genlib.loops import bisect
from genlib.workspace import Workspace


def test_the_search_needs_at_most_log2_stack_runs() -> None:
    """16 iterations, HEAD failing: 4 runs find any breaking iteration (a 5th when HEAD's results are stale)."""
    for broke in range(16):
        ran: list[int] = []
        passes = lambda position, broke=broke, ran=ran: ran.append(position) or position < broke  # noqa: E731
        assert bisect.search(16, {15: False}, passes) == (broke - 1, broke)
        assert len(ran) <= 4, (broke, ran)


def test_known_results_narrow_the_search_for_free() -> None:
    known = {0: True, 4: True, 9: False, 15: False}
    ran: list[int] = []
    assert bisect.search(16, known, lambda i: ran.append(i) or i < 7) == (6, 7)
    assert all(4 < i < 9 for i in ran) and len(ran) <= 3
    assert bisect.search(16, {i: i < 11 for i in range(16)}, lambda i: pytest.fail("ran")) == (10, 11)
    assert bisect.search(4, {3: False}, lambda i: False) == (-1, 0)  # never passed


def test_sixteen_recorded_iterations_name_the_eleventh_with_no_stack_run(workspace: Workspace) -> None:
    line = site_history(workspace)
    record_line(workspace, line, broke=11)
    before = head(workspace)
    done = run_doit(workspace, "bisect", f"scenario={SCENARIO}")
    assert done.returncode == 0, done.output
    assert f"'{SCENARIO}' broke at iteration 11 (iter_011_patch)" in done.output
    assert "  patch: version 11 and a new wording" in done.output
    assert "  files changed: frontend/site/index.html (+1 -1), frontend/site/version.txt (+1 -1)" in done.output
    assert "  reason there: GET /index.html: body lacks 'ok'" in done.output
    assert "  last good: iteration 10 (iter_010_patch)" in done.output
    assert "stack runs: 0" in done.output
    assert head(workspace) == before and not workspace.head_file.exists()
    (finding,) = bisection.load(workspace)
    assert (finding.broke, finding.last_good, finding.stack_runs) == ("iter_011_patch", "iter_010_patch", 0)
    assert finding.files == [PAGE, "frontend/site/version.txt"]
    marked = [e.name for e in htmlreport.entries(workspace) if e.broke == [SCENARIO]]
    assert marked == ["iter_011_patch"]  # `doit report` marks it
    assert f"broke “{SCENARIO}”" in htmlreport.render(workspace)


def test_heal_takes_the_bisected_files_as_prime_suspects_while_it_matters(workspace: Workspace) -> None:
    line = site_history(workspace, length=6, broke=4)
    record_line(workspace, line, broke=4)
    assert run_doit(workspace, "bisect").returncode == 0
    findings = bisection.load(workspace)
    on_line = {it.name for it in line}
    assert bisection.prime_suspects(findings, {SCENARIO}, on_line) == {PAGE, "frontend/site/version.txt"}
    assert bisection.prime_suspects(findings, {"version answers"}, on_line) == set()  # not what broke
    assert bisection.prime_suspects(findings, {SCENARIO}, on_line - {"iter_004_patch"}) == set()  # rolled back


def test_by_default_every_scenario_failing_at_head_is_bisected(workspace: Workspace) -> None:
    line = site_history(workspace, length=6, broke=3)
    for it in line:
        record(workspace, it, "failed" if it.number >= 3 else "passed", "failed" if it.number >= 5 else "passed")
    done = run_doit(workspace, "bisect")
    assert done.returncode == 0, done.output
    assert f"'{SCENARIO}' broke at iteration 3" in done.output
    assert "'version answers' broke at iteration 5" in done.output
    both = run_doit(workspace, "bisect", f"scenario={SCENARIO}", "scenario=version answers")
    assert both.returncode == 0 and both.output.count("broke at iteration") == 2, both.output


def test_a_rolled_back_branch_is_not_walked(workspace: Workspace) -> None:
    """1 2 3 4, rollback to 2, then 5 6 on 2: the line is 1 2 5 6. A pass recorded at 4 (off the line) and the
    failures at 3 and 4 must not move the answer: 5 broke it, 2 was the last good."""
    line = site_history(workspace, length=4, broke=3)
    set_head(workspace, line[1])
    five = iteration(workspace, "patch", "break it again", {PAGE: BROKEN_PAGE})
    six = iteration(workspace, "patch", "more", {"frontend/site/version.txt": "6\n"})
    statuses: list[Status] = ["passed", "passed", "failed", "passed", "failed", "failed"]
    for it, status in zip([*line, five, six], statuses, strict=True):
        record(workspace, it, status)
    done = run_doit(workspace, "bisect", f"scenario={SCENARIO}")
    assert done.returncode == 0, done.output
    assert "broke at iteration 5 (iter_005_patch)" in done.output
    assert "last good: iteration 2 (iter_002_patch)" in done.output
    assert "stack runs: 0" in done.output
    assert workspace.head_file.read_text().strip() == six.name


def test_recorded_results_count_only_while_current(workspace: Workspace) -> None:
    """The same scenario definition (who wrote it does not matter), the same files on disk, the same images."""
    it = site_history(workspace, length=1)[0]
    record(workspace, it, "passed")
    definitions = bisect.scenarios.definitions(bisect.scenarios.load_tests(workspace.tests_path))

    def current() -> set[str]:
        return set(bisect.current_results(workspace, it, definitions, workspace.settings()))

    assert current() == {SCENARIO, "version answers"}
    workspace.tests_path.write_text(TEST_YAML.replace("kind: http", "origin: model\n  kind: http"))
    assert current() == {SCENARIO, "version answers"}  # origin is not part of the check
    workspace.tests_path.write_text(TEST_YAML.replace("[ok]", "[all ok]"))
    definitions = bisect.scenarios.definitions(bisect.scenarios.load_tests(workspace.tests_path))
    assert current() == {"version answers"}  # the other one checks something else now
    (it.path / PAGE).write_text("edited by hand\n")
    assert current() == set()  # another app
    (it.path / PAGE).write_text(OK_PAGE)
    assert current() == {"version answers"}
    (workspace.root / "genlib.toml").write_text('[runtime]\nimage_static = "nginx:1"\n')
    assert current() == set()  # another image


def test_an_app_the_registry_cannot_describe_now_has_nothing_current(workspace: Workspace) -> None:
    it = site_history(workspace, length=1)[0]
    record(workspace, it, "passed")
    page = it.path / PAGE
    page.unlink()
    page.symlink_to(workspace.tests_path)  # the registry refuses a symlink
    definitions = bisect.scenarios.definitions(bisect.scenarios.load_tests(workspace.tests_path))
    assert bisect.current_results(workspace, it, definitions, workspace.settings()) == {}


def test_results_written_by_an_older_genlib_are_never_current(workspace: Workspace) -> None:
    it = site_history(workspace, length=1)[0]
    record(workspace, it, "passed")
    data = json.loads(it.results.read_text())
    del data["basis"]
    it.results.write_text(json.dumps(data))
    definitions = bisect.scenarios.definitions(bisect.scenarios.load_tests(workspace.tests_path))
    assert bisect.current_results(workspace, it, definitions, workspace.settings()) == {}


# -- bad input: one line, an exit code, nothing moved ---------------------------------------------------------


def _one_error_line(output: str) -> str:
    errors = [line for line in output.splitlines() if line.startswith("ERROR")]
    assert len(errors) == 1 and "Traceback" not in output, output
    return errors[0]


def test_an_unknown_scenario(workspace: Workspace) -> None:
    record_line(workspace, site_history(workspace, length=3, broke=2), broke=2)
    done = run_doit(workspace, "bisect", "scenario=no such thing")
    assert done.returncode == 3
    assert "no scenario 'no such thing' in test.yaml" in _one_error_line(done.output)


def test_a_scenario_that_passes_at_head(workspace: Workspace) -> None:
    record_line(workspace, site_history(workspace, length=3, broke=2), broke=2)
    done = run_doit(workspace, "bisect", "scenario=version answers")
    assert done.returncode == 3
    assert "'version answers' passes at HEAD (iter_003_patch); nothing to bisect" in _one_error_line(done.output)


def test_a_scenario_that_never_passed_on_the_line(workspace: Workspace) -> None:
    record_line(workspace, site_history(workspace, length=3, broke=1), broke=1)
    done = run_doit(workspace, "bisect", f"scenario={SCENARIO}")
    assert done.returncode == 2
    assert f"'{SCENARIO}' never passed on HEAD's line" in _one_error_line(done.output)
    assert bisection.load(workspace) == []


def test_an_empty_history(workspace: Workspace) -> None:
    done = run_doit(workspace, "bisect")
    assert done.returncode == 3
    assert "no iterations yet" in _one_error_line(done.output)


def test_a_busy_workspace(workspace: Workspace) -> None:
    record_line(workspace, site_history(workspace, length=3, broke=2), broke=2)
    lock.acquire(workspace)
    try:
        done = run_doit(workspace, "bisect")
    finally:
        lock.release(workspace)
    assert done.returncode == 3
    assert "is busy" in _one_error_line(done.output)
