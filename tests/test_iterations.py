from __future__ import annotations

from pathlib import Path

from conftest import add_iteration, run_doit

from genlib.app.iterations import list_iterations, slugify, write_iteration
from genlib.workspace import Workspace


def test_slugs_are_ascii_and_never_collide_with_patch() -> None:
    assert slugify("Add a user profile view with API validation!") == "add_a_user_profile_view_with_api_validat"
    assert slugify("Écrire une note") == "ecrire_une_note"
    assert slugify("patch") == "app_patch"
    assert slugify("!!!") == "app"


def test_a_temp_folder_left_by_a_killed_run_is_cleared_by_the_next_write(workspace: Workspace) -> None:
    abandoned = workspace.iterations_dir / ".iter_001_app.k2j3"
    abandoned.mkdir()
    (abandoned / "llm_output.json").write_text("{")
    it = write_iteration(workspace, "notes", {"desc.txt": "notes\n"})
    assert not abandoned.exists()
    assert [i.name for i in list_iterations(workspace)] == [it.name] == ["iter_001_notes"]
    assert (it.path / "parent.txt").read_text() == "\n"  # the first iteration is a root


def test_a_symlinked_layer_file_is_refused(workspace: Workspace, tmp_path: Path) -> None:
    add_iteration(workspace, "iter_001_notes", "notes")
    assert run_doit(workspace, "compose").returncode == 0
    secret = tmp_path / "secret.txt"
    secret.write_text("do not mount me\n")
    server = workspace.iterations_dir / "iter_001_notes/api/notes/server.js"
    server.unlink()
    server.symlink_to(secret)
    run = run_doit(workspace, "compose")
    assert run.returncode == 2, run.output
    assert "server.js is a symlink; replace it with a regular file" in run.output
    assert "secret" not in workspace.compose_path.read_text()
