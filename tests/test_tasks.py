"""Task descriptions that are not covered by running the graph."""

from __future__ import annotations

from conftest import add_iteration

from genlib.tasks.graph import head_results
from genlib.workspace import Workspace


def test_the_test_task_targets_the_results_of_head(workspace: Workspace) -> None:
    assert head_results(workspace) == []
    add_iteration(workspace, "iter_001_notes", "notes")
    add_iteration(workspace, "iter_002_patch", "notes")
    assert head_results(workspace) == [str(workspace.iterations_dir / "iter_002_patch" / "results.json")]
    workspace.head_file.write_text("iter_001_notes\n")
    assert head_results(workspace) == [str(workspace.iterations_dir / "iter_001_notes" / "results.json")]
    workspace.head_file.write_text("iter_009_gone\n")
    assert head_results(workspace) == []  # the test action then reports the broken HEAD
