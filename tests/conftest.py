"""Shared fixtures: isolated environment, real workspaces, and a guard that keeps
unmarked tests away from Docker (mark a test `docker` to use the real engine)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from genlib.cli import init_workspace
from genlib.workspace import Workspace

RESOURCES = Path(__file__).parent / "resources"
APPS = RESOURCES / "apps"
_TASK_LINE = re.compile(r"^(\.|--)  ?(\S+)$")

pytest_plugins = ["ollama_server"]  # the `ollama` fixture: a scripted Ollama on loopback


@pytest.fixture(autouse=True)
def isolated(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No setting leaks in from the machine; unmarked tests cannot reach Docker."""
    for name in list(os.environ):
        if name.startswith("GENLIB_") or name == "OLLAMA_HOST":
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))  # no user genlib.toml leaks in
    if request.node.get_closest_marker("docker") is None:
        monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker-guard.sock")
        monkeypatch.setenv("PATH", _path_without_compose())
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
