"""`doit watch`: a real process, real edits, Ctrl-C."""

from __future__ import annotations

import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest
from conftest import BASE_IMAGE, add_iteration, wait_for_base_image

from genlib.commands import watch
from genlib.stack.engine import Stack
from genlib.workspace import Workspace

LINE_LIMIT_S = 300  # a bound so a broken watch fails the test instead of hanging it


class Watching:
    """`doit watch` in the background, its output read line by line."""

    def __init__(self, ws: Workspace) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "doit", "watch"],
            cwd=ws.root,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, pattern: str) -> str:
        """The next line matching `pattern`; every line read on the way is kept in `seen`."""
        deadline = time.monotonic() + LINE_LIMIT_S
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=1)
            except queue.Empty:
                continue
            self.seen.append(line)
            if re.search(pattern, line):
                return line
        raise AssertionError(f"no line matching {pattern!r}; output so far:\n" + "\n".join(self.seen))

    def interrupt(self) -> int:
        self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(timeout=60)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self._reader.join(timeout=10)
        assert self.proc.stdout is not None
        self.proc.stdout.close()


@pytest.fixture
def watching(workspace: Workspace) -> Iterator[tuple[Workspace, Watching]]:
    add_iteration(workspace, "iter_001_notes", "notes")
    running = Watching(workspace)
    try:
        yield workspace, running
    finally:
        running.close()


def test_only_layer_files_tests_and_templates_are_watched(workspace: Workspace) -> None:
    wanted = watch.watched(workspace)
    root = workspace.root
    for path in (
        "iterations/iter_001_a/api/notes/server.js",
        "test.yaml",
        "docker-compose.yml.j2",
        "templates/gen.md.j2",
    ):
        assert wanted(None, str(root / path)), path
    for path in ("iterations/iter_001_a/results.json", "iterations/iter_001_a/logs/notes-api.log",
                 "iterations/iter_001_a/screenshots/p.png", "registry.yaml", "docker-compose.yml",
                 ".genlib/doit.sqlite3", "iterations/iter_001_a/llm_output.json",
                 "iterations/iter_001_a/api/notes/.server.js.x1.tmp", "iterations/iter_001_a/api"):  # fmt: skip
        assert not wanted(None, str(root / path)), path
    assert not wanted(None, "/elsewhere/test.yaml")


def test_an_edit_runs_the_graph_again_and_ctrl_c_stops_cleanly(watching: tuple[Workspace, Watching]) -> None:
    ws, running = watching
    running.wait_for(r"^watch: \d\d:\d\d:\d\d not tested: the graph stopped with an error \(exit 2")  # no Docker here
    assert "ERROR: up: cannot reach Docker" in "\n".join(running.seen)
    server = ws.iterations_dir / "iter_001_notes" / "api/notes/server.js"
    before = ws.registry_path.read_text()
    server.write_text(server.read_text() + "// edited by hand\n")
    running.wait_for(r"^watch: changed: iterations/iter_001_notes/api/notes/server\.js$")
    running.wait_for(r"^watch: \d\d:\d\d:\d\d ")
    assert ws.registry_path.read_text() != before  # the edit flowed into the registry
    assert running.interrupt() == 0
    assert running.wait_for("^watch: stopped; the stack is left as it is")


@pytest.mark.docker
def test_watch_prints_the_results_line_after_an_edit(
    watching: tuple[Workspace, Watching], monkeypatch: pytest.MonkeyPatch
) -> None:
    ws, running = watching
    running.interrupt()  # started before the Docker settings below; start again with them
    wait_for_base_image()
    for runtime in ("PYTHON", "NODE", "STATIC"):
        monkeypatch.setenv(f"GENLIB_IMAGE_{runtime}", BASE_IMAGE)
    monkeypatch.setenv("GENLIB_UP_TIMEOUT", "120")
    again = Watching(ws)
    try:
        again.wait_for(r"^watch: \d\d:\d\d:\d\d iter_001_notes: [1-9]\d* passed, \d+ failing")
        server = ws.iterations_dir / "iter_001_notes" / "api/notes/server.js"
        server.write_text(server.read_text() + "// edited by hand\n")
        again.wait_for(r"up: 1 recreated \(notes-api\)")  # (a loaded machine may fail a health check: not ours)
        again.wait_for(r"^watch: \d\d:\d\d:\d\d iter_001_notes: [1-9]\d* passed, \d+ failing")
        assert again.interrupt() == 0
        assert Stack(ws).states()["notes-api"].state == "running"  # Ctrl-C leaves the stack as it is
    finally:
        again.close()
        Stack(ws).down()
