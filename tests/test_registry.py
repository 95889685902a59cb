"""registry.yaml (genlib/app/registry.py): built from the overlay, round-tripped typed, damage named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import APPS, add_iteration

from genlib.app import registry
from genlib.app.iterations import find_iteration
from genlib.app.materialize import materialize
from genlib.app.registry import Entry, FileEntry, Registry
from genlib.errors import RegistryError
from genlib.workspace import Workspace


def _notes(ws: Workspace) -> Registry:
    add_iteration(ws, "iter_001_notes", "notes")
    materialize(ws, find_iteration(ws, 1), ws.settings())
    return registry.write(ws)


def test_the_written_file_loads_back_to_the_same_registry_and_bytes(workspace: Workspace) -> None:
    written = _notes(workspace)
    text = workspace.registry_path.read_text()
    loaded = registry.load(workspace)
    assert loaded == written and registry.dump(loaded) == text
    api = loaded.services["notes-api"]
    assert (api.layer, api.port, api.healthcheck) == ("api", 3000, "/health")
    assert loaded.listening == ["notes-api", "web-frontend"]
    assert loaded.services["digest-workers"].port is None  # a worker listens nowhere


def test_a_command_is_run_as_written(workspace: Workspace, tmp_path: Path) -> None:
    """`python` is python3 in the official image and in the offline one (python-is-python3): no rewrite."""
    app = json.loads((APPS / "notes" / "llm_output.json").read_text())
    digest = next(c for c in app["answer"]["components"] if c["name"] == "digest")
    digest["command"] = ["python", "worker.py"]
    (tmp_path / "python.json").write_text(json.dumps(app))
    add_iteration(workspace, "iter_001_notes", tmp_path / "python.json")
    materialize(workspace, find_iteration(workspace, 1), workspace.settings())
    reg = registry.write(workspace)
    assert reg.services["digest-workers"].command == ["python", "worker.py"]
    assert reg.services["notes-api"].command == ["node", "server.js"]


def test_a_component_that_never_runs_has_no_run_fields() -> None:
    files = [FileEntry(path="deployment/ops/backup.sh", iteration="iter_001_x", sha256="0" * 64)]
    shell = Entry(
        name="ops", layer="deployment", runtime="shell", description="", sha256="1" * 64, files=files, service=None
    )
    text = registry.dump(Registry(head="iter_001_x", components=[shell]))
    assert text.endswith("  service: null\n") and "port" not in text and "depends_on" not in text
    assert not Registry(head=None, components=[shell]).services


def test_a_hand_edited_field_is_named(workspace: Workspace) -> None:
    _notes(workspace)
    text = workspace.registry_path.read_text()
    workspace.registry_path.write_text(
        text.replace("  healthcheck: /health\n", "  healthcheck: /health\n  colour: red\n")
    )
    with pytest.raises(
        RegistryError, match=r"registry.yaml: field components\.0\.colour: Extra inputs are not permitted"
    ):
        registry.load(workspace)
    workspace.registry_path.write_text(text.replace("runtime: node", "runtime: cobol"))
    with pytest.raises(RegistryError, match=r"components\.0\.runtime: .*regenerate with `doit registry`"):
        registry.load(workspace)


def test_a_registry_from_before_host_ports_moved_still_loads(workspace: Workspace) -> None:
    _notes(workspace)
    text = workspace.registry_path.read_text()
    workspace.registry_path.write_text(text.replace("  port: 3000\n", "  port: 3000\n  host_port: 18335\n"))
    assert registry.dump(registry.load(workspace)) == text
