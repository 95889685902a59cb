"""`doit bisect [scenario=NAME]...`: the iteration that broke a scenario, found from the history.

    line       HEAD's lineage (parent links), oldest first: a rolled-back branch is never walked
    known      the results recorded at an iteration that are still current (RunReport.current): the scenario
               defined as test.yaml defines it now, the same app, the same images a run now would have
    search     binary search for the step from pass to fail after the newest known pass; the stack runs only
               at iterations with nothing current recorded, about log2 of the line's length times
    put back   HEAD (app.lent_head, even on Ctrl-C) and the stack: up at HEAD when it was up, else down

A stack run moves HEAD to the iteration and runs the graph there (tasks.doit_run): the graph targets HEAD by
design, so doit sees the move and rebuilds only what differs, images stay cached, and the run records its
results.json like any `doit` does, for the next bisect to reuse.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from genlib.app import lent_head, registry, trees
from genlib.app.iterations import Iteration, set_head, up_to_head
from genlib.config import Settings
from genlib.documents import bisection, results, scenarios
from genlib.documents.bisection import Finding
from genlib.documents.results import Basis, Result
from genlib.errors import BisectError, ConfigError, GenlibError, NothingToBisect
from genlib.stack import images
from genlib.tasks import doit_run
from genlib.text import one_line
from genlib.workspace import Workspace

Say = Callable[[str], None]


def run(ws: Workspace, names: list[str], variables: dict[str, str], say: Say = print) -> int:
    """Bisect `names` (default: every scenario failing at HEAD), print what broke each, record it; 0 when found."""
    line = up_to_head(ws)
    if not line:
        raise NothingToBisect('no iterations yet; run `doit gen desc="..."` and `doit` first')
    definitions = scenarios.definitions(scenarios.load_tests(ws.tests_path))
    unknown = [name for name in names if name not in definitions]
    if unknown:
        have = ", ".join(repr(n) for n in definitions) or "none"
        raise ConfigError(f"no scenario {unknown[0]!r} in test.yaml (have: {have}); name one with scenario=NAME")
    probe = Probe(ws, line, definitions, ws.settings(variables), variables, say)
    try:
        with lent_head.lent(ws):
            findings, never = bisect_all(probe, names)
    finally:
        probe.put_back()
    bisection.record(ws, findings)
    for finding in findings:
        say(describe(ws, finding, line))
    say(
        f"stack runs: {len(probe.runs)}"
        + (f" (at {', '.join(str(it.number) for it in probe.runs)})" if probe.runs else "")
    )
    if never:
        raise BisectError(
            f"{never[0]!r} never passed on HEAD's line (it fails at {line[0].name}, the first); nothing broke it"
        )
    return 0


def bisect_all(probe: Probe, names: list[str]) -> tuple[list[Finding], list[str]]:
    """The finding of each scenario, and the scenarios that never passed on the line."""
    at_head = probe.all_at(len(probe.line) - 1)
    failing = [name for name in probe.definitions if name in at_head and not passed(at_head[name])]
    for name in names:
        if name not in failing:
            raise NothingToBisect(f"{name!r} passes at HEAD ({probe.line[-1].name}); nothing to bisect")
    if not failing:
        raise NothingToBisect(f"every scenario passes at HEAD ({probe.line[-1].name}); nothing to bisect")
    findings, never = [], []
    for name in names or failing:
        good, bad = search(len(probe.line), probe.known(name), probe.passes(name))
        if good < 0:
            never.append(name)
        else:
            findings.append(probe.finding(name, good, bad))
    return findings, never


def search(length: int, known: Mapping[int, bool], passes: Callable[[int], bool]) -> tuple[int, int]:
    """(last good, first bad) positions on a line whose last position fails: the step after the newest known
    pass, found by halving what lies between it and the oldest known failure after it. `known`: position ->
    passed; -1 for last good means it fails at the first position too (it never passed)."""
    bad = length - 1
    good = max((i for i, ok in known.items() if ok and i < bad), default=-1)
    bad = min((i for i, ok in known.items() if not ok and good < i <= bad), default=bad)
    while bad - good > 1:
        middle = (good + bad) // 2
        if passes(middle):
            good = middle
        else:
            bad = middle
    return good, bad


def passed(result: Result) -> bool:
    return result.status == "passed"


@dataclass
class Probe:
    """The scenarios' results at each iteration of the line: recorded ones while current, else a stack run."""

    ws: Workspace
    line: list[Iteration]
    definitions: dict[str, str]
    settings: Settings
    variables: dict[str, str]
    say: Say
    runs: list[Iteration] = field(default_factory=list)
    was_up: bool | None = None  # asked before the first stack run
    touched: bool = False  # a stack run got as far as the stack: putting back means `down` when it was not up
    seen: dict[int, dict[str, Result]] = field(default_factory=dict)

    def known(self, name: str) -> dict[int, bool]:
        """Position -> passed, wherever a current result of `name` is at hand (nothing is run)."""
        found = {i: self.recorded(i) for i in range(len(self.line))}
        return {i: passed(res[name]) for i, res in found.items() if name in res}

    def all_at(self, position: int) -> dict[str, Result]:
        """Every scenario's result at the position: recorded when all are current, else from a stack run."""
        found = self.recorded(position)
        return found if set(self.definitions) <= set(found) else self.run_at(position)

    def passes(self, name: str) -> Callable[[int], bool]:
        return lambda position: passed(self.status(position, name))

    def status(self, position: int, name: str) -> Result:
        found = self.recorded(position).get(name) or self.run_at(position).get(name)
        if found is None:
            raise BisectError(f"the test at {self.line[position].name} has no result for {name!r}; run `doit test`")
        return found

    def recorded(self, position: int) -> dict[str, Result]:
        if position not in self.seen:
            self.seen[position] = current_results(self.ws, self.line[position], self.definitions, self.settings)
        return self.seen[position]

    def run_at(self, position: int) -> dict[str, Result]:
        """Run the stack with HEAD at the iteration (lent_head gives it back) and read what the test recorded."""
        it = self.line[position]
        if self.was_up is None:
            from genlib.stack import stack_actions  # the Docker SDK: only once the stack must run

            self.was_up = stack_actions.stack_running(self.ws)
        self.runs.append(it)
        self.say(f"bisect: stack run {len(self.runs)}, at {it.name}")
        set_head(self.ws, it)
        begun = datetime.now(UTC).replace(microsecond=0)
        self._graph(list(doit_run.BUILD_TASKS), it)  # its files; no container touched yet
        self.touched = True
        doit_run.run(self.ws, ["forget", "test"])  # test runs even where doit would find it up to date
        code = self._graph(["test"], it, allowed=(0, 1))
        report = results.load(it.results)
        if report is None or report.iteration != it.name or report.started < begun:
            raise BisectError(f"the test at {it.name} recorded no results (doit exit {code}, above); fix that first")
        self.seen[position] = {r.name: r for r in report.results if r.name in self.definitions}
        return self.seen[position]

    def _graph(self, tasks: list[str], it: Iteration, allowed: tuple[int, ...] = (0,)) -> int:
        code = doit_run.run(self.ws, tasks, self.variables)
        if code not in allowed:
            raise BisectError(f"the graph failed at {it.name} (doit exit {code}, above); fix that first")
        return code

    def put_back(self) -> None:
        """The stack as it was found, at HEAD (already given back): up when it was up, else down. Best effort: a
        failure here says so on one line and leaves the bisect's own outcome (or Ctrl-C) to be reported."""
        if not self.runs:
            return  # nothing moved
        # `up` rebuilds HEAD's files on its way; `down` only when a stack run may have brought the stack up
        tasks = ["up"] if self.was_up else (["down"] if self.touched else []) + list(doit_run.BUILD_TASKS)
        self.say(f"bisect: putting the stack back ({'up' if self.was_up else 'down'} at HEAD)")
        try:
            code = doit_run.run(self.ws, tasks, self.variables)
        except GenlibError as exc:
            code, why = 2, str(exc)
        else:
            why = f"doit exit {code}"
        if code != 0:
            self.say(f"bisect: the stack could not be put back ({why}); run `doit` (or `doit down`) to settle it")

    def finding(self, name: str, good: int, bad: int) -> Finding:
        broke, last_good = self.line[bad], self.line[good]
        return Finding(
            scenario=name,
            broke=broke.name,
            last_good=last_good.name,
            reason=self.status(bad, name).reason,
            files=[str(c.path) for c in changed(self.ws, last_good, broke)],
            head=self.line[-1].name,
            found=datetime.now(UTC).replace(microsecond=0),
            stack_runs=len(self.runs),
        )


def current_results(
    ws: Workspace, it: Iteration, definitions: Mapping[str, str], settings: Settings
) -> dict[str, Result]:
    """The scenarios' results recorded at `it` that a run now would repeat (none when nothing is recorded)."""
    try:
        report = results.load(it.results)
    except GenlibError:
        return {}  # a damaged file is as good as none: the stack runs there
    if report is None or report.iteration != it.name or report.basis is None:
        return {}
    try:
        now = basis_now(ws, it, settings)
    except GenlibError:
        return {}  # an app the registry cannot describe now: a stack run there says why
    return report.current(now, definitions)


def basis_now(ws: Workspace, it: Iteration, settings: Settings) -> Basis:
    """What a run at `it` would test now: its app (files as on disk) and the images it would get."""
    reg = registry.build(ws, upto=it)
    return Basis(app=registry.fingerprint(reg), images=images.planned(ws, reg, settings))


def changed(ws: Workspace, before: Iteration, after: Iteration) -> list[trees.Change]:
    try:
        return trees.changes(trees.effective_tree(ws, before), trees.effective_tree(ws, after))
    except GenlibError:
        return []  # not materialized: the finding still names the iteration


def describe(ws: Workspace, finding: Finding, line: list[Iteration]) -> str:
    by_name = {it.name: it for it in line}
    broke, good = by_name[finding.broke], by_name[finding.last_good]
    changes = changed(ws, good, broke)
    return "\n".join(
        [
            f"{finding.scenario!r} broke at iteration {broke.number} ({broke.name})",
            f"  {broke.kind}: {_description(broke)}",
            f"  files changed: {', '.join(str(c) for c in changes) or 'none'}",
            f"  reason there: {one_line(finding.reason, 200)}",
            f"  last good: iteration {good.number} ({good.name})",
        ]
    )


def _description(it: Iteration) -> str:
    try:
        return one_line(it.desc.read_text(encoding="utf-8"), 100)
    except OSError:
        return "(no desc.txt)"
