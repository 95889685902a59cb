"""`doit prune`: the dependency images this workspace used and no iteration needs go; shared ones in use stay."""

from __future__ import annotations

import json
import uuid

import pytest
from conftest import APPS, BUILD_IMAGE, add_iteration, run_doit, wait_for_base_image

from genlib.app import registry
from genlib.stack import engine as engine_module
from genlib.stack import images, prune
from genlib.workspace import Workspace

REQUIREMENTS = "api/quotes/requirements.txt"
FAKE_IDS = {"python:3.11-slim": "sha256:py", "node:20-slim": "sha256:node"}  # the images the sets start from


def patch(ws: Workspace, name: str, files: dict[str, str]) -> None:
    """A patch iteration (as heal writes one) changing `files`."""
    folder = ws.iterations_dir / name
    folder.mkdir()
    output = json.loads((APPS / "deps" / "llm_output.json").read_text())
    output["kind"] = "patch"
    output["answer"] = {"summary": "patch", "files": [{"path": p, "content": c} for p, c in files.items()]}
    (folder / "llm_output.json").write_text(json.dumps(output))


def head_tags(ws: Workspace) -> set[str]:
    """The tags `images.build` would give HEAD's sets, computed the way it does."""
    settings = ws.settings()
    found = set()
    for deps in images.dependency_sets(ws, registry.load(ws)):
        contents = {name: source.read_bytes() for name, (_, source) in deps.files.items()}
        bases = {name: FAKE_IDS[name] for name in images.base_images(deps.runtime, settings)}
        found.add(images.plan(ws, deps, settings, contents, bases)[2])
    return found


def test_every_iteration_keeps_the_images_of_its_dependency_sets(workspace: Workspace) -> None:
    add_iteration(workspace, "iter_001_deps", "deps")
    patch(workspace, "iter_002_patch", {REQUIREMENTS: "six==1.17.0\n"})
    patch(workspace, "iter_003_patch", {"api/quotes/server.py": "print('code only')\n"})
    assert run_doit(workspace, "registry").returncode == 0
    settings = workspace.settings()
    needed = prune.needed_tags(workspace, settings, FAKE_IDS)
    at_head = head_tags(workspace)
    assert len(at_head) == 2 and at_head < needed  # HEAD's python (six 1.17.0) and node sets, as a build tags them
    (workspace.iterations_dir / "HEAD").write_text("iter_001_deps\n")  # a rollback runs on six 1.16.0 again
    assert run_doit(workspace, "registry").returncode == 0
    assert needed == at_head | head_tags(workspace) and len(needed) == 3
    assert prune.needed_tags(workspace, settings, {}) == set()  # no base image here: no image can match


@pytest.mark.docker
def test_prune_removes_what_this_workspace_no_longer_needs_and_nothing_else(engine: Workspace) -> None:
    wait_for_base_image(image=BUILD_IMAGE)
    app = json.loads((APPS / "deps" / "llm_output.json").read_text())
    for spec in app["answer"]["files"]:
        if spec["path"] == REQUIREMENTS:  # sets no other run built (Docker keeps images), so removing one is safe
            spec["content"] = f"six==1.16.0\n# test run {uuid.uuid4().hex}\n"
    (engine.root.parent / "unique.json").write_text(json.dumps(app))
    add_iteration(engine, "iter_001_deps", engine.root.parent / "unique.json")
    assert run_doit(engine, timeout=1200).returncode == 0
    old = images.tags(engine)["quotes-api"]
    source = engine.iterations_dir / "iter_001_deps" / REQUIREMENTS
    source.write_text(f"six==1.16.0\n# test run {uuid.uuid4().hex}\n")  # a person's edit: no iteration holds the first
    assert run_doit(engine, timeout=1200).returncode == 0
    current = images.tags(engine)
    others = {tag for tag in engine_tags() if tag not in images.used_tags(engine)}  # other workspaces' images
    assert {old, current["quotes-api"]} <= build_stages()  # each build left its stage (~600 MB), labelled
    status = run_doit(engine, "status")
    assert status.returncode == 0 and "disk: genlib's images" in status.output, status.output

    run = run_doit(engine, "prune")
    assert run.returncode == 0, run.output
    assert f"removed {old}" in run.output and "1 dependency image(s) removed" in run.output
    assert not {old, current["quotes-api"]} & build_stages() and "build stage(s) removed" in run.output
    left = engine_tags()
    assert old not in left and set(current.values()) <= left and others <= left
    assert old not in images.used_tags(engine)
    assert run_doit(engine).skipped[-2:] == ["up", "test"]  # the stack never noticed

    assert run_doit(engine, "down").returncode == 0
    assert "0 dependency image(s) removed" in run_doit(engine, "prune").output  # the iteration still needs them
    engine_module.remove_image(current["quotes-api"])  # made for this run only: leave no image behind


def engine_tags() -> set[str]:
    return {tag for tag in engine_module.image_ids() if tag.startswith(images.REPOSITORY + ":")}


def build_stages() -> set[str]:
    """The tags whose build left a dangling stage image here (its `genlib.built` label)."""
    client = engine_module.client()
    dangling = client.api.images(filters={"dangling": True, "label": engine_module.BUILT_LABEL})
    return {str((image.get("Labels") or {}).get(engine_module.BUILT_LABEL)) for image in dangling}
