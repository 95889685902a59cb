"""Shared fixtures: isolated environment, real workspaces, and a guard that keeps
unmarked tests away from Docker (mark a test `docker` to use the real engine)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from resources.make_fixtures import build as build_fixture

from genlib import process
from genlib.commands.cli import init_workspace
from genlib.config import OFFLINE_DATA_IMAGES, OFFLINE_IMAGE, offline_build_image
from genlib.documents import results
from genlib.documents.results import Result, RunReport, Status
from genlib.stack.engine import Stack
from genlib.workspace import Workspace

RESOURCES = Path(__file__).parent / "resources"
# the person's installed local models, read before `isolated` points XDG_CACHE_HOME at each test's own folder
USER_MODELS = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "genlib" / "models"
EMBEDDED = "qwen2.5-coder-0.5b"  # the model .ci/setup installs
APPS = RESOURCES / "apps"
_TASK_LINE = re.compile(r"^(\.|--)  ?(\S+)$")

# the `ollama` fixture (a scripted Ollama on loopback) and `openai_api` (a scripted OpenAI-compatible server)
pytest_plugins = ["ollama_server", "openai_server"]


def pytest_configure(config: pytest.Config) -> None:
    """The tests send Ctrl-C (SIGINT) to the `doit` they start, as a terminal would. A test run started in the
    background by a script (`nohup bash .ci/run &`) inherits SIGINT ignored and passes that on to every child,
    which then never sees the Ctrl-C (every SIGINT case failed: "doit did not end within 60s"): take it back."""
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(autouse=True)
def isolated(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No setting leaks in from the machine; unmarked tests cannot reach Docker, marked ones fail at once
    without it."""
    for name in list(os.environ):
        if name.startswith("GENLIB_") or name == "OLLAMA_HOST":
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))  # no user genlib.toml leaks in
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))  # nor the user's local models and server
    if request.node.get_closest_marker("docker") is None:
        monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker-guard.sock")
        monkeypatch.setenv("PATH", _path_without_compose())
    else:
        docker_reachable()  # every docker test, fixture or not: with no daemon, one quick failure each
    monkeypatch.chdir(tmp_path)


def _path_without_compose() -> str:
    """PATH minus folders holding docker/docker-compose, so unmarked tests cannot call them."""
    keep = []
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        if not any((Path(folder) / tool).exists() for tool in ("docker", "docker-compose")):
            keep.append(folder)
    keep.append(str(Path(sys.executable).parent))
    return os.pathsep.join(dict.fromkeys(keep))


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    return Workspace(init_workspace(tmp_path / "ws"))


def write_results(it: Path, *statuses: Status) -> None:
    """iterations/<it>/results.json as the runner writes it: one http result per status given."""
    found = [
        Result(name=f"check {n}", kind="http", service="notes-api", origin="user", status=status, reason=status)
        for n, status in enumerate(statuses)
    ]
    results.save(it / "results.json", RunReport.of(it.name, datetime(2026, 1, 2, tzinfo=UTC), 1.0, found))


def add_iteration(ws: Workspace, name: str, app: str | Path) -> Path:
    """Copy a fixture app's llm_output.json in as iteration `name` (as gen would)."""
    source = Path(app) if isinstance(app, Path) else APPS / app / "llm_output.json"
    folder = ws.iterations_dir / name
    folder.mkdir()
    shutil.copy(source, folder / "llm_output.json")
    return folder


@dataclass
class DoitRun:
    returncode: int
    output: str

    @property
    def executed(self) -> list[str]:
        """Tasks doit ran (`.  name`), not the up-to-date ones (`-- name`)."""
        return [m.group(2) for line in self.output.splitlines() if (m := _TASK_LINE.match(line)) and m.group(1) == "."]

    @property
    def skipped(self) -> list[str]:
        return [m.group(2) for line in self.output.splitlines() if (m := _TASK_LINE.match(line)) and m.group(1) == "--"]


def run_doit(ws: Workspace, *args: str, timeout: float = 600, env: dict[str, str] | None = None) -> DoitRun:
    """Run the real `doit` in the workspace, as a person would."""
    proc = subprocess.run(
        [sys.executable, "-m", "doit", *args],
        cwd=ws.root,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )
    return DoitRun(proc.returncode, proc.stdout + proc.stderr)


@pytest.fixture
def refused_port() -> Iterator[int]:
    """A loopback port that refuses connections for the whole test: bound but not listening, so no other
    stack on this machine can take it meanwhile (a port closed again at once can be anyone's next)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


# -- Docker tests: the offline base image and free ports ---------------------------------------------

BASE_IMAGE = OFFLINE_IMAGE
BUILD_IMAGE = offline_build_image(BASE_IMAGE)  # the build stage of components with dependencies


_DOCKER_DOWN: list[str] = []  # why the daemon did not answer, once per session


def docker_reachable() -> None:
    """Fail at once, and every later docker test at once too, when no daemon answers (no 900 s of polling)."""
    if not _DOCKER_DOWN:
        code, output = process.run(["docker", "version", "--format", "{{.Server.Version}}"], check=False, timeout=30)
        _DOCKER_DOWN.append("" if code == 0 else " ".join(output.split())[-200:] or f"exit {code}")
    if _DOCKER_DOWN[0]:
        pytest.fail(f"Docker is not reachable ({_DOCKER_DOWN[0]}); start dockerd or set DOCKER_HOST", pytrace=False)


def wait_for_base_image(limit_s: float = 900, image: str = BASE_IMAGE) -> None:
    """CI builds the base image (and the data images) in .ci/setup; wait for it rather than building it here.
    Only while the daemon answers: with no daemon, it fails at once."""
    docker_reachable()
    deadline = time.monotonic() + limit_s
    while process.run(["docker", "image", "inspect", image], check=False)[0] != 0:
        if time.monotonic() > deadline:
            pytest.fail(f"{image} is missing; run .ci/setup (or `genlib base-image`) first")
        time.sleep(5)


@pytest.fixture
def engine(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> Iterator[Workspace]:
    """The real engine with the offline base image; the workspace picks its own free ports (genlib.stack.ports).
    The stack goes down afterwards."""
    wait_for_base_image()
    for runtime in ("PYTHON", "NODE", "STATIC"):
        monkeypatch.setenv(f"GENLIB_IMAGE_{runtime}", BASE_IMAGE)
    for runtime, image in OFFLINE_DATA_IMAGES.items():  # built by .ci/setup; data tests wait for them
        monkeypatch.setenv(f"GENLIB_IMAGE_{runtime.upper()}", image)
    for runtime in ("PYTHON", "NODE"):
        monkeypatch.setenv(f"GENLIB_BUILD_IMAGE_{runtime}", BUILD_IMAGE)
    monkeypatch.setenv("GENLIB_UP_TIMEOUT", "60")
    yield workspace
    if workspace.compose_path.exists():
        Stack(workspace).down()


def notes_variant(tmp_path: Path, edits: dict[str, tuple[str, str]]) -> Path:
    """A copy of the notes app with `old -> new` replaced in some source files; returns its llm_output.json."""
    app = tmp_path / "notes-variant"
    shutil.copytree(APPS / "notes", app)
    for rel, (old, new) in edits.items():
        source = app / "src" / rel
        text = source.read_text()
        assert old in text, f"{rel} no longer holds {old!r}: update this test's variant"
        source.write_text(text.replace(old, new))
    out = app / "llm_output.json"
    out.write_text(json.dumps(build_fixture(app)))
    return out


@pytest.fixture
def embedded() -> Iterator[str]:
    """The real embedded model (real_model tests): the installed 0.5B seen from the test's own cache, so its
    server is the test's own and never a person's; stopped at the end. Its name."""
    from genlib.model import catalogue, local
    from genlib.model.connect import runtime_installed

    assert runtime_installed(), "provider=local needs xllamacpp: pip install -e '.[local]' (.ci/setup does)"
    assert (USER_MODELS / f"{EMBEDDED}.gguf").is_file(), f"install the model: genlib model install {EMBEDDED}"
    models = catalogue.models_dir()
    models.parent.mkdir(parents=True, exist_ok=True)
    models.symlink_to(USER_MODELS)
    yield EMBEDDED
    local.stop()
