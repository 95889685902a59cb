"""Host ports belong to the workspace on this machine: chosen free, kept, never in registry.yaml."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import APPS, BASE_IMAGE, add_iteration, run_doit, wait_for_base_image

from genlib.commands.cli import init_workspace
from genlib.errors import WorkspaceError
from genlib.stack import ports
from genlib.stack.engine import Stack
from genlib.workspace import Workspace

NAMES = ["notes-api", "web-frontend"]


def second_workspace(tmp_path: Path) -> Workspace:
    return Workspace(init_workspace(tmp_path / "other" / "ws"))  # the same folder name, elsewhere


def test_two_workspaces_with_the_same_services_get_different_ports(workspace: Workspace, tmp_path: Path) -> None:
    mine = ports.assign(workspace, NAMES, port_base=0)
    theirs = ports.assign(second_workspace(tmp_path), NAMES, port_base=0)
    assert sorted(mine) == sorted(theirs) == NAMES
    assert not set(mine.values()) & set(theirs.values())
    assert all(ports.AUTO_LOW <= port < ports.AUTO_HIGH for port in [*mine.values(), *theirs.values()])


def test_chosen_ports_are_kept_even_once_they_are_busy(workspace: Workspace) -> None:
    first = ports.assign(workspace, NAMES, port_base=0)
    with socket.socket() as stack:  # our own stack holds its ports while it runs
        stack.bind(("127.0.0.1", first["notes-api"]))
        stack.listen()
        again = ports.assign(workspace, [*NAMES, "digest-workers"], port_base=0)
    assert {name: again[name] for name in NAMES} == first  # a new service never moves another
    assert again["digest-workers"] not in first.values()
    assert ports.load(workspace) == again
    assert "picked for this workspace" in ports.origin(workspace)


def test_a_copied_workspace_picks_its_own_ports(workspace: Workspace, tmp_path: Path) -> None:
    """`cp -r` of a workspace carries .genlib/ports.json: the copy is another project, and its stack published the
    same ports as the original's, so one of the two could never come up (issue 24, item 7)."""
    first = ports.assign(workspace, NAMES, port_base=0)
    copy = Workspace(Path(shutil.copytree(workspace.root, tmp_path / "copy" / workspace.root.name)))
    theirs = ports.assign(copy, NAMES, port_base=0)
    assert not set(first.values()) & set(theirs.values())
    assert ports.assign(copy, NAMES, port_base=0) == theirs  # and the copy keeps its own from then on


def test_a_ports_file_of_an_older_genlib_is_kept(workspace: Workspace) -> None:
    workspace.state_dir.mkdir(exist_ok=True)
    older = {"port_base": 0, "services": {"notes-api": 20123, "web-frontend": 20124}}  # no project yet
    (workspace.state_dir / ports.PORTS_FILE).write_text(json.dumps(older))
    assert ports.assign(workspace, NAMES, port_base=0) == older["services"]


def test_a_taken_port_is_never_chosen(workspace: Workspace) -> None:
    start = ports._start(workspace, "notes-api")
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", start))
        squatter.listen()
        chosen = ports.assign(workspace, ["notes-api"], port_base=0)["notes-api"]
    assert chosen != start and ports.AUTO_LOW <= chosen < ports.AUTO_HIGH


def test_an_explicit_port_base_still_rules_and_back_to_automatic(workspace: Workspace) -> None:
    explicit = ports.assign(workspace, NAMES, port_base=31000)
    assert explicit == ports.hashed(NAMES, 31000)
    assert all(31000 <= port < 31000 + ports.BASE_SPAN for port in explicit.values())
    assert ports.origin(workspace) == "port_base 31000 + a hash of each service name"
    automatic = ports.assign(workspace, NAMES, port_base=0)
    assert all(ports.AUTO_LOW <= port < ports.AUTO_HIGH for port in automatic.values())


def test_a_damaged_ports_file_is_chosen_again(workspace: Workspace) -> None:
    workspace.state_dir.mkdir(exist_ok=True)
    (workspace.state_dir / ports.PORTS_FILE).write_text("{not json")
    assert sorted(ports.assign(workspace, NAMES, port_base=0)) == NAMES
    assert json.loads((workspace.state_dir / ports.PORTS_FILE).read_text())["port_base"] == 0


def test_thousands_of_services_end(workspace: Workspace) -> None:
    many = [f"s{n}-backend" for n in range(1500)]
    chosen = ports.assign(workspace, many, port_base=0)  # bounded: a probe or a few per service
    assert len(set(chosen.values())) == 1500
    with pytest.raises(WorkspaceError, match="do not fit in port_base's 1000 ports"):
        ports.hashed(many, 31000)


def test_registry_yaml_is_the_same_in_every_clone(workspace: Workspace, tmp_path: Path) -> None:
    other = second_workspace(tmp_path)
    for ws in (workspace, other):
        add_iteration(ws, "iter_001_notes", "notes")
        run = run_doit(ws, "compose")
        assert run.returncode == 0, run.output
    assert workspace.registry_path.read_text() == other.registry_path.read_text()
    assert "host_port" not in workspace.registry_path.read_text()
    assert ports.load(workspace)["notes-api"] != ports.load(other)["notes-api"]
    mine = f"127.0.0.1:{ports.load(workspace)['notes-api']}:"
    assert mine in workspace.compose_path.read_text()  # the compose step reads them


@pytest.mark.docker
def test_two_workspaces_of_the_same_app_run_side_by_side(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wait_for_base_image()
    for runtime in ("PYTHON", "NODE", "STATIC"):
        monkeypatch.setenv(f"GENLIB_IMAGE_{runtime}", BASE_IMAGE)
    monkeypatch.setenv("GENLIB_UP_TIMEOUT", "180")  # two stacks at once on a busy machine
    both = [workspace, second_workspace(tmp_path)]
    for ws in both:
        add_iteration(ws, "iter_001_notes", APPS / "notes/llm_output.json")
    try:
        runs = [_start_doit(ws) for ws in both]  # at once
        outputs = [run.communicate(timeout=600)[0] for run in runs]
        for run, output in zip(runs, outputs, strict=True):
            assert run.returncode == 0, output
        for ws in both:
            status = run_doit(ws, "status")
            assert f"http://127.0.0.1:{ports.load(ws)['notes-api']}/" in status.output
            assert "host ports: picked for this workspace" in status.output
    finally:
        for ws in both:
            if ws.compose_path.exists():
                Stack(ws).down()


def _start_doit(ws: Workspace) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "doit"], cwd=ws.root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
