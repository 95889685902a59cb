"""Run test.yaml against the running stack; every outcome is data (`Result`, `RunReport`).

    run(ws, stack) -> RunReport         one implicit `service` check per runnable service,
                                        then every scenario of test.yaml
    record(ws, report, stack)           iterations/<head>/results.json + logs/<service>.log
    render_table(report)                the table a person scans at the end

A failure of the app (a 500, a refused connection, a Traceback in the log) is a
`failed` result; a scenario genlib could not even attempt is `error`. Neither
raises: heal reads the results, not the console.
"""

from __future__ import annotations

import textwrap
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx

from genlib import bounded, checkpoint, logscan
from genlib.app import registry
from genlib.app.dataservices import known_secrets
from genlib.app.iterations import Iteration, head
from genlib.app.registry import Entry
from genlib.checks import expect as checks
from genlib.config import Settings
from genlib.documents import scenarios
from genlib.documents.results import (
    EVIDENCE,
    STATUSES,
    Basis,
    BuildEvidence,
    Evidence,
    ExecEvidence,
    HttpEvidence,
    LogsEvidence,
    MigrationsEvidence,
    Outcome,
    Result,
    RunReport,
    SentRequest,
    ServiceEvidence,
    Status,
)
from genlib.documents.results import save as save_report
from genlib.documents.scenarios import ExecScenario, HttpScenario, LogsScenario, Scenario
from genlib.errors import GenlibError, WorkspaceError
from genlib.fsutil import atomic_write_text
from genlib.redact import redact
from genlib.stack import health, images, migrations, ports, stack_actions, upstamp
from genlib.stack.engine import Stack
from genlib.stack.health import ServiceState
from genlib.text import columns, one_line
from genlib.workspace import Workspace

if TYPE_CHECKING:
    from genlib.checks.browser import Known

EVIDENCE_LINES = 40
SETTLE_S = 1.5  # services are checked again at least this long after the first check
BODY_HEAD_CHARS = 2000
_HEADERS_KEPT = ("content-type", "content-length", "location", "www-authenticate")


# -- running -----------------------------------------------------------------------------------


def test(ws: Workspace, stack: Stack, settings: Settings | None = None) -> RunReport:
    """Run everything and record it in the HEAD iteration (what `doit test` does)."""
    report = run(ws, stack, settings)
    checkpoint.reach("test")
    record(ws, report, stack)
    return report


def run(
    ws: Workspace, stack: Stack, settings: Settings | None = None, host_ports: dict[str, int] | None = None
) -> RunReport:
    """Check every runnable service, then every scenario; raise only for bad input (test.yaml, registry).

    `settings`: the run's, with the doit variables (default: genlib.toml and the environment); `host_ports`:
    where each service answers (default: the local stack's, genlib.stack.ports; a deployed stack's for
    `doit test target=swarm`)."""
    from genlib.checks import browser  # playwright itself is imported only when a page scenario runs

    iteration = current_iteration(ws)
    reg = registry.load(ws)
    settings = settings or ws.settings()
    known = browser.Known(settings, reg, ports.load(ws) if host_ports is None else host_ports, iteration)
    comps = reg.services
    tests = scenarios.load_tests(ws.tests_path)
    scenarios.check_services(tests, set(comps), ws.tests_path)
    started, clock = datetime.now(UTC), time.monotonic()
    states = stack.states()
    stamp = upstamp.load(ws)  # why `up` could not make a container, which the engine cannot say now
    told = stamp.failed if stamp is not None else {}
    checked = [check_service(name, states.get(name), stack, told.get(name, "")) for name in sorted(comps)]
    running = {name for name, st in states.items() if st.state == "running"}
    with browser.one_browser():  # one Chromium for all page scenarios of the run
        scenario_results = run_scenarios(tests.scenarios, stack, known, running)
    time.sleep(max(0.0, clock + SETTLE_S - time.monotonic()))  # a crash a moment after `up` must show
    after = stack.states()
    checked = [recheck_service(r, states.get(r.service), after.get(r.service), stack) for r in checked]
    results = build_results(ws) + checked + scenario_results + migration_results(ws, comps)  # a failed build first
    basis = Basis(app=registry.fingerprint(reg), images=images.in_use(ws, reg, settings))  # what a rerun repeats
    return RunReport.of(iteration.name, started, time.monotonic() - clock, results, basis)


def migration_results(ws: Workspace, comps: Mapping[str, Entry]) -> list[Result]:
    """One result per database that has migrations: what the last `up` applied, or the file that failed."""
    found = []
    for service, outcome in sorted(migrations.load_state(ws).items()):
        if service not in comps:
            continue
        status: Status = "failed" if outcome.failed else "passed"
        evidence = MigrationsEvidence(applied=sorted(outcome.applied))
        if outcome.failed:
            evidence = MigrationsEvidence(applied=evidence.applied, failed=outcome.failed)
        found.append(
            Result(
                name=f"migrations {service}",
                kind="migrations",
                service=service,
                origin="genlib",
                status=status,
                reason=migrations.summary(outcome),
                evidence=evidence,
            )
        )
    return found


def current_iteration(ws: Workspace) -> Iteration:
    it = head(ws)
    if it is None:
        raise WorkspaceError(f'{ws.iterations_dir} has no iteration yet; run `doit gen desc="..."` first')
    return it


def build_results(ws: Workspace) -> list[Result]:
    """A failed image build (a package that does not exist, a conflict) is a failure of the app:
    its evidence names the dependency files and holds the build log's telling lines."""
    found = []
    for service, failure in sorted(images.load(ws).failed.items()):
        evidence = BuildEvidence(files=failure.files, build_log=failure.log)
        found.append(
            Result(
                name=f"build {service}",
                kind="build",
                service=service,
                origin="genlib",
                status="failed",
                reason=failure.reason,
                evidence=evidence,
            )
        )
    return found


def check_service(name: str, state: ServiceState | None, stack: Stack, up_said: str = "") -> Result:
    if state is not None and state.health == "unhealthy" and _slow_probe_only(stack, name):
        state = replace(state, health="healthy")  # only its probe timed out; the health path answers
    result = service_result(name, state, lambda: scan_or_note(stack, name))
    if state is None and up_said:
        return result.model_copy(update={"reason": f"service {name} {up_said}"})
    if result.status == "failed" and state is not None and state.health in ("starting", "unhealthy"):
        try:  # "never became healthy" says little; the port (and address) it listens on says why
            why = health.diagnose(stack, name)
        except GenlibError:
            why = ""
        if why:
            return result.model_copy(update={"reason": f"service {name} {why}"})
    return result


def _slow_probe_only(stack: Stack, name: str) -> bool:
    try:
        return health.slow_probe_only(stack, name)
    except GenlibError:
        return False


def service_result(name: str, state: ServiceState | None, read_logs: Callable[[], logscan.LogScan]) -> Result:
    """The implicit health check: a service must be running, not restarting, and not unhealthy."""
    with _timed() as elapsed:
        problem, detail = _service_problem(name, state)
        evidence = _state_evidence(state)
        if problem:
            log = read_logs()
            evidence = evidence.model_copy(
                update={"errors": log.error_lines(), "log_tail": _tail("\n".join(log.tail), EVIDENCE_LINES)}
            )
    status: Status = "failed" if problem else "passed"
    return Result(
        name=f"service {name}",
        kind="service",
        service=name,
        origin="genlib",
        status=status,
        reason=problem or detail,
        duration_s=elapsed(),
        evidence=evidence,
    )


def recheck_service(result: Result, before: ServiceState | None, after: ServiceState | None, stack: Stack) -> Result:
    """The service check again after the scenarios: a service that passed and has since exited or
    restarted (a worker dying on its first job) fails, with its log."""
    if result.status != "passed" or before is None:
        return result
    if after is not None and after.health == "unhealthy" and _slow_probe_only(stack, result.service):
        after = replace(after, health="healthy")  # only its probe timed out
    restarts = after.restart_count - before.restart_count if after else 0
    if after is not None and after.ok and not restarts:
        return result
    what = "has no container" if after is None else f"restarted {restarts} time(s)" if restarts else after.problem()
    checked = service_result(result.service, after, lambda: scan_or_note(stack, result.service))
    evidence = checked.evidence
    if "log_tail" not in evidence.fields():  # restarted but running again: still show why it died
        log = scan_or_note(stack, result.service)
        tail = _tail("\n".join(log.tail), EVIDENCE_LINES)
        evidence = evidence.model_copy(update={"errors": log.error_lines(), "log_tail": tail})
    reason = f"service {result.service} died during the scenarios: {what}"
    return checked.model_copy(update={"status": "failed", "reason": reason, "evidence": evidence})


def _service_problem(name: str, state: ServiceState | None) -> tuple[str, str]:
    """(problem, or '' and a description of the healthy state)."""
    if state is None:
        return f"service {name} has no container; run `doit up`", ""
    if state.state == "restarting" or state.restart_count > 0:
        return f"service {name} is restart-looping ({state.restart_count} restarts)", ""
    if not state.ok:
        return f"service {name} {state.problem()}", ""
    return "", "running" + (f", {state.health}" if state.health else "")


def _state_evidence(state: ServiceState | None) -> ServiceEvidence:
    if state is None:
        return ServiceEvidence(state=None)
    return ServiceEvidence(
        state=state.state, health=state.health, exit_code=state.exit_code, restart_count=state.restart_count
    )


def run_scenarios(items: list[Scenario], stack: Stack, known: Known, running: set[str]) -> list[Result]:
    """Results in test.yaml's order; logs scenarios run last so they see what the requests caused."""
    order = sorted(range(len(items)), key=lambda i: isinstance(items[i], LogsScenario))
    done: dict[int, Result] = {}
    for i in order:
        done[i] = run_scenario(items[i], stack, known, running)
    return [done[i] for i in range(len(items))]


def run_scenario(scenario: Scenario, stack: Stack, known: Known | None, running: set[str]) -> Result:
    """One scenario; `known` is what the run already read (None: read it from the workspace)."""
    if scenario.service not in running:
        return _result(scenario, "failed", f"service {scenario.service} is not running", 0.0, None)
    with _timed() as elapsed:
        try:
            status, reason, evidence = _attempt(scenario, stack, known)
        except GenlibError as exc:  # the engine could not even ask (daemon gone, exec refused)
            status, reason, evidence = "error", str(exc), None
        except Exception as exc:
            status, reason, evidence = "error", f"genlib could not run it: {type(exc).__name__}: {exc}", None
    return _result(scenario, status, reason, elapsed(), evidence)


def _attempt(scenario: Scenario, stack: Stack, known: Known | None) -> Outcome:
    if isinstance(scenario, HttpScenario):
        host_ports = known.host_ports if known else ports.load(stack.ws)
        return run_http(scenario, host_ports.get(scenario.service))
    if isinstance(scenario, LogsScenario):
        return run_logs(scenario, stack)
    if scenario.kind == "page":
        from genlib.checks import browser  # playwright is an optional extra, imported only for page scenarios

        return browser.check_page(scenario, stack.ws, known)
    return run_exec(scenario, stack)


def _result(scenario: Scenario, status: Status, reason: str, duration: float, evidence: Evidence | None) -> Result:
    return Result(
        name=scenario.name,
        kind=scenario.kind,
        service=scenario.service,
        origin=scenario.origin,
        status=status,
        reason=reason,
        duration_s=duration,
        evidence=EVIDENCE[scenario.kind]() if evidence is None else evidence,
        definition=scenarios.definition(scenario),
    )


def _verdict(problems: list[str], passed: str) -> tuple[Status, str]:
    return ("failed", "; ".join(problems)) if problems else ("passed", passed)


# -- the three kinds ----------------------------------------------------------------------------


def run_http(scenario: HttpScenario, host_port: int | None) -> Outcome:
    req = scenario.request
    if not host_port:
        return "error", f"service {scenario.service} publishes no port; an http scenario needs one", None
    url = f"http://127.0.0.1:{host_port}{req.path}"
    evidence = HttpEvidence(request=SentRequest(method=req.method, url=url))
    timeout = httpx.Timeout(scenario.timeout, connect=min(5.0, scenario.timeout))
    deadline = time.monotonic() + scenario.timeout
    try:
        with (
            httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client,
            client.stream(req.method, url, headers=req.headers, **_body(scenario)) as resp,
        ):  # streamed: a huge or endless body is read up to a bound, never whole
            raw, cut = bounded.read_head(resp.iter_bytes(), deadline=deadline)
    except httpx.TimeoutException:
        return "failed", f"{req.method} {req.path}: no answer within {scenario.timeout:g}s", evidence
    except httpx.HTTPError as exc:
        return "failed", f"{req.method} {req.path}: {one_line(str(exc)) or type(exc).__name__}", evidence
    text = raw.decode(resp.encoding or "utf-8", errors="replace")
    problems, found = checks.check_http(scenario.expect, resp.status_code, text)
    seen: dict[str, object] = {"status": resp.status_code, "headers": _kept_headers(resp.headers)}
    seen["body_head"] = text[:BODY_HEAD_CHARS]
    if cut:
        seen["body_cut"] = f"only the first {len(raw)} bytes were read"
    if found:
        seen["found"] = found
    evidence = evidence.model_copy(update=seen)
    status, reason = _verdict(problems, f"{req.method} {req.path} -> {resp.status_code}")
    return status, reason, evidence


def _body(scenario: HttpScenario) -> dict[str, Any]:
    req = scenario.request
    if req.body is not None:
        return {"content": req.body.encode("utf-8")}
    if "json_body" in req.model_fields_set:  # `json: {}` and `json: null` are bodies too
        return {"json": req.json_body}
    return {}


def _kept_headers(headers: httpx.Headers) -> dict[str, str]:
    return {name: headers[name] for name in _HEADERS_KEPT if name in headers}


def run_logs(scenario: LogsScenario, stack: Stack) -> Outcome:
    """The whole log of the stack under test (log_window), streamed: an ERROR 25,000 lines up fails the scenario,
    one printed before the fix that brought this stack up does not."""
    window = stack_actions.log_window(stack, scenario.service)
    log = _scan_until_present(scenario, stack, window)
    problems = []
    if log.forbidden_count:
        hits = ", ".join(repr(p) for p in scenario.must_not_contain if p in log.forbidden_hits)
        problems.append(f"log has {hits} ({log.forbidden_count} line(s))")
    waited = f" (waited {scenario.within:g}s)" if scenario.within and not log.forbidden_count else ""
    problems += [f"log lacks {p!r}{waited}" for p in scenario.must_contain if p not in log.found]
    head = {"log_head": "\n".join(log.head)} if log.lines > EVIDENCE_LINES else {}
    evidence = LogsEvidence(
        window=window.says,
        matched=log.forbidden or log.matched,
        errors=log.error_lines(),
        **head,
        log_tail=_tail("\n".join(log.tail), EVIDENCE_LINES),
    )
    status, reason = _verdict(problems, f"{log.lines} log line(s) checked")
    return status, reason, evidence  # the window is evidence, not reason: heal compares reasons round to round


def _scan_until_present(scenario: LogsScenario, stack: Stack, window: stack_actions.LogWindow) -> logscan.LogScan:
    """The log, re-read for up to `within` seconds while a must_contain line is missing (a worker's
    first line may come a moment after `up`); a forbidden line ends the wait at once."""
    deadline = time.monotonic() + scenario.within
    while True:
        lines = stack.log_lines(scenario.service, window.since)
        log = logscan.scan(lines, scenario.must_not_contain, scenario.must_contain)
        missing = set(scenario.must_contain) - log.found
        if not missing or log.forbidden_count or time.monotonic() >= deadline:
            return log
        time.sleep(1.0)


def run_exec(scenario: ExecScenario, stack: Stack) -> Outcome:
    """The command as written (`python` is python3 in the offline image too: python-is-python3)."""
    code, output = stack.exec(scenario.service, list(scenario.command), scenario.timeout)
    problems = checks.check_exec(scenario.expect, code, output)
    evidence = ExecEvidence(command=list(scenario.command), exit_code=code, output_tail=_tail(output, EVIDENCE_LINES))
    status, reason = _verdict(problems, f"exit code {code}")
    return status, reason, evidence


# -- recording and showing ------------------------------------------------------------------------


def record(ws: Workspace, report: RunReport, stack: Stack) -> Iteration:
    """results.json and each service's log digest (head, error-like lines from anywhere, tail)."""
    it = current_iteration(ws)
    services = sorted({r.service for r in report.results if r.kind == "service"})
    known = known_secrets(ws)  # the database password, should an app print it
    windows = {name: stack_actions.log_window(stack, name) for name in services}
    write_logs(it, {name: redact(scan_or_note(stack, name, w).digest(w.says), known) for name, w in windows.items()})
    kept = [r.redacted(known) for r in report.results]  # results are frozen: results.json keeps the copies
    write_results(it, report.model_copy(update={"results": kept}))
    return it


def write_logs(it: Iteration, logs: Mapping[str, str]) -> None:
    for name, text in sorted(logs.items()):
        atomic_write_text(it.logs_dir / f"{name}.log", text)
    for stale in it.logs_dir.glob("*.log") if it.logs_dir.is_dir() else []:
        if stale.stem not in logs:  # a service that no longer exists would mislead heal
            stale.unlink()


def write_results(it: Iteration, report: RunReport) -> None:
    save_report(it.results, report)


def scan_or_note(stack: Stack, service: str, window: stack_actions.LogWindow | None = None) -> logscan.LogScan:
    """The service's whole log (since `window`) scanned; a log that cannot be read is one line saying why."""
    try:
        return logscan.scan(stack.log_lines(service, window.since if window else None))
    except GenlibError as exc:
        return logscan.scan([("", f"(genlib: no logs: {exc})")])


_MARKS = {"passed": "pass", "failed": "FAIL", "skipped": "skip", "error": "ERROR"}


def render_table(report: RunReport, width: int = 120, allow_skipped: bool = False) -> str:
    rows = [(_MARKS[r.status], r.name, r.service, f"{r.duration_s:.1f}s", r.reason) for r in report.results]
    table = [("STATUS", "SCENARIO", "SERVICE", "TIME", "REASON"), *rows]
    aligned = columns([row[:4] for row in table])
    room = max(len(line) for line in aligned)
    lines = []
    for line, row in zip(aligned, table, strict=True):
        lines += _wrapped(line.ljust(room) + "  ", one_line(row[4]), width)
    return "\n".join([*lines, summary_line(report, allow_skipped)])


def _wrapped(cells: str, reason: str, width: int) -> list[str]:
    """The whole reason, never cut: wrapped under the REASON column, or from a small indent when the
    column leaves too little room."""
    room = width - len(cells)
    if len(reason) <= room:
        return [cells + reason]
    indent = " " * len(cells) if room >= 40 else "    "
    wrapped = textwrap.wrap(reason, width - len(indent), break_long_words=True, break_on_hyphens=False)
    if room >= 40:
        return [cells + wrapped[0], *(indent + part for part in wrapped[1:])]
    return [cells.rstrip(), *(indent + part for part in wrapped)]


def green(report: RunReport, allow_skipped: bool) -> bool:
    """Nothing failed, and nothing was skipped (a page with no browser is not a passed page) unless allowed."""
    return report.ok and (allow_skipped or not report.summary["skipped"])


def summary_line(report: RunReport, allow_skipped: bool = False) -> str:
    counts = report.summary
    parts = [f"{counts[s]} {s}" for s in STATUSES if counts[s] or s == "passed"]
    verdict = "FAILED" if not report.ok else "OK" if green(report, allow_skipped) else "INCOMPLETE"
    return f"{verdict}: {', '.join(parts)} of {len(report.results)} in {report.duration_s:.1f}s ({report.iteration})"


def failure_message(ws: Workspace, report: RunReport) -> str:
    results = current_iteration(ws).results.relative_to(ws.root)
    if report.ok:  # not green only because scenarios were skipped
        skipped = report.summary["skipped"]
        return f"{skipped} of {len(report.results)} scenarios skipped (reasons above); allow_skipped=1 accepts that"
    return f"{len(report.failing)} of {len(report.results)} scenarios failed; see {results}"


# -- small helpers ---------------------------------------------------------------------------------


@contextmanager
def _timed() -> Iterator[Callable[[], float]]:
    start = time.monotonic()
    end: list[float] = []
    yield lambda: (end[0] if end else time.monotonic()) - start
    end.append(time.monotonic())


def _tail(text: str, lines: int) -> str:
    return "\n".join(text.splitlines()[-lines:])
