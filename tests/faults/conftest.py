"""The fault suite's helpers: a seeded workspace to copy, byte-level snapshots, a doit
run that can be stopped at a chosen moment, and the count printed at the end.

Every case here drives the real `doit` (gen, heal, the graph) in a subprocess,
with the scripted Ollama on loopback as the only fake.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import APPS
from ollama_server import ScriptedOllama

from genlib import checkpoint, lock
from genlib.app.iterations import list_iterations
from genlib.commands.cli import init_workspace
from genlib.commands.doit_commands import INTERRUPTED
from genlib.documents.llm_output import load_output
from genlib.documents.scenarios import load_tests
from genlib.loops import gen
from genlib.workspace import Workspace

NOTES = json.loads((APPS / "notes" / "llm_output.json").read_text())["answer"]
NOTES_TEXT = json.dumps(NOTES)
SEED_ITERATION = "iter_001_a_notes_app"
PERSON_SCENARIO = (
    "version: 1\nscenarios:\n- name: api health\n  kind: http\n  service: notes-api\n  request: {path: /health}\n"
)
Tree = dict[str, bytes | str]  # path -> bytes (file), "dir", or "-> target" (symlink)


# -- snapshots -------------------------------------------------------------------------------------


def snapshot(root: Path) -> Tree:
    """Every path under `root` (files by content, folders, symlinks by target), but .genlib/ folders,
    where rejected answers are kept on purpose."""
    tree: Tree = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if ".genlib" in rel.parts:
            continue
        if path.is_symlink():
            tree[str(rel)] = f"-> {os.readlink(path)}"
        elif path.is_dir():
            tree[str(rel)] = "dir"
        else:
            tree[str(rel)] = path.read_bytes()
    return tree


def changed(before: Tree, after: Tree) -> list[str]:
    """Paths added, removed or rewritten: an empty list when nothing moved."""
    return sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))


def assert_consistent(ws: Workspace) -> None:
    """No half iteration the graph would pick up, and every generated file parses."""
    for it in list_iterations(ws):
        load_output(it.llm_output)  # a complete, valid llm_output.json in every visible iteration
        if it.manifest.exists():
            assert json.loads(it.manifest.read_text())["format"] == "genlib.manifest/1"
        if it.results.exists():
            assert json.loads(it.results.read_text())["format"] == "genlib.results/1"
    for path in (ws.registry_path, ws.compose_path):
        if path.exists():
            assert isinstance(yaml.safe_load(path.read_text()), dict), path
    load_tests(ws.tests_path)
    if ws.head_file.exists():
        assert ws.head_file.read_text().strip() in {it.name for it in list_iterations(ws)}


def error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("ERROR")]


def assert_one_line_interruption(run: Running, code: int) -> None:
    """Ctrl-C: exit 130 and one line saying what to do next, the last one; no traceback."""
    assert code == 130, run.output
    assert error_lines(run.output) == [INTERRUPTED], run.output
    assert run.lines[-1] == INTERRUPTED, run.output
    assert "Traceback" not in run.output and "KeyboardInterrupt" not in run.output, run.output


def assert_stopped(run: Running, sig: signal.Signals, code: int) -> None:
    """SIGKILL: -9, the process gone mid-step; SIGINT: the one-line interruption."""
    if sig == signal.SIGKILL:
        assert code == -9, run.output
    else:
        assert_one_line_interruption(run, code)


# -- the seeded workspace --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def seed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace after one real `doit gen` of the notes app, with a person's scenario and failing
    results for HEAD (as the runner writes them), so heal has something to heal without Docker."""
    root = init_workspace(tmp_path_factory.mktemp("seed") / "ws")
    ws = Workspace(root)
    ws.tests_path.write_text(PERSON_SCENARIO)
    server = ScriptedOllama().start()
    server.enqueue(NOTES_TEXT)
    with pytest.MonkeyPatch.context() as env:  # the autouse isolation is per test; this runs before any
        for name in [n for n in os.environ if n.startswith("GENLIB_")]:
            env.delenv(name)
        env.setenv("XDG_CONFIG_HOME", str(root.parent / "xdg-config"))
        env.setenv("OLLAMA_HOST", server.url)
        try:
            code = gen.run(ws, {"desc": "a notes app"}, out=io.StringIO())
        finally:
            lock.release(ws)
            server.stop()
    assert code == 0
    write_failing_results(ws, SEED_ITERATION)
    return root


def write_failing_results(ws: Workspace, iteration: str) -> None:
    """results.json in the documented genlib.results/1 shape: `list notes` fails, `api health` passes."""
    results = [
        {"name": "api health", "kind": "http", "service": "notes-api", "origin": "user", "status": "passed",
         "reason": "", "duration_s": 0.01, "evidence": {"status": 200}},
        {"name": "list notes", "kind": "http", "service": "notes-api", "origin": "model", "status": "failed",
         "reason": "GET /notes: status 500, expected 200", "duration_s": 0.02,
         "evidence": {"status": 500, "body_head": '{"error":"db down"}'}},
    ]  # fmt: skip
    data = {
        "format": "genlib.results/1",
        "iteration": iteration,
        "started": "2025-01-01T00:00:00+00:00",
        "duration_s": 0.1,
        "summary": {"passed": 1, "failed": 1, "skipped": 0, "error": 0},
        "results": results,
    }
    (ws.iterations_dir / iteration / "results.json").write_text(json.dumps(data, indent=2) + "\n")


@pytest.fixture
def seeded(seed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    """A private copy of the seed; HOME inside tmp_path, so a write to `~` would show in `outside`."""
    root = tmp_path / "ws"
    shutil.copytree(seed, root, symlinks=True)
    (tmp_path / "home").mkdir()
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return Workspace(root)


# -- a doit run stopped at a chosen moment ----------------------------------------------------------


@dataclass
class Running:
    """A `doit` subprocess whose output is read as it comes, so a test can act on a line."""

    proc: subprocess.Popen[str]
    marker: Path | None = None  # where genlib.checkpoint announces the stop point
    lines: list[str] = field(default_factory=list)
    _reader: threading.Thread | None = None

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, ready: Callable[[], bool], what: str, limit: float = 60, poll: float = 0.0005) -> None:
        deadline = time.monotonic() + limit
        while not ready():
            if self.proc.poll() is not None:
                time.sleep(0.1)  # let the reader catch up before reporting
                raise AssertionError(f"doit ended ({self.proc.returncode}) before {what}:\n" + self.output)
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}:\n" + self.output)
            time.sleep(poll)

    def at_checkpoint(self, limit: float = 300) -> None:
        """Wait until the run holds at its checkpoint: the step is provably in progress."""
        marker = self.marker
        assert marker is not None
        self.wait_for(marker.exists, f"the checkpoint ({marker})", limit=limit)

    def saw(self, text: str) -> Callable[[], bool]:
        return lambda: any(text in line for line in list(self.lines))

    def stop(self, sig: signal.Signals, limit: float = 60) -> int:
        self.proc.send_signal(sig)
        return self.finish(limit)

    def finish(self, limit: float = 300) -> int:
        """Wait for the exit and the last line; a run still there after `limit` dumps its stacks (SIGABRT
        with PYTHONFAULTHANDLER) into the output, so the failure says where it hung."""
        try:
            code = self.proc.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            self.proc.send_signal(signal.SIGABRT)
            self.proc.wait(timeout=30)
            time.sleep(0.5)  # the reader catches up
            raise AssertionError(f"doit did not end within {limit}s:\n" + self.output) from None
        if self._reader is not None:
            self._reader.join(timeout=10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        return code

    @property
    def output(self) -> str:
        return "\n".join(self.lines)


def start_doit(ws: Workspace, *args: str, stop_at: str = "") -> Running:
    """`doit *args` in the background; with `stop_at`, it waits at that genlib.checkpoint (see `at_checkpoint`)."""
    marker = ws.root.parent / "checkpoint"
    marker.unlink(missing_ok=True)
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONFAULTHANDLER": "1"}
    if stop_at:
        env |= {checkpoint.NAME: stop_at, checkpoint.FILE: str(marker)}
    proc = subprocess.Popen(
        [sys.executable, "-u", "-m", "doit", *args],
        cwd=ws.root,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    running = Running(proc, marker=marker)
    running._reader = threading.Thread(target=running._read, daemon=True)
    running._reader.start()
    return running


@pytest.fixture
def doit_runs() -> Iterator[list[Running]]:
    """Every doit a test starts is gone afterwards (killed by its own pid if still running)."""
    started: list[Running] = []
    yield started
    for run in started:
        if run.proc.poll() is None:
            run.proc.kill()
        run.finish()


# -- the count at the end --------------------------------------------------------------------------

_HERE = Path(__file__).parent
CLASSES = tuple(range(1, 11))  # issue 11's classes of hostile answers (docs/guarantees.md)
_class_of: dict[str, tuple[int, ...]] = {}  # nodeid -> the classes the case proves (@pytest.mark.fault_class)


def classed(cases: list[str], classes: dict[str, int]) -> list[Any]:
    """Parametrize ids, each case named in `classes` tagged with its class."""
    unknown = set(classes) - set(cases)
    assert not unknown, f"no such case: {unknown}"
    return [pytest.param(c, marks=pytest.mark.fault_class(classes[c])) if c in classes else c for c in cases]


@pytest.hookimpl(tryfirst=True)  # before -k/-m deselect: a class's cases exist even when not run
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Note each case's classes; when the whole tests/ tree is collected, a class with no case is an error."""
    for item in items:
        mark = item.get_closest_marker("fault_class")
        if mark is not None:
            assert mark.args and set(mark.args) <= set(CLASSES), f"{item.nodeid}: fault_class(1..10), not {mark.args}"
            _class_of[item.nodeid] = tuple(mark.args)
    tests = _HERE.parent.resolve()
    whole = not config.args or any(tests.is_relative_to(Path(a).resolve()) for a in config.args)
    missing = set(CLASSES) - {n for found in _class_of.values() for n in found}
    if whole and missing:
        raise pytest.UsageError(
            f"fault suite: issue 11 class(es) {sorted(missing)} have no case; tag one with @pytest.mark.fault_class(n)"
        )


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """`fault suite: N cases tried, M passed; classes covered C/10` for the cases under tests/faults and
    those elsewhere tagged with a class; a class is covered when one of its cases passed."""
    prefix = _HERE.relative_to(terminalreporter.config.rootpath).as_posix() + "/"
    outcomes: dict[str, str] = {}
    for status in ("passed", "failed", "error", "skipped", "xfailed", "xpassed"):
        for report in terminalreporter.stats.get(status, []):
            nodeid = getattr(report, "nodeid", "")
            if (nodeid.startswith(prefix) or nodeid in _class_of) and outcomes.get(nodeid) in (None, "passed"):
                outcomes[nodeid] = status  # a failed setup or teardown outweighs a passed call
    if outcomes:
        passed = [n for n, s in outcomes.items() if s == "passed"]
        covered = {c for n in passed for c in _class_of.get(n, ())}
        line = f"fault suite: {len(outcomes)} cases tried, {len(passed)} passed; classes covered {len(covered)}/10"
        missing = [str(c) for c in CLASSES if c not in covered]
        terminalreporter.write_sep("=", line + (f" (not: {', '.join(missing)})" if missing else ""))
