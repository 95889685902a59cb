"""history, diff and rollback on real fixture workspaces (no Docker, no model)."""

from __future__ import annotations

import pytest
from conftest import add_iteration, run_doit, write_results

from genlib.app.iterations import find_iteration, head, list_iterations, write_iteration
from genlib.app.materialize import materialize
from genlib.commands import history
from genlib.documents.llm_output import FORMAT, Answer, FileSpec, LLMOutput, Stats, dump_output
from genlib.errors import WorkspaceError
from genlib.workspace import Workspace

SERVER = "api/notes/server.js"


def patch_iteration(ws: Workspace, summary: str, files: dict[str, str], deletions: list[str] | None = None) -> str:
    answer = Answer(
        summary=summary,
        files=[FileSpec(path=p, content=c) for p, c in files.items()],
        deletions=deletions or [],
    )
    output = LLMOutput(
        format=FORMAT,
        kind="patch",
        description=summary,
        created="2026-11-26T10:30:00Z",
        answer=answer,
        stats=Stats(prompt_tokens=1200, completion_tokens=300),
    )
    it = write_iteration(ws, "patch", {"desc.txt": summary + "\n", "llm_output.json": dump_output(output)})
    materialize(ws, it, ws.settings())
    return it.name


@pytest.fixture
def healed(workspace: Workspace) -> Workspace:
    """iter_001 = the notes app, iter_002 = a patch of server.js, iter_003 = a patch deleting the worker."""
    first = add_iteration(workspace, "iter_001_notes", "notes")
    materialize(workspace, find_iteration(workspace, 1), workspace.settings())
    original = (first / SERVER).read_text()
    patch_iteration(workspace, "say hi", {SERVER: original.replace('"hello"', '"hi"')})
    patch_iteration(workspace, "drop the worker file", {}, deletions=["workers/digest/worker.py"])
    return workspace


def test_table_lists_every_iteration_and_marks_head(healed: Workspace) -> None:
    write_results(healed.iterations_dir / "iter_002_patch", *["passed"] * 5, "failed", "failed", "error", "skipped")
    table = history.format_table(history.rows(healed))
    lines = table.splitlines()
    assert lines[0].split() == ["#", "kind", "description", "files", "passed", "failed", "tokens", "time"]
    assert lines[1].split()[:2] == ["1", "gen"]
    assert lines[2].split() == ["2", "patch", "say", "hi", "1", "5", "3", "1500", "2026-11-26", "10:30"]
    assert lines[3].startswith("*") and lines[3].split()[1:4] == ["3", "patch", "drop"]
    assert lines[3].split()[-5:-2] == ["-", "-", "1500"]  # never tested: no figures


def test_table_of_an_empty_workspace_says_what_to_do(workspace: Workspace) -> None:
    assert "doit gen" in history.format_table(history.rows(workspace))


def test_diff_shows_changes_and_deletions_between_effective_trees(healed: Workspace) -> None:
    text = history.diff(healed, "1", "3")
    assert f"--- iter_001_notes/{SERVER}" in text
    assert f"+++ iter_003_patch/{SERVER}" in text
    assert '-const notes = [{ id: 1, text: "hello" }];' in text
    assert '+const notes = [{ id: 1, text: "hi" }];' in text
    assert "--- iter_001_notes/workers/digest/worker.py\n+++ /dev/null" in text
    assert "frontend/web/index.html" not in text  # unchanged files are not shown


def test_diff_of_an_iteration_with_itself_is_empty_and_reverse_swaps_signs(healed: Workspace) -> None:
    assert history.diff(healed, "2", "iter_002_patch") == ""
    back = history.diff(healed, "2", "1")
    assert '+const notes = [{ id: 1, text: "hello" }];' in back


def test_diff_marks_a_missing_final_newline(workspace: Workspace) -> None:
    add_iteration(workspace, "iter_001_notes", "notes")
    materialize(workspace, find_iteration(workspace, 1), workspace.settings())
    patch_iteration(workspace, "no newline", {SERVER: "// gone"})
    assert "+// gone\n\\ No newline at end of file\n" in history.diff(workspace, "1", "2")


def test_diff_of_an_unknown_iteration_names_the_existing_ones(healed: Workspace) -> None:
    with pytest.raises(WorkspaceError, match=r"no iteration '9' \(have: 1, 2, 3\)"):
        history.diff(healed, "1", "9")


def test_rollback_moves_head_and_deletes_nothing(healed: Workspace) -> None:
    before = [it.name for it in list_iterations(healed)]
    assert history.rollback(healed, "1").name == "iter_001_notes"
    current = head(healed)
    assert current is not None and current.name == "iter_001_notes"
    assert [it.name for it in list_iterations(healed)] == before
    assert history.rollback(healed, "3").name == "iter_003_patch"  # and forward again


def test_rollback_to_an_unknown_iteration_keeps_head(healed: Workspace) -> None:
    with pytest.raises(WorkspaceError, match="have: 1, 2, 3"):
        history.rollback(healed, "7")
    current = head(healed)
    assert current is not None and current.name == "iter_003_patch"


def test_write_iteration_leaves_nothing_behind_when_it_fails(workspace: Workspace) -> None:
    class Boom(Exception):
        pass

    class Exploding(str):
        def encode(self, *args: object, **kwargs: object) -> bytes:
            raise Boom

    with pytest.raises(Boom):
        write_iteration(workspace, "patch", {"desc.txt": Exploding("x")})
    assert list(workspace.iterations_dir.iterdir()) == []


def test_commands_through_doit(healed: Workspace) -> None:
    shown = run_doit(healed, "history")
    assert shown.returncode == 0, shown.output
    assert "say hi" in shown.output
    rolled = run_doit(healed, "rollback", "to=2")
    assert rolled.returncode == 0, rolled.output
    assert "iter_002_patch" in rolled.output and "run `doit`" in rolled.output
    shown = run_doit(healed, "diff", "a=1", "b=2")
    assert shown.returncode == 0 and '+const notes = [{ id: 1, text: "hi" }];' in shown.output
    bad = run_doit(healed, "rollback", "to=42")
    assert bad.returncode != 0
    assert bad.output.strip().splitlines() == ["ERROR: no iteration '42' (have: 1, 2, 3); see `doit history`"]
    missing = run_doit(healed, "diff", "a=1")
    assert missing.returncode == 3 and "b=" in missing.output
