"""`page` scenarios: evidence and the no-browser path without Docker; then the notes app in real Chromium."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from conftest import APPS, add_iteration, notes_variant, run_doit
from ollama_server import ScriptedOllama

from genlib.app import registry
from genlib.app.registry import Entry, FileEntry, Registry
from genlib.checks import browser, page_log, runner
from genlib.checks.page_log import PageLog
from genlib.documents.results import PageEvidence, Result, RunReport
from genlib.documents.scenarios import PageScenario, TestFile, load_tests, parse_scenarios, save_tests
from genlib.errors import ScenarioError
from genlib.model import healprompt
from genlib.stack import ports
from genlib.stack.engine import Stack
from genlib.workspace import Workspace

FILES = {18080: {"app.js": "frontend/web/app.js", "index.html": "frontend/web/index.html"}}
APP_JS = "frontend/web/app.js"
CHROMIUM = browser.find_executable("")  # at import, before the tests' PATH is narrowed

# -- pure parts ------------------------------------------------------------------------------------


def test_page_url_fills_in_the_address_of_each_named_service() -> None:
    ports = {"web-frontend": 18080, "notes-api": 18001, "digest-workers": None}
    assert page_log.page_url("/?notes-api={notes-api}", "web-frontend", ports) == (
        "http://127.0.0.1:18080/?notes-api=http://127.0.0.1:18001"
    )
    with pytest.raises(KeyError, match="digest-workers"):
        page_log.page_url("/?w={digest-workers}", "web-frontend", ports)


@pytest.mark.parametrize(
    ("stack", "frame"),
    [
        ("TypeError: x is null\n    at show (http://127.0.0.1:18080/app.js:7:3)\n    at y", ("app.js", 7, 3)),
        ("ReferenceError: shw\n    at http://127.0.0.1:18080/app.js:13:22", ("app.js", 13, 22)),
        ("Error: no frames", ("", 0, 0)),
    ],
)
def test_the_innermost_frame_of_a_stack(stack: str, frame: tuple[str, int, int]) -> None:
    url, line, column = page_log.first_frame(stack)
    assert (url.rsplit("/", 1)[-1] if url else "", line, column) == frame


def test_a_page_error_names_message_url_line_and_the_file_to_change() -> None:
    stack = "TypeError: Cannot read properties of null\n    at http://127.0.0.1:18080/app.js:16:27"
    line = page_log.page_error_line("TypeError", "Cannot read properties of null", stack, FILES)
    assert line == (
        "uncaught TypeError: Cannot read properties of null "
        "at http://127.0.0.1:18080/app.js:16:27 (frontend/web/app.js line 16)"
    )
    outside = page_log.page_error_line("Error", "boom", "Error: boom\n    at http://cdn.example/x.js:1:2", FILES)
    assert outside == "uncaught Error: boom at http://cdn.example/x.js:1:2"


def test_a_console_error_counts_lines_from_one_like_an_editor() -> None:
    location = {"url": "http://127.0.0.1:18080/index.html", "lineNumber": 3, "columnNumber": 8}
    assert page_log.console_error_line("bad\n  thing", location, FILES) == (
        "console.error: bad thing at http://127.0.0.1:18080/index.html:4:9 (frontend/web/index.html line 4)"
    )
    assert page_log.console_error_line("no place", {}, FILES) == "console.error: no place"


def test_only_the_apps_own_requests_count() -> None:
    log = PageLog({"127.0.0.1:18001", "127.0.0.1:18080"}, FILES)
    assert log.is_own("http://127.0.0.1:18001/notes")
    assert not log.is_own("http://127.0.0.1:9999/notes")  # another program's port
    assert not log.is_own("https://cdn.example/lib.js")
    assert not log.is_own("http://127.0.0.1:18080/favicon.ico")  # asked for by the browser, not the app


def test_problems_show_the_first_error_and_how_many_more() -> None:
    log = PageLog(set(), FILES, errors=["uncaught A", "console.error: B"], failed_requests=["GET u -> 404 Not Found"])
    assert log.problems() == ["uncaught A (and 1 more)", "request GET u -> 404 Not Found"]
    assert PageLog(set(), FILES).problems() == []


def test_page_evidence_reaches_the_heal_prompt_line_by_line(workspace: Workspace) -> None:
    evidence = {
        "url": "http://127.0.0.1:18080/?notes-api=http://127.0.0.1:18001",
        "failed_step": "step 1: wait_for '#notes li'",
        "errors": ["uncaught TypeError: notes.forEach is not a function at http://127.0.0.1:18080/app.js:14:26"],
        "failed_requests": ["GET http://127.0.0.1:18001/note -> 404 Not Found"],
        "screenshot": "iterations/iter_001_notes/screenshots/notes-page.png",
    }
    result = {"name": "notes page", "kind": "page", "service": "web-frontend", "origin": "user",
              "status": "failed", "reason": "step 1: wait_for '#notes li': ...", "evidence": evidence}  # fmt: skip
    report = RunReport.of("iter_001_notes", datetime(2026, 1, 2, tzinfo=UTC), 1.0, [Result.model_validate(result)])
    empty = Registry(head=None, components=[])
    text = healprompt.build(workspace, results=report, registry=empty, rounds=[], budget=20000).text
    assert "### notes page (page on web-frontend, origin user): failed" in text
    for line in ("failed_step: step 1: wait_for '#notes li'", "GET http://127.0.0.1:18001/note -> 404 Not Found"):
        assert line in text
    assert "notes.forEach is not a function at http://127.0.0.1:18080/app.js:14:26" in text


@pytest.mark.parametrize(
    ("step", "message"),
    [
        ({"click": "#a", "fill": "#b", "value": "x"}, "a step does exactly one of fill, click"),
        ({"fill": "#b"}, "`value` goes with `fill`"),
        ({"click": "#a", "value": "x"}, "`value` goes with `fill`"),
        ({"hover": "#a"}, "Extra inputs are not permitted"),
    ],
)
def test_a_bad_step_names_the_line_of_test_yaml(workspace: Workspace, step: dict[str, str], message: str) -> None:
    page = {"name": "p", "kind": "page", "service": "web-frontend", "steps": [step]}
    workspace.tests_path.write_text(json.dumps({"version": 1, "scenarios": [page]}, indent=1))
    with pytest.raises(ScenarioError, match=message) as caught:
        load_tests(workspace.tests_path)
    assert "scenario 1, field steps.0" in str(caught.value)


def test_a_page_scenario_round_trips_through_test_yaml(workspace: Workspace) -> None:
    page = parse_scenarios([PAGE])[0]
    save_tests(workspace.tests_path, TestFile(scenarios=[page]))
    assert load_tests(workspace.tests_path).scenarios == [page]


# -- no browser --------------------------------------------------------------------------------------

_RUN_TWICE = """
    import json, sys
    from genlib.checks import runner
    from genlib.stack.engine import Stack
    from genlib.documents.scenarios import parse_scenarios
    from genlib.workspace import Workspace

    ws = Workspace.at(sys.argv[1])
    page = parse_scenarios([{"name": "p", "kind": "page", "service": "web-frontend"}])[0]
    results = [runner.run_scenario(page, Stack(ws), None, {"web-frontend"}) for _ in range(2)]
    print(json.dumps([[r.status, r.reason] for r in results]))
"""


def test_without_chromium_page_scenarios_are_skipped_and_it_is_said_once(workspace: Workspace) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_RUN_TWICE), str(workspace.root)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "GENLIB_BROWSER": str(workspace.root / "no-such-chromium")},
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == [["skipped", browser.NO_BROWSER]] * 2
    assert proc.stderr.splitlines() == [f"genlib: page scenarios skipped: {browser.NO_BROWSER}"]


# -- real Chromium against loopback servers (no Docker) ------------------------------------------------

PAGE_HTML = b"<!doctype html><title>t</title><h1>Hello</h1>"
# says whether this browser context has been here before (localStorage survives in one context)
STORAGE_HTML = b"""<!doctype html><title>s</title><p id="out"></p><script>
const seen = localStorage.getItem("seen"); localStorage.setItem("seen", "yes");
document.getElementById("out").textContent = seen ? "visited before" : "first visit";
</script>"""


@pytest.fixture(autouse=True)
def chromium(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Browser tests name the Chromium found before the Docker guard took /usr/bin (docker's home) off PATH."""
    if request.node.get_closest_marker("browser"):
        assert CHROMIUM, f"no Chromium on PATH: {browser.NO_BROWSER}"
        monkeypatch.setenv("GENLIB_BROWSER", str(CHROMIUM))


@pytest.fixture
def frontend(workspace: Workspace) -> Iterator[tuple[Workspace, int]]:
    """A static page on a loopback port, registered as service web-frontend."""

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(STORAGE_HTML if self.path.startswith("/storage") else PAGE_HTML)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield register_frontend(workspace, server.server_address[1]), server.server_address[1]
    server.shutdown()
    server.server_close()


def register_frontend(ws: Workspace, port: int) -> Workspace:
    """registry.yaml as `doit registry` writes it, for one static service published on `port`."""
    files = [FileEntry(path="frontend/web/index.html", iteration="i", sha256="0")]
    comp = Entry(name="web", layer="frontend", runtime="static", description="", sha256="0", files=files,
                 service="web-frontend", port=8080, command=["python3"], healthcheck="/")  # fmt: skip
    ws.registry_path.write_text(registry.dump(Registry(head=None, components=[comp])))
    ports.record(ws, {"web-frontend": port})  # as `doit compose` chooses them
    return ws


def page(**fields: Any) -> PageScenario:
    """A page scenario; a page that should pass gets 10 s (Chromium on a loaded 2-core machine), one that
    waits for what never comes passes a short `timeout` (only the number in its message depends on it)."""
    found = parse_scenarios([{"name": "p", "kind": "page", "service": "web-frontend", "timeout": 10, **fields}])[0]
    assert isinstance(found, PageScenario)
    return found


@pytest.mark.browser
def test_a_selector_that_never_appears_is_named(frontend: tuple[Workspace, int]) -> None:
    ws, port = frontend
    status, reason, evidence = browser.check_page(page(steps=[{"wait_for": "#notes"}], timeout=2), ws)
    assert (status, reason) == ("failed", "step 1: wait_for '#notes': selector '#notes' did not appear within 2s")
    assert isinstance(evidence, PageEvidence)
    assert evidence.url == f"http://127.0.0.1:{port}/" and evidence.page_text == "Hello"
    assert evidence.screenshot is None and "screenshot" in evidence.fields()  # no iteration yet to keep it in


@pytest.mark.browser
def test_the_page_scenarios_of_a_run_share_one_chromium_each_in_a_fresh_context(
    frontend: tuple[Workspace, int],
) -> None:
    visit = page(path="/storage", expect_text=["first visit"])
    with browser.one_browser() as shared:
        outcomes = [browser.check_page(visit, frontend[0]) for _ in range(3)]
    assert [status for status, _, _ in outcomes] == ["passed"] * 3, outcomes  # no storage leaks to the next
    assert shared.launches == 1


@pytest.mark.browser
def test_missing_text_and_elements_are_each_named(frontend: tuple[Workspace, int]) -> None:
    scenario = page(expect_text=["Hello", "Bye"], expect_selectors=["h1", "ul"], timeout=2)
    status, reason, _ = browser.check_page(scenario, frontend[0])
    assert (status, reason) == ("failed", "text 'Bye' not on the page after 2s; selector 'ul' not on the page after 2s")


@pytest.mark.browser
def test_a_page_that_never_answers_times_out(workspace: Workspace) -> None:
    with socket.socket() as silent:  # accepts connections (the kernel's backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        status, reason, _ = browser.check_page(page(timeout=2), register_frontend(workspace, port))
    assert (status, reason) == ("failed", f"page http://127.0.0.1:{port}/ did not load within 2s")


@pytest.mark.browser
def test_a_refused_page_fails_with_the_network_error(workspace: Workspace, refused_port: int) -> None:
    port = refused_port
    status, reason, evidence = browser.check_page(page(), register_frontend(workspace, port))
    assert (status, reason) == (
        "failed",
        f"page http://127.0.0.1:{port}/ did not load: net::ERR_CONNECTION_REFUSED; "
        f"request GET http://127.0.0.1:{port}/ -> net::ERR_CONNECTION_REFUSED",
    )
    assert isinstance(evidence, PageEvidence)
    assert evidence.failed_requests == [f"GET http://127.0.0.1:{port}/ -> net::ERR_CONNECTION_REFUSED"]


# -- the notes app in real Chromium ------------------------------------------------------------------

PAGE: dict[str, Any] = {
    "name": "notes page",
    "kind": "page",
    "service": "web-frontend",
    "path": "/",
    "steps": [
        {"wait_for": "#notes li"},
        {"fill": "#text", "value": "buy milk"},
        {"click": "button[type=submit]"},
        {"wait_for_text": "buy milk"},
    ],
    "expect_text": ["hello", "buy milk"],
    "expect_selectors": ["form#add"],
    "timeout": 10,
}
JS_ERROR = {APP_JS: ('getElementById("add")', 'getElementById("add-form")')}
WRONG_URL = {APP_JS: ("`${api}/notes`", "`${api}/note`")}


def deploy(ws: Workspace, edits: dict[str, tuple[str, str]]) -> None:
    """The notes app (with `edits`) as iteration 1; test.yaml holds the page scenario, a person's."""
    app = notes_variant(ws.root.parent, edits) if edits else APPS / "notes" / "llm_output.json"
    add_iteration(ws, "iter_001_notes", app)
    save_tests(ws.tests_path, TestFile(scenarios=parse_scenarios([PAGE])))


def page_result(ws: Workspace, iteration: str = "iter_001_notes") -> dict[str, Any]:
    data = json.loads((ws.iterations_dir / iteration / "results.json").read_text())
    found: dict[str, Any] = next(r for r in data["results"] if r["kind"] == "page")
    return found


def host_port(ws: Workspace, service: str) -> int:
    return ports.load(ws)[service]


def assert_screenshot(ws: Workspace, result: dict[str, Any]) -> None:
    shown = result["evidence"]["screenshot"]
    assert shown == "iterations/iter_001_notes/screenshots/notes-page.png"
    assert (ws.root / shown).read_bytes().startswith(b"\x89PNG\r\n")


@pytest.mark.docker
@pytest.mark.browser
def test_the_notes_page_loads_its_notes_and_adds_one(engine: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    deploy(engine, {})
    run = run_doit(engine)
    assert run.returncode == 0, run.output
    result = page_result(engine)
    assert (result["status"], result["reason"]) == ("passed", PAGE["path"] + ": 4 step(s), 3 expectation(s), no errors")
    assert result["evidence"]["errors"] == [] and result["evidence"]["failed_requests"] == []
    assert not (engine.iterations_dir / "iter_001_notes" / "screenshots").exists()
    # the same page without a browser, named on the doit line (it used to be ignored): skipped, never passed
    (engine.iterations_dir / "iter_001_notes" / "results.json").unlink()  # so `doit test` runs again
    again = run_doit(engine, "test", "browser=/nonexistent/chromium", "allow_skipped=1")
    assert again.returncode == 0, again.output
    assert (page_result(engine)["status"], page_result(engine)["reason"]) == ("skipped", browser.NO_BROWSER)
    monkeypatch.setenv("GENLIB_BROWSER", "/nonexistent/chromium")  # and from the environment, in-process
    report = runner.run(engine, Stack(engine))
    assert [(r.status, r.reason) for r in report.results if r.kind == "page"] == [("skipped", browser.NO_BROWSER)]


@pytest.mark.docker
@pytest.mark.browser
def test_a_javascript_error_fails_the_page_with_file_line_and_screenshot(engine: Workspace) -> None:
    deploy(engine, JS_ERROR)
    run = run_doit(engine)
    assert run.returncode == 1, run.output
    result = page_result(engine)
    frontend = host_port(engine, "web-frontend")
    error = (
        "uncaught TypeError: Cannot read properties of null (reading 'addEventListener') "
        f"at http://127.0.0.1:{frontend}/app.js:16:36 ({APP_JS} line 16)"
    )
    assert result["status"] == "failed"
    # without its submit handler the form reloads the page, which may cut a fetch short: more errors may follow
    assert result["evidence"]["errors"][0] == error
    assert result["evidence"]["failed_step"] == "step 4: wait_for_text 'buy milk'"
    assert error in result["reason"]
    assert_screenshot(engine, result)


@pytest.mark.docker
@pytest.mark.browser
def test_a_wrong_api_url_fails_with_the_failed_request_and_the_step(engine: Workspace) -> None:
    deploy(engine, WRONG_URL)
    run = run_doit(engine)
    assert run.returncode == 1, run.output
    result = page_result(engine)
    evidence = result["evidence"]
    api = host_port(engine, "notes-api")
    assert evidence["failed_requests"] == [f"GET http://127.0.0.1:{api}/note -> 404 Not Found"]
    assert evidence["failed_step"] == "step 1: wait_for '#notes li'"
    assert "notes.forEach is not a function" in evidence["errors"][0]
    assert result["reason"].startswith("step 1: wait_for '#notes li': selector '#notes li' did not appear within 10s")
    assert_screenshot(engine, result)


def fixed_app_js() -> str:
    return (APPS / "notes" / "src" / APP_JS).read_text()


@pytest.mark.docker
@pytest.mark.browser
def test_heal_fixes_the_wrong_api_url_and_the_page_turns_green(engine: Workspace, ollama: ScriptedOllama) -> None:
    deploy(engine, WRONG_URL)
    patch = {"summary": "call GET /notes, the api's route", "files": [{"path": APP_JS, "content": fixed_app_js()}]}
    ollama.enqueue(json.dumps(patch))
    run = run_doit(engine, "heal", timeout=900)
    assert run.returncode == 0, run.output
    assert "heal: green after 1 round(s); HEAD is iter_002_patch" in run.output
    prompt = ollama.chats()[0]["messages"][0]["content"]
    api = host_port(engine, "notes-api")
    assert f"GET http://127.0.0.1:{api}/note -> 404 Not Found" in prompt
    assert "failed_step: step 1: wait_for '#notes li'" in prompt
    assert "fetch(`${api}/note`)" in prompt  # the frontend's file, to be fixed
    assert page_result(engine, "iter_002_patch")["status"] == "passed"
    assert (engine.iterations_dir / "iter_001_notes" / "screenshots" / "notes-page.png").exists()


# -- confinement (issue 11, class 7) -------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.fault_class(7)
def test_a_page_reaches_only_the_stack_and_chromium_stays_out_of_home(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The model's JavaScript runs on this machine: a request to any other address (a service on the
    host, the internet) is aborted and shown as evidence; Chromium's files go to .genlib/chromium/."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    asked: list[str] = []

    class Host(BaseHTTPRequestHandler):  # something on this machine the page must not reach
        def do_GET(self) -> None:
            asked.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    secret = ThreadingHTTPServer(("127.0.0.1", 0), Host)
    threading.Thread(target=secret.serve_forever, daemon=True).start()
    stolen = f"http://127.0.0.1:{secret.server_address[1]}/steal"
    html = f"""<!doctype html><title>t</title><h1>Hello</h1><script>
    fetch("{stolen}").catch(() => {{}}); fetch("http://example.invalid/x").catch(() => {{}});
    fetch("/own").catch(() => {{}});
    </script>""".encode()

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path == "/" else 204)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            if self.path == "/":
                self.wfile.write(html)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        ws = register_frontend(workspace, server.server_address[1])
        status, reason, evidence = browser.check_page(page(expect_text=["Hello"], timeout=10), ws)
    finally:
        for each in (server, secret):
            each.shutdown()
            each.server_close()
    assert status == "passed", (reason, evidence)
    assert isinstance(evidence, PageEvidence) and evidence.blocked_requests is not None
    assert set(evidence.blocked_requests) == {"http://example.invalid/x", stolen}
    assert asked == []  # the host's service never saw the page
    assert list(home.iterdir()) == []
    assert (ws.state_dir / "chromium").is_dir()


def test_browser_allow_lists_hosts_a_page_may_reach_besides_the_stack() -> None:
    allowed = page_log.allowed_hosts({"127.0.0.1:18080"}, "cdn.example.org, Api.Example.com:8443")
    assert page_log.is_allowed("http://127.0.0.1:18080/app.js", allowed)
    assert page_log.is_allowed("https://cdn.example.org/lib.js", allowed)  # any port of a listed host
    assert page_log.is_allowed("https://api.example.com:8443/v1", allowed)
    assert page_log.is_allowed("data:text/plain,hi", allowed)
    assert not page_log.is_allowed("http://127.0.0.1:22/", allowed)
    assert not page_log.is_allowed("https://api.example.com/v1", allowed)  # not that port
    assert not page_log.is_allowed("http://169.254.169.254/latest/meta-data", allowed)
