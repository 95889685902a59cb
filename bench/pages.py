"""What sharing one Chromium per test run saves: N page scenarios, each with its own browser vs one shared.

A static page on a loopback port stands in for a frontend (no Docker needed); the
check is the real one (genlib.checks.browser.check_page) in the system's Chromium.
The two ways alternate, so a busy machine slows both alike.

    python bench/pages.py [--scenarios 5] [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from genlib.app import registry
from genlib.app.registry import Entry, FileEntry, Registry
from genlib.checks import browser
from genlib.commands.cli import init_workspace
from genlib.documents.scenarios import PageScenario, parse_scenarios
from genlib.stack import ports
from genlib.workspace import Workspace

PAGE = b"<!doctype html><title>bench</title><h1>Hello</h1><script>document.body.append('ready')</script>"


class Page(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, format: str, *args: object) -> None:
        pass


def workspace(root: Path, port: int) -> Workspace:
    ws = Workspace(init_workspace(root))
    files = [FileEntry(path="frontend/web/index.html", iteration="i", sha256="0")]
    comp = Entry(name="web", layer="frontend", runtime="static", description="", sha256="0", files=files,
                 service="web-frontend", port=8080, command=["python3"], healthcheck="/")  # fmt: skip
    ws.registry_path.write_text(registry.dump(Registry(head=None, components=[comp])))
    ports.record(ws, {"web-frontend": port})
    return ws


def scenarios(count: int) -> list[PageScenario]:
    raw = [{"name": f"p{n}", "kind": "page", "service": "web-frontend", "expect_text": ["ready"]} for n in range(count)]
    return [s for s in parse_scenarios(raw) if isinstance(s, PageScenario)]


def timed(check: Callable[[], list[str]]) -> float:
    started = time.perf_counter()
    statuses = check()
    if set(statuses) != {"passed"}:
        raise SystemExit(f"a page scenario did not pass: {statuses}")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", type=int, default=5)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    executable = browser.find_executable("")
    if executable is None or not browser.playwright_installed():
        raise SystemExit(browser.NO_BROWSER)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    items = scenarios(args.scenarios)
    with tempfile.TemporaryDirectory(prefix="genlib-bench-") as tmp:
        ws = workspace(Path(tmp) / "ws", server.server_address[1])

        def each_its_own() -> list[str]:
            return [browser.check_page(s, ws)[0] for s in items]

        def shared() -> list[str]:
            with browser.one_browser():
                return [browser.check_page(s, ws)[0] for s in items]

        own, one = [], []
        for _ in range(args.runs):
            own.append(timed(each_its_own))
            one.append(timed(shared))
    server.shutdown()
    own_s, one_s = statistics.median(own), statistics.median(one)
    print(f"{args.scenarios} page scenarios, median of {args.runs} runs, Chromium at {executable}")
    print(f"  a browser per scenario  {own_s:6.2f}s  ({own_s / args.scenarios:.2f}s a scenario)")
    print(f"  one shared browser      {one_s:6.2f}s  ({one_s / args.scenarios:.2f}s a scenario)")
    print(f"  saved                   {own_s - one_s:6.2f}s  ({own_s / one_s:.1f}x faster)")


if __name__ == "__main__":
    main()
