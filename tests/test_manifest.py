"""manifest.json (genlib/documents/manifest.py): what materialize wrote, read back typed."""

from __future__ import annotations

import json

import pytest
from conftest import add_iteration

from genlib.app.iterations import find_iteration, read_manifest
from genlib.app.materialize import materialize
from genlib.documents import manifest
from genlib.errors import WorkspaceError
from genlib.workspace import Workspace


def test_materialize_writes_a_manifest_that_round_trips(workspace: Workspace) -> None:
    add_iteration(workspace, "iter_001_notes", "notes")
    it = find_iteration(workspace, 1)
    materialize(workspace, it, workspace.settings())
    found = read_manifest(it)
    assert found is not None
    assert "api/notes/server.js" in found.files and found.deletions == []
    assert {(c.layer, c.name) for c in found.components} >= {("api", "notes"), ("frontend", "web")}
    assert manifest.dump(found) == it.manifest.read_text()


def test_another_format_is_not_materialized_and_damage_says_what_to_do(workspace: Workspace) -> None:
    add_iteration(workspace, "iter_001_notes", "notes")
    it = find_iteration(workspace, 1)
    materialize(workspace, it, workspace.settings())
    data = json.loads(it.manifest.read_text())
    it.manifest.write_text(json.dumps({**data, "format": "genlib.manifest/0"}))
    assert manifest.load(it.manifest) is None  # materialize writes it again
    it.manifest.write_text(json.dumps({**data, "files": ["api/notes/server.js"]}))
    with pytest.raises(WorkspaceError, match=r"files: Input should be a valid dictionary; delete it and run `doit`"):
        manifest.load(it.manifest)
    it.manifest.write_text(json.dumps({**data, "removed": []}))
    with pytest.raises(WorkspaceError, match="removed: Extra inputs are not permitted"):
        manifest.load(it.manifest)
