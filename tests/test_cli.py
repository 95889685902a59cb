"""`genlib init` makes a workspace anywhere; the wheel carries the default files it copies."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import add_iteration, run_doit

from genlib.commands.cli import main
from genlib.defaults import WORKSPACE_FILES
from genlib.workspace import Workspace

ROOT = Path(__file__).resolve().parent.parent


def test_init_makes_a_workspace_whose_graph_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", str(tmp_path / "app")]) == 0
    assert "doit gen desc=" in capsys.readouterr().out
    ws = Workspace.at(tmp_path / "app")
    for name in WORKSPACE_FILES:
        assert (ws.root / name).exists(), name
    assert ws.tests_path.read_text() == "version: 1\nscenarios: []\n"
    add_iteration(ws, "iter_001_notes", "notes")
    run = run_doit(ws, "compose")
    assert run.returncode == 0, run.output


def test_init_refuses_an_existing_workspace(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", str(tmp_path / "app")]) == 0
    marker = tmp_path / "app" / "docker-compose.yml.j2"
    marker.write_text("# mine\n")
    assert main(["init", str(tmp_path / "app")]) == 2
    assert "already a workspace" in capsys.readouterr().err
    assert marker.read_text() == "# mine\n"


OLD_DOIT_CFG = """# my own note
[GLOBAL]
verbosity = 2

[COMMAND]
gen = genlib.commands:Gen
heal = genlib.commands:Heal
history = genlib.commands:History
mine = my_tools:Thing
"""


def test_upgrade_adds_the_commands_an_older_workspace_lacks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", str(tmp_path / "app")]) == 0
    ws = Workspace.at(tmp_path / "app")
    (ws.root / "doit.cfg").write_text(OLD_DOIT_CFG)
    add_iteration(ws, "iter_001_notes", "notes")
    before = run_doit(ws, "registry")
    assert before.returncode == 0, before.output
    lacks = "doit.cfg lacks genlib's commands run, diff, rollback, bisect, report, watch: run `genlib upgrade`"
    assert lacks in before.output
    capsys.readouterr()

    assert main(["upgrade", str(ws.root)]) == 0
    assert "added the commands run, diff, rollback, bisect, report, watch" in capsys.readouterr().out
    text = (ws.root / "doit.cfg").read_text()
    assert text.startswith(OLD_DOIT_CFG.split("[COMMAND]")[0])  # the person's lines and sections stay
    assert "mine = my_tools:Thing" in text and "report = genlib.commands:Report" in text
    assert "bisect = genlib.commands:Bisect" in text
    after = run_doit(ws, "history")
    assert after.returncode == 0 and "doit.cfg lacks" not in after.output, after.output
    assert main(["upgrade", str(ws.root)]) == 0
    assert "up to date" in capsys.readouterr().out


def test_upgrade_refuses_a_folder_that_is_not_a_workspace(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["upgrade", str(tmp_path)]) == 2
    assert "not a workspace" in capsys.readouterr().err


def test_a_folder_that_is_not_a_workspace_gets_one_line(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "doit", "gen", "desc=x"], cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode != 0
    assert "dodo" in proc.stdout + proc.stderr


def test_the_wheel_ships_one_copy_of_each_default(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp_path), str(ROOT)],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0 and "hatchling" in proc.stderr:
        proc = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(tmp_path), str(ROOT)],
            capture_output=True,
            text=True,
        )
    assert proc.returncode == 0, proc.stderr
    wheel = next(tmp_path.glob("genlib-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    for name in ("dodo.py", "doit.cfg", "docker-compose.yml.j2", "templates/gen.md.j2", "templates/heal.md.j2"):
        assert f"genlib/_workspace/{name}" in names, name
