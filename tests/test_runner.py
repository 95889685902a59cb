"""The scenario runner without Docker: expectation matching, HTTP against a real loopback
server, the implicit service check, results.json and the table."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from conftest import BASE_IMAGE, add_iteration, notes_variant, run_doit, wait_for_base_image

from genlib import logscan
from genlib.app.iterations import Iteration, head
from genlib.checks import expect as checks
from genlib.checks import runner
from genlib.documents.results import HttpEvidence, Result, RunReport, ServiceEvidence
from genlib.documents.scenarios import (
    ExecExpect,
    HttpExpect,
    HttpScenario,
    LogsScenario,
    TestFile,
    merge_model_scenarios,
    parse_scenarios,
    save_tests,
)
from genlib.stack import stack_actions, upstamp
from genlib.stack.engine import Stack
from genlib.stack.health import ServiceState
from genlib.workspace import Workspace

# -- dotted JSON paths and matching --------------------------------------------------------------


DOC = {"user": {"name": "Ada", "tags": ["x", "y"], "active": True}, "items": [{"id": 7}], "count": 1}


@pytest.mark.parametrize(
    ("path", "value"),
    [("user.name", "Ada"), ("user.tags.1", "y"), ("user.tags.-1", "y"), ("items.0.id", 7), ("count", 1)],
)
def test_json_path_follows_keys_and_indexes(path: str, value: object) -> None:
    assert checks.json_path(DOC, path) == value


@pytest.mark.parametrize(
    ("path", "walked"), [("user.email", "user.email"), ("items.3.id", "items.3"), ("count.x", "count.x")]
)
def test_json_path_names_the_first_missing_step(path: str, walked: str) -> None:
    with pytest.raises(KeyError) as info:
        checks.json_path(DOC, path)
    assert info.value.args[0] == walked


def test_a_list_body_is_reached_by_index() -> None:
    assert checks.json_path([{"text": "hello"}], "0.text") == "hello"


def test_expected_mapping_is_a_subset_and_bools_are_not_numbers() -> None:
    assert checks.matches({"name": "Ada"}, DOC["user"])
    assert not checks.matches({"name": "Bob"}, DOC["user"])
    assert not checks.matches({"name": "Ada"}, "Ada")
    assert not checks.matches(1, True)
    assert not checks.matches(True, 1)
    assert checks.matches(["x", "y"], ["x", "y"])
    assert not checks.matches(["x"], ["x", "y"])


# -- the three kinds' expectations ---------------------------------------------------------------


def test_http_expectations_all_hold() -> None:
    expect = HttpExpect.model_validate({"status": 200, "body_contains": ["Ada"], "json": {"user.name": "Ada"}})
    problems, found = checks.check_http(expect, 200, json.dumps(DOC))
    assert problems == []
    assert found == {"user.name": "Ada"}


def test_http_problems_are_listed_each() -> None:
    expect = HttpExpect.model_validate(
        {"status": 201, "body_contains": ["Grace"], "json": {"user.name": "Grace", "user.age": 3}}
    )
    problems, found = checks.check_http(expect, 200, json.dumps(DOC))
    assert problems == [
        "status 200, expected 201",
        "body lacks 'Grace'",
        'json user.name: expected "Grace", got "Ada"',
        "json user.age: missing (user.age not found)",
    ]
    assert found == {"user.name": "Ada"}


def test_json_fields_on_a_non_json_body() -> None:
    expect = HttpExpect.model_validate({"json": {"status": "ok"}})
    assert checks.check_http(expect, 200, "<html>")[0] == ["body is not JSON"]


def test_exec_expectations() -> None:
    expect = ExecExpect(exit_code=0, output_contains=["ready"])
    assert checks.check_exec(expect, 0, "all ready\n") == []
    assert checks.check_exec(expect, 2, "boom") == ["exit code 2, expected 0", "output lacks 'ready'"]


# -- the implicit service check -------------------------------------------------------------------


def _state(state: str = "running", health: str | None = None, exit_code: int = 0, restarts: int = 0) -> ServiceState:
    return ServiceState("notes-api", "c0ffee", state, health, exit_code, restarts)


def test_a_running_healthy_service_passes_without_reading_logs() -> None:
    read: list[bool] = []
    result = runner.service_result("notes-api", _state(health="healthy"), lambda: read.append(True) or logscan.scan([]))
    assert (result.status, result.reason, result.origin, result.kind) == (
        "passed",
        "running, healthy",
        "genlib",
        "service",
    )
    assert read == []
    assert "log_tail" not in result.evidence.fields()


@pytest.mark.parametrize(
    ("state", "reason"),
    [
        (_state("exited", exit_code=1), "service notes-api exited with code 1"),
        (_state("running", restarts=4), "service notes-api is restart-looping (4 restarts)"),
        (_state("restarting", exit_code=1, restarts=1), "service notes-api is restart-looping (1 restarts)"),
        (_state("running", health="unhealthy"), "service notes-api is unhealthy"),
        (None, "service notes-api has no container; run `doit up`"),
    ],
)
def test_a_dead_service_fails_with_its_log_tail(state: ServiceState | None, reason: str) -> None:
    log = [("", f"line {n}") for n in range(100)] + [("", "RuntimeError: boom")]
    result = runner.service_result("notes-api", state, lambda: logscan.scan(log))
    assert result.status == "failed"
    assert result.reason == reason
    assert isinstance(result.evidence, ServiceEvidence) and result.evidence.log_tail is not None
    tail = result.evidence.log_tail.splitlines()
    assert tail[-1] == "RuntimeError: boom"
    assert result.evidence.errors == ["[1x] RuntimeError: boom"]
    assert len(tail) == runner.EVIDENCE_LINES


def test_a_recheck_keeps_what_still_holds(workspace: Workspace) -> None:
    passed = runner.service_result("notes-api", _state(health="healthy"), lambda: logscan.scan([]))
    failed = runner.service_result("notes-api", _state("exited", exit_code=1), lambda: logscan.scan([]))
    stack = Stack(workspace)  # not asked: nothing changed
    assert runner.recheck_service(passed, _state(health="healthy"), _state(health="healthy"), stack) is passed
    assert runner.recheck_service(failed, _state("exited"), _state("exited"), stack) is failed


def test_a_scenario_on_a_dead_service_fails_at_once(workspace: Workspace) -> None:
    scenario = LogsScenario(name="api logs", kind="logs", service="notes-api")
    result = runner.run_scenario(scenario, Stack(workspace), None, running=set())
    assert (result.status, result.reason) == ("failed", "service notes-api is not running")


# -- HTTP against a real server on loopback ---------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/slow":
            time.sleep(1.5)
        if self.path == "/broken":
            return self._send(500, "text/plain", b"Internal Server Error")
        self._send(200, "application/json", json.dumps({"user": {"name": "Ada"}, "path": self.path}).encode())

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        echo = {"got": body.decode(), "type": self.headers.get("Content-Type"), "token": self.headers.get("X-Token")}
        self._send(201, "application/json", json.dumps(echo).encode())

    def _send(self, status: int, kind: str, body: bytes) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("X-Internal", "not kept")
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up: that is the timeout test

    def log_message(self, format: str, *args: object) -> None:  # keep pytest's output clean
        pass


@pytest.fixture
def server_port() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def _http(**fields: object) -> HttpScenario:
    return HttpScenario.model_validate({"name": "probe", "kind": "http", "service": "notes-api", **fields})


def test_http_passes_with_evidence(server_port: int) -> None:
    scenario = _http(request={"path": "/me"}, expect={"json": {"user.name": "Ada"}, "body_contains": ["/me"]})
    status, reason, evidence = runner.run_http(scenario, server_port)
    assert (status, reason) == ("passed", "GET /me -> 200")
    assert isinstance(evidence, HttpEvidence) and evidence.headers is not None
    assert evidence.status == 200
    assert evidence.found == {"user.name": "Ada"} and evidence.fields()["json"] == {"user.name": "Ada"}
    assert evidence.headers["content-type"] == "application/json"
    assert "x-internal" not in evidence.headers
    assert evidence.fields()["request"] == {"method": "GET", "url": f"http://127.0.0.1:{server_port}/me"}


def test_http_500_fails_with_status_and_body(server_port: int) -> None:
    status, reason, evidence = runner.run_http(_http(request={"path": "/broken"}), server_port)
    assert (status, reason) == ("failed", "status 500, expected 200")
    assert isinstance(evidence, HttpEvidence)
    assert evidence.status == 500
    assert evidence.body_head == "Internal Server Error"


def test_http_sends_json_body_and_headers(server_port: int) -> None:
    scenario = _http(
        request={"method": "POST", "path": "/notes", "json": {}, "headers": {"X-Token": "t1"}},
        expect={"status": 201, "json": {"got": "{}", "type": "application/json", "token": "t1"}},
    )
    assert runner.run_http(scenario, server_port)[:2] == ("passed", "POST /notes -> 201")


def test_http_sends_a_raw_body(server_port: int) -> None:
    scenario = _http(
        request={"method": "POST", "path": "/", "body": "a=1"}, expect={"status": 201, "json": {"got": "a=1"}}
    )
    assert runner.run_http(scenario, server_port)[0] == "passed"


def test_http_timeout_is_a_failure_not_a_hang(server_port: int) -> None:
    status, reason, _ = runner.run_http(_http(request={"path": "/slow"}, timeout=0.5), server_port)
    assert (status, reason) == ("failed", "GET /slow: no answer within 0.5s")


def test_http_refused_connection_is_a_failure(refused_port: int) -> None:
    status, reason, _ = runner.run_http(_http(), refused_port)
    assert status == "failed"
    assert reason.startswith("GET /: ")


def test_http_on_a_service_without_port_is_an_error() -> None:
    status, reason, _ = runner.run_http(_http(service="digest-workers"), None)
    assert (status, reason) == ("error", "service digest-workers publishes no port; an http scenario needs one")


# -- results.json, logs/ and the table ----------------------------------------------------------------


def _result(
    name: str, kind: str, service: str, origin: str, status: str, reason: str, duration: float, **kw: Any
) -> Result:
    data = {"name": name, "kind": kind, "service": service, "origin": origin, "status": status, "reason": reason}
    return Result.model_validate({**data, "duration_s": duration, **kw})


def _report() -> RunReport:
    results = [
        _result("service notes-api", "service", "notes-api", "genlib", "passed", "running, healthy", 0.01),
        _result(
            "list notes",
            "http",
            "notes-api",
            "model",
            "failed",
            "status 500, expected 200",
            0.123,
            evidence={"status": 500},
        ),
        _result("worker file", "exec", "digest-workers", "user", "error", "cannot exec python3 in digest-workers", 2),
    ]
    return RunReport.of("iter_001_notes", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), 2.5, results)


def test_report_summary_and_verdict() -> None:
    report = _report()
    assert report.summary == {"passed": 1, "failed": 1, "skipped": 0, "error": 1}
    assert not report.ok
    assert [r.name for r in report.failing] == ["list notes", "worker file"]
    assert RunReport.of("x", report.started, 0.0, report.results[:1]).ok


@pytest.fixture
def iteration(workspace: Workspace) -> Iteration:
    add_iteration(workspace, "iter_001_notes", "notes")
    it = head(workspace)
    assert it is not None
    return it


def test_results_json_has_the_shared_shape(iteration: Iteration) -> None:
    runner.write_results(iteration, _report())
    data = json.loads(iteration.results.read_text())
    assert data["format"] == "genlib.results/1"
    assert data["iteration"] == "iter_001_notes"
    assert data["started"] == "2026-01-02T03:04:05+00:00"
    assert data["duration_s"] == 2.5
    assert data["summary"] == {"passed": 1, "failed": 1, "skipped": 0, "error": 1}
    assert data["results"][1] == {
        "name": "list notes",
        "kind": "http",
        "service": "notes-api",
        "origin": "model",
        "status": "failed",
        "reason": "status 500, expected 200",
        "duration_s": 0.123,
        "evidence": {"status": 500},
    }
    assert list(iteration.path.glob(".results.json.*")) == []  # no temp file left behind


def test_log_tails_replace_those_of_services_gone(iteration: Iteration) -> None:
    runner.write_logs(iteration, {"notes-api": "a\n", "old-api": "b\n"})
    runner.write_logs(iteration, {"notes-api": "c\n", "digest-workers": "d\n"})
    assert sorted(p.name for p in iteration.logs_dir.iterdir()) == ["digest-workers.log", "notes-api.log"]
    assert (iteration.logs_dir / "notes-api.log").read_text() == "c\n"


def test_table_lines_up_and_ends_with_a_summary() -> None:
    report = _report()
    long = report.results[1].model_copy(
        update={"reason": "status 500, expected 200;\n  body lacks 'hello' " + "x" * 200}
    )
    report = report.model_copy(update={"results": [report.results[0], long, report.results[2]]})
    lines = runner.render_table(report).splitlines()
    assert lines[0].split() == ["STATUS", "SCENARIO", "SERVICE", "TIME", "REASON"]
    assert [line.split()[0] for line in lines[1:3]] == ["pass", "FAIL"] and lines[6].split()[0] == "ERROR"
    reason_column = lines[0].index("REASON")
    assert all(line[reason_column - 2 : reason_column] == "  " for line in lines[:3])
    assert lines[2][reason_column:].startswith("status 500, expected 200; body lacks 'hello' xxx")
    assert max(len(line) for line in lines) <= 120
    assert lines[3].startswith(" " * reason_column) and lines[3].strip().startswith("xxx")  # wrapped, not cut
    shown = "".join(line[reason_column:] for line in lines[2:6])
    assert "x" * 200 in shown.replace(" ", "")
    assert "…" not in "".join(lines)
    assert lines[-1] == "FAILED: 1 passed, 1 failed, 1 error of 3 in 2.5s (iter_001_notes)"


def test_a_skipped_scenario_is_not_green_unless_allowed(iteration: Iteration, workspace: Workspace) -> None:
    """A page scenario with no browser was never checked: the run says so and fails, unless allow_skipped=1."""
    report = _report()
    skipped = report.results[0].model_copy(update={"status": "skipped", "reason": "no browser"})
    report = report.model_copy(update={"results": [skipped]})
    assert report.ok and not runner.green(report, allow_skipped=False) and runner.green(report, allow_skipped=True)
    assert runner.summary_line(report).startswith("INCOMPLETE: 0 passed, 1 skipped of 1")
    assert runner.summary_line(report, allow_skipped=True).startswith("OK: 0 passed, 1 skipped of 1")
    assert runner.failure_message(workspace, report) == (
        "1 of 1 scenarios skipped (reasons above); allow_skipped=1 accepts that"
    )


def test_failure_message_points_at_results(iteration: Iteration, workspace: Workspace) -> None:
    assert runner.failure_message(workspace, _report()) == (
        "2 of 3 scenarios failed; see iterations/iter_001_notes/results.json"
    )


def test_results_written_atomically_replace_the_old(iteration: Iteration) -> None:
    runner.write_results(iteration, _report())
    first = Path(iteration.results).read_text()
    report = _report()
    runner.write_results(iteration, report.model_copy(update={"results": report.results[:1]}))
    assert json.loads(iteration.results.read_text())["summary"]["passed"] == 1
    assert first != iteration.results.read_text()


# -- end to end, on the real engine -----------------------------------------------------------------


@pytest.fixture
def deploy(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str | Path], Stack]]:
    """Iteration, test.yaml (the app's scenarios, as the model proposed them) and the graph up to compose;
    the stack is always taken down afterwards."""
    wait_for_base_image()
    for runtime in ("PYTHON", "NODE", "STATIC"):
        monkeypatch.setenv(f"GENLIB_IMAGE_{runtime}", BASE_IMAGE)
    stack = Stack(workspace, up_timeout=90)

    def prepare(app: str | Path) -> Stack:
        folder = add_iteration(workspace, "iter_001_notes", app)
        proposed = parse_scenarios(json.loads((folder / "llm_output.json").read_text())["answer"]["scenarios"])
        save_tests(workspace.tests_path, merge_model_scenarios(TestFile(), proposed, "iter_001_notes")[0])
        graph = run_doit(workspace, "compose")
        assert graph.returncode == 0, graph.output
        return stack

    yield prepare
    stack.down()


def _results(ws: Workspace) -> dict[str, dict[str, object]]:
    data = json.loads((ws.iterations_dir / "iter_001_notes" / "results.json").read_text())
    return {r["name"]: r for r in data["results"]}


@pytest.mark.docker
def test_the_notes_app_passes_all_its_scenarios(workspace: Workspace, deploy: Callable[[str | Path], Stack]) -> None:
    stack = deploy("notes")
    assert stack.up().ok
    report = runner.test(workspace, stack)
    assert report.ok, runner.render_table(report)
    kinds = sorted(r.kind for r in report.results)
    assert kinds == ["exec", "http", "http", "http", "http", "logs", "logs", "service", "service", "service"]
    results = _results(workspace)
    assert results["list notes"]["evidence"]["status"] == 200  # type: ignore[index]
    assert results["list notes"]["origin"] == "model"
    logs_dir = workspace.iterations_dir / "iter_001_notes" / "logs"
    assert sorted(p.name for p in logs_dir.iterdir()) == ["digest-workers.log", "notes-api.log", "web-frontend.log"]
    assert "listening" in (logs_dir / "notes-api.log").read_text()


def _started(stack: Stack, service: str) -> str:
    """When Docker says the service's container last started, to the second (a logs window's words)."""
    container = stack.container(service)
    assert container is not None, service
    return str(container.attrs["State"]["StartedAt"])[:19] + "Z"


@pytest.mark.docker
def test_an_up_that_changes_nothing_keeps_the_logs_window(
    workspace: Workspace, deploy: Callable[[str | Path], Stack]
) -> None:
    """A second `up` of the same iteration recreates nothing: what the API printed when it started ('listening')
    is still judged (the window starts when this iteration's stack came up or the service started, not at the
    latest `up`). Failed before: each `up` moved the window on, and 'api logs clean' lacked 'listening'."""
    stack = deploy("notes")
    stack_actions.up(workspace, 90)
    first, started = upstamp.load(workspace), _started(stack, "notes-api")
    stack_actions.up(workspace, 90)  # a no-op: the same containers, still running
    report = runner.test(workspace, stack)
    assert report.ok, runner.render_table(report)
    api_logs = _results(workspace)["api logs clean"]
    reason = str(api_logs["reason"])
    assert re.fullmatch(r"\d+ log line\(s\) checked", reason), reason
    assert api_logs["evidence"]["window"] == f"since notes-api last started, {started}"  # type: ignore[index]
    again = upstamp.load(workspace)
    assert first is not None and again is not None and again.services == first.services  # nothing recreated
    assert again.began == first.began and again.started != first.started  # `test` runs again, on the same window


@pytest.mark.docker
def test_a_broken_api_fails_the_doit_task_with_evidence(
    workspace: Workspace, deploy: Callable[[str | Path], Stack], tmp_path: Path
) -> None:
    broken = notes_variant(
        tmp_path,
        {"api/notes/server.js": ("return send(res, 200, notes);", 'return send(res, 500, { error: "db down" });')},
    )
    stack = deploy(broken)  # `doit test` brings it up through the `up` task
    run = run_doit(workspace, "test")
    assert run.returncode == 1, run.output
    assert "of 10 scenarios failed; see iterations/iter_001_notes/results.json" in run.output
    results = _results(workspace)
    listed = results["list notes"]
    assert (listed["status"], listed["reason"]) == ("failed", "status 500, expected 200; body lacks 'hello'")
    assert listed["evidence"]["body_head"] == '{"error":"db down"}'  # type: ignore[index]
    worker = results["worker reaches api"]
    assert (worker["status"], worker["reason"]) == ("failed", "log lacks 'digest ok' (waited 10s)")
    window = f"since digest-workers last started, {_started(stack, 'digest-workers')}"  # after `up` began
    assert worker["evidence"]["window"] == window  # type: ignore[index]
    assert "digest waiting for api" in str(results["worker reaches api"]["evidence"])
    assert results["api health"]["status"] == "passed"
    again = run_doit(workspace, "test")
    assert again.returncode == 1 and "test" in again.executed, "a failed test must run again next time"


@pytest.mark.docker
def test_a_crashed_worker_fails_with_its_traceback(
    workspace: Workspace, deploy: Callable[[str | Path], Stack], tmp_path: Path
) -> None:
    crashing = notes_variant(
        tmp_path,
        {"workers/digest/worker.py": ("    while True:", "    raise RuntimeError('no config')\n    while True:")},
    )
    stack = deploy(crashing)
    up_result = stack.up()
    deadline = time.monotonic() + 30
    while stack.states()["digest-workers"].state != "exited" and time.monotonic() < deadline:
        time.sleep(0.5)
    report = runner.test(workspace, stack)
    results = _results(workspace)
    service = results["service digest-workers"]
    assert (service["status"], service["reason"]) == ("failed", "service digest-workers exited with code 1"), up_result
    assert "RuntimeError: no config" in service["evidence"]["log_tail"]  # type: ignore[index]
    for name in ("worker reaches api", "worker file present"):
        assert (results[name]["status"], results[name]["reason"]) == (
            "failed",
            "service digest-workers is not running",
        )
    assert results["service notes-api"]["status"] == "passed"
    assert not report.ok
    log = (workspace.iterations_dir / "iter_001_notes" / "logs" / "digest-workers.log").read_text()
    assert "Traceback" in log


@pytest.mark.docker
def test_an_error_far_up_a_long_log_fails_the_logs_scenario(
    workspace: Workspace, deploy: Callable[[str | Path], Stack], tmp_path: Path
) -> None:
    """The false green: the ERROR is 30,000 lines before the end; the whole log is scanned."""
    noisy = notes_variant(
        tmp_path,
        {
            "workers/digest/worker.py": (
                "    while True:",
                '    print("ERROR: cache warmup failed", flush=True)\n'
                "    for i in range(30000):\n"
                '        print(f"warming {i}")\n'
                "    while True:",
            )
        },
    )
    stack = deploy(noisy)
    assert stack.up().ok
    runner.test(workspace, stack)
    worker = _results(workspace)["worker reaches api"]
    assert (worker["status"], worker["reason"]) == ("failed", "log has 'ERROR' (1 line(s))")
    evidence = worker["evidence"]
    window = f"since digest-workers last started, {_started(stack, 'digest-workers')}"  # no `up` stamp: its start
    assert evidence["window"] == window  # type: ignore[index]
    assert evidence["matched"] == ["ERROR: cache warmup failed"]  # type: ignore[index]
    assert evidence["errors"][0].endswith("] ERROR: cache warmup failed")  # type: ignore[index]
    log = (workspace.iterations_dir / "iter_001_notes" / "logs" / "digest-workers.log").read_text()
    assert "ERROR: cache warmup failed" in log and "warming 29999" in log


@pytest.mark.docker
def test_a_worker_dying_after_the_first_check_fails(
    workspace: Workspace, deploy: Callable[[str | Path], Stack], tmp_path: Path
) -> None:
    late = notes_variant(
        tmp_path,
        {
            "workers/digest/worker.py": (
                "    while True:",
                "    time.sleep(3)\n    raise RuntimeError('first job failed')\n    while True:",
            )
        },
    )
    stack = deploy(late)
    assert stack.up().ok
    runner.test(workspace, stack)
    service = _results(workspace)["service digest-workers"]
    assert (service["status"], service["reason"]) == (
        "failed",
        "service digest-workers died during the scenarios: exited with code 1",
    )
    assert "RuntimeError: first job failed" in service["evidence"]["log_tail"]  # type: ignore[index]


@pytest.mark.docker
def test_an_unknown_service_in_test_yaml_is_one_line_and_exit_2(
    workspace: Workspace, deploy: Callable[[str | Path], Stack]
) -> None:
    deploy("notes")
    text = workspace.tests_path.read_text()
    workspace.tests_path.write_text(text.replace("service: digest-workers", "service: digest-worker", 1))
    run = run_doit(workspace, "test")
    assert run.returncode == 2, run.output
    errors = [line for line in run.output.splitlines() if line.startswith("ERROR: test: ")]
    assert len(errors) == 1, run.output
    assert "test.yaml:" in errors[0]
    assert "field service: unknown service 'digest-worker'" in errors[0]
    assert "Traceback" not in run.output
    assert not (workspace.iterations_dir / "iter_001_notes" / "results.json").exists()
