from conftest import add_iteration, run_doit

from genlib.workspace import Workspace


def test_first_run_builds_everything_second_run_nothing(workspace: Workspace) -> None:
    add_iteration(workspace, "iter_001_notes", "notes")
    first = run_doit(workspace, "materialize", "registry", "compose")
    assert first.returncode == 0, first.output
    assert first.executed == ["materialize", "registry", "compose"]
    second = run_doit(workspace, "materialize", "registry", "compose")
    assert second.returncode == 0, second.output
    assert second.executed == []
