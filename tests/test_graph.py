"""The doit graph rebuilds exactly what is stale: counted in executed tasks, not final files."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from conftest import APPS, add_iteration, run_doit

import genlib
from genlib.app.iterations import find_iteration, set_head, up_to_head, write_iteration
from genlib.workspace import Workspace

BUILD = ("materialize", "registry", "images", "compose")


def built(ws: Workspace) -> Workspace:
    add_iteration(ws, "iter_001_notes", "notes")
    first = run_doit(ws, *BUILD)
    assert first.returncode == 0, first.output
    assert first.executed == list(BUILD)
    return ws


def test_second_run_executes_nothing(workspace: Workspace) -> None:
    ws = built(workspace)
    again = run_doit(ws, *BUILD)
    assert again.returncode == 0, again.output
    assert again.executed == []
    assert again.skipped == list(BUILD)


def test_plain_doit_builds_then_says_in_one_line_that_docker_is_down(workspace: Workspace) -> None:
    add_iteration(workspace, "iter_001_notes", "notes")
    run = run_doit(workspace)  # this test may not reach Docker: up must fail cleanly
    assert run.returncode == 2, run.output
    assert run.executed[:5] == ["materialize", "registry", "images", "compose", "up"]
    errors = [line for line in run.output.splitlines() if line.startswith("ERROR:")]
    assert len(errors) == 1 and errors[0].startswith("ERROR: up:"), run.output
    assert "Docker" in errors[0] and "Traceback" not in run.output
    assert workspace.compose_path.exists()


def test_editing_a_layer_file_flows_to_registry_and_compose(workspace: Workspace) -> None:
    ws = built(workspace)
    server = ws.iterations_dir / "iter_001_notes/api/notes/server.js"
    server.write_text(server.read_text() + "// edited by hand\n")
    run = run_doit(ws, *BUILD)
    assert run.returncode == 0, run.output
    assert run.executed == ["registry", "compose"]
    assert "edited by hand" in server.read_text()  # never overwritten
    registry = ws.registry_path.read_text()
    assert hashlib_of(server.read_bytes()) in registry


def test_touching_a_file_without_changing_it_rebuilds_nothing(workspace: Workspace) -> None:
    ws = built(workspace)
    server = ws.iterations_dir / "iter_001_notes/api/notes/server.js"
    server.write_bytes(server.read_bytes())
    assert run_doit(ws, *BUILD).executed == []


def test_editing_the_template_reruns_only_compose(workspace: Workspace) -> None:
    ws = built(workspace)
    ws.compose_template.write_text(ws.compose_template.read_text() + "# a comment at the end\n")
    run = run_doit(ws, *BUILD)
    assert run.returncode == 0, run.output
    assert run.executed == ["compose"]


def test_a_template_edit_that_renders_the_same_stops_before_compose_consumers(workspace: Workspace) -> None:
    ws = built(workspace)
    before = ws.compose_path.stat().st_mtime_ns
    ws.compose_template.write_text(ws.compose_template.read_text() + "{# a Jinja comment renders to nothing #}")
    run = run_doit(ws, *BUILD)
    assert run.executed == ["compose"]
    assert ws.compose_path.stat().st_mtime_ns == before  # same bytes: not rewritten


def test_a_new_genlib_renders_docker_compose_yml_again(workspace: Workspace, tmp_path: Path) -> None:
    """An upgrade that changes what genlib puts in docker-compose.yml (a health check, the environment) reaches
    stacks whose app did not change."""
    lib = tmp_path / "lib"
    shutil.copytree(Path(genlib.__file__).parent, lib / "genlib", ignore=shutil.ignore_patterns("__pycache__"))
    env = {"PYTHONPATH": str(lib)}
    add_iteration(workspace, "iter_001_notes", "notes")
    assert run_doit(workspace, *BUILD, env=env).executed == list(BUILD)
    assert run_doit(workspace, *BUILD, env=env).executed == []
    compose = lib / "genlib" / "stack" / "compose.py"
    compose.write_text(compose.read_text().replace('{"HOME": "/tmp",', '{"HOME": "/tmp", "UPGRADED": "1",'))
    run = run_doit(workspace, *BUILD, env=env)
    assert run.executed == ["compose"], run.output
    assert "UPGRADED" in workspace.compose_path.read_text()


def test_a_new_iteration_materializes_only_itself(workspace: Workspace) -> None:
    ws = built(workspace)
    first_server = ws.iterations_dir / "iter_001_notes/api/notes/server.js"
    mtime = first_server.stat().st_mtime_ns
    add_iteration(ws, "iter_002_patch", patch_changing_api(ws))
    run = run_doit(ws, *BUILD)
    assert run.returncode == 0, run.output
    assert run.executed == ["materialize", "registry", "compose"]  # no dependency file changed: no images
    assert "iter_002_patch: 1 file(s) written" in run.output
    assert "iter_001_notes" not in run.output
    assert first_server.stat().st_mtime_ns == mtime
    assert "iteration: iter_002_patch" in ws.registry_path.read_text()
    assert "./iterations/iter_002_patch/api/notes/server.js" in ws.compose_path.read_text()


def test_rollback_of_head_changes_the_overlay(workspace: Workspace) -> None:
    ws = built(workspace)
    add_iteration(ws, "iter_002_patch", patch_changing_api(ws))
    assert run_doit(ws, *BUILD).returncode == 0
    set_head(ws, find_iteration(ws, 1))
    run = run_doit(ws, *BUILD)
    assert run.returncode == 0, run.output
    assert run.executed == ["registry", "compose"]
    assert "head: iter_001_notes" in ws.registry_path.read_text()
    assert "iter_002_patch" not in ws.compose_path.read_text()


def test_hand_edit_under_a_changed_llm_output_stops_and_names_the_file(workspace: Workspace) -> None:
    ws = built(workspace)
    folder = ws.iterations_dir / "iter_001_notes"
    server = folder / "api/notes/server.js"
    server.write_text("// my careful edit\n")
    output = json.loads((folder / "llm_output.json").read_text())
    output["answer"]["files"][0]["content"] += "// regenerated\n"
    (folder / "llm_output.json").write_text(json.dumps(output))
    run = run_doit(ws, *BUILD)
    assert run.returncode == 2
    assert "ERROR: materialize: iterations/iter_001_notes/api/notes/server.js was edited by hand" in run.output
    assert "force=1" in run.output
    assert server.read_text() == "// my careful edit\n"
    forced = run_doit(ws, *BUILD, "force=1")
    assert forced.returncode == 0, forced.output
    assert server.read_text().endswith("// regenerated\n")


def test_a_deleted_layer_file_is_restored(workspace: Workspace) -> None:
    ws = built(workspace)
    worker = ws.iterations_dir / "iter_001_notes/workers/digest/worker.py"
    worker.unlink()
    run = run_doit(ws, *BUILD)
    assert run.returncode == 0, run.output
    assert worker.exists()
    assert run.executed == ["materialize"]


def patch_changing_api(ws: Workspace) -> object:
    """A patch iteration's llm_output.json (in tmp) that rewrites the api's server.js only."""
    base = json.loads((APPS / "notes/llm_output.json").read_text())
    server = next(f for f in base["answer"]["files"] if f["path"] == "api/notes/server.js")
    base["kind"] = "patch"
    base["answer"] = {
        "summary": "log requests",
        "files": [{"path": server["path"], "content": server["content"] + "// patched\n"}],
    }
    path = ws.root.parent / "patch_llm_output.json"
    path.write_text(json.dumps(base))
    return path


def hashlib_of(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def test_a_new_iteration_after_rollback_builds_on_head_not_on_what_was_rolled_back(workspace: Workspace) -> None:
    ws = built(workspace)
    add_iteration(ws, "iter_002_patch", patch_changing_api(ws))
    assert run_doit(ws, *BUILD).returncode == 0
    set_head(ws, find_iteration(ws, 1))
    third = write_iteration(ws, "patch", {"llm_output.json": patch_adding_worker_comment().read_text()})
    set_head(ws, third)
    run = run_doit(ws, *BUILD)
    assert run.returncode == 0, run.output
    assert (third.path / "parent.txt").read_text() == "iter_001_notes\n"
    assert [it.name for it in up_to_head(ws)] == ["iter_001_notes", "iter_003_patch"]
    compose_file = ws.compose_path.read_text()
    assert "iter_002_patch" not in compose_file  # the rolled-back patch stays out
    assert "./iterations/iter_003_patch/workers/digest/worker.py" in compose_file


def patch_adding_worker_comment() -> Path:
    base = json.loads((APPS / "notes/llm_output.json").read_text())
    worker = next(f for f in base["answer"]["files"] if f["path"] == "workers/digest/worker.py")
    base["kind"] = "patch"
    base["answer"] = {
        "summary": "comment",
        "files": [{"path": worker["path"], "content": worker["content"] + "# ok\n"}],
    }
    path = Path(tempfile.mkdtemp()) / "llm_output.json"
    path.write_text(json.dumps(base))
    return path


def test_plain_doit_in_a_new_workspace_says_what_to_do_next(workspace: Workspace) -> None:
    run = run_doit(workspace)  # reaches no Docker: there is nothing to run
    assert run.returncode == 0, run.output
    assert 'nothing to run yet: run `doit gen desc="what to build"`' in run.output
    assert run_doit(workspace).executed == ["up"]  # asks again whether a stack should run; builds nothing
