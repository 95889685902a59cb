"""Images per dependency set, on the real engine: count the builds and the recreated containers."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from conftest import APPS, BUILD_IMAGE, DoitRun, add_iteration, run_doit, wait_for_base_image
from ollama_server import ScriptedOllama

from genlib import process
from genlib.app import registry
from genlib.checks import runner
from genlib.documents.llm_output import ComponentSpec
from genlib.documents.manifest import Manifest
from genlib.documents.results import RunReport
from genlib.model import healprompt
from genlib.stack import images, ports
from genlib.stack.engine import Stack
from genlib.workspace import Workspace

ITERATION = "iter_001_deps"
REQUIREMENTS = "api/quotes/requirements.txt"
SERVER = "api/quotes/server.py"
_BUILDING = re.compile(r"^\s+(\S+): building (genlib/deps:\S+)", re.MULTILINE)


def built(run: DoitRun) -> list[str]:
    """The services whose image this run built (genlib says so once per build)."""
    return [m.group(1) for m in _BUILDING.finditer(run.output)]


def layer_file(ws: Workspace, rel: str) -> Path:
    return ws.iterations_dir / ITERATION / rel


def unique(text: str) -> str:
    """A dependency file no earlier test run built: Docker keeps images across runs and workspaces."""
    return f"{text}# test run {uuid.uuid4().hex}\n"


def get(ws: Workspace, service: str, path: str) -> httpx.Response:
    port = ports.load(ws)[service]
    return httpx.get(f"http://127.0.0.1:{port}{path}", timeout=10, trust_env=False)


def doit(ws: Workspace, *args: str) -> DoitRun:
    run = run_doit(ws, *args, timeout=1200)
    assert run.returncode == 0, run.output
    return run


# -- without Docker ---------------------------------------------------------------------------------


def test_the_tag_is_a_hash_of_what_the_image_is_made_of() -> None:
    base = {"genlib/base:bookworm": "sha256:aa"}
    tag = images.image_tag("python", "FROM x", {"requirements.txt": b"six==1.16.0\n"}, base)
    assert tag == images.image_tag("python", "FROM x", {"requirements.txt": b"six==1.16.0\n"}, base)
    assert re.fullmatch(r"genlib/deps:python-[0-9a-f]{16}", tag)
    others = [
        images.image_tag("python", "FROM y", {"requirements.txt": b"six==1.16.0\n"}, base),
        images.image_tag("python", "FROM x", {"requirements.txt": b"six==1.17.0\n"}, base),
        images.image_tag(
            "python", "FROM x", {"requirements.txt": b"six==1.16.0\n"}, {"genlib/base:bookworm": "sha256:bb"}
        ),
    ]
    assert tag not in others and len(set(others)) == 3


def test_the_dockerfile_installs_outside_app_with_the_index_settings(workspace: Workspace) -> None:
    settings = workspace.settings(
        {"pip_index_url": "http://pypi.internal/simple", "npm_registry": "http://npm.internal/"}
    )
    python = images.DepSet("quotes-api", "python", {"requirements.txt": ("api/quotes/requirements.txt", Path("x"))})
    text = images.render_dockerfile(workspace, python, settings, with_ca=True)
    assert "FROM python:3.11-slim AS build" in text and "COPY genlib-ca.crt" in text
    assert "ARG PIP_INDEX_URL\n" in text and "ENV PATH=/opt/genlib/venv/bin:$PATH" in text
    assert "pypi.internal" not in text  # a build argument: a password in it is never printed with the steps
    assert images.build_args("python", settings) == {"PIP_INDEX_URL": "http://pypi.internal/simple"}
    files = {"package.json": ("frontend/clock/package.json", Path("x")), "package-lock.json": ("l", Path("y"))}
    node = images.render_dockerfile(workspace, images.DepSet("clock-frontend", "node", files), settings, with_ca=False)
    assert (
        "npm ci --omit=dev --ignore-scripts" in node
        and "COPY --from=build /genlib/node/node_modules /node_modules" in node
    )
    assert "genlib-ca.crt" not in node and "ARG npm_config_registry\n" in node


def test_the_owners_of_dependency_files_follow_the_manifests() -> None:
    quotes = ComponentSpec(name="quotes", layer="api", runtime="python", command=["python3", "s.py"])
    first = Manifest(source_sha256="", files={}, components=[quotes, quotes.model_copy(update={"name": "plain"})])
    paths = {"api/quotes/requirements.txt"}
    assert images.declared_owners(paths, [first]) == {"api/quotes": ["python", True]}
    to_node = Manifest(source_sha256="", files={}, components=[quotes.model_copy(update={"runtime": "node"})])
    assert images.declared_owners(paths, [first, to_node]) == {"api/quotes": ["node", True]}  # a new image
    gone = Manifest(source_sha256="", files={}, deletions=["api/quotes"])
    assert images.declared_owners(paths, [first, gone]) == {}


def test_the_evidence_of_a_failed_build_keeps_every_error_line_whole_wherever_it_is() -> None:
    log = ["Step 1/9 : FROM genlib/base:bookworm-build", *[f"noise {i}" for i in range(200)]]
    log += ["Step 5/9 : RUN pip install -r requirements.txt", "Collecting six==1.16.0"]
    log += ["\x1b[91mERROR: No matching distribution found for nope==1.0", "\x1b[0m"]  # pip colours it
    log += [*[f"chatter {i}" for i in range(500)], "done"]
    found = images.scan_build(log, "The command '/bin/sh -c pip install' returned a non-zero code: 1")
    text = found.digest("of the failed build step")
    assert "noise 3" not in text and "\x1b" not in text  # the failed step's lines, without colour codes
    assert "\nERROR: No matching distribution found for nope==1.0\n" in text.split("--- last lines ---")[0]
    assert text.rstrip().endswith("returned a non-zero code: 1") and "chatter 300\n" not in text  # bounded


@pytest.mark.docker
def test_code_edits_build_nothing_and_dependency_edits_build_one_image(engine: Workspace) -> None:
    wait_for_base_image(image=BUILD_IMAGE)
    add_iteration(engine, ITERATION, "deps")
    first = doit(engine)
    assert get(engine, "quotes-api", "/version").json()["six"] == "1.16.0"  # requirements.txt installed
    assert get(engine, "clock-frontend", "/").text == "one minute is 1m\n"  # package.json installed
    tags = images.tags(engine)
    assert sorted(tags) == ["clock-frontend", "quotes-api"] and len(set(tags.values())) == 2, first.output
    stack = Stack(engine)

    again = doit(engine)
    assert built(again) == [] and "images" not in again.executed

    before = stack.container_ids()
    server = layer_file(engine, SERVER)
    server.write_text(server.read_text().replace('"status": "ok"', '"status": "edited"'))
    code_edit = doit(engine)
    assert built(code_edit) == [] and images.tags(engine) == tags
    assert _changed(before, stack.container_ids()) == ["quotes-api"]
    assert get(engine, "quotes-api", "/version").json() == {"status": "edited", "six": "1.16.0"}

    before = stack.container_ids()
    layer_file(engine, REQUIREMENTS).write_text(unique("six==1.17.0\n"))
    dep_edit = doit(engine)
    assert built(dep_edit) == ["quotes-api"], dep_edit.output
    assert images.tags(engine)["clock-frontend"] == tags["clock-frontend"]
    assert _changed(before, stack.container_ids()) == ["quotes-api"]
    assert get(engine, "quotes-api", "/version").json()["six"] == "1.17.0"

    process.run(["docker", "rmi", "-f", images.tags(engine)["quotes-api"]])
    rebuilt = doit(engine)
    assert built(rebuilt) == ["quotes-api"], rebuilt.output
    assert process.run(["docker", "image", "inspect", images.tags(engine)["quotes-api"]], check=False)[0] == 0

    good = images.tags(engine)
    layer_file(engine, REQUIREMENTS).write_text(f"six==1.17.0\n{MISSING}\n")
    failed = run_doit(engine, timeout=1200)
    assert failed.returncode == 1 and built(failed) == ["quotes-api"], failed.output  # failed tests, no tool error
    assert images.tags(engine) == good  # the stack keeps the images that built
    assert images.up_to_date(engine) is False  # so the next `doit` tries the build again


@pytest.mark.docker
def test_dependency_files_naming_no_package_build_nothing(engine: Workspace) -> None:
    """A package.json holding only `scripts`, a requirements.txt of comments: a model writes them for apps
    using only the standard library. No image to build (npm would make no node_modules to copy)."""
    app = json.loads((APPS / "notes" / "llm_output.json").read_text())
    app["answer"]["files"] += [
        {"path": "api/notes/package.json", "content": '{"name": "notes", "scripts": {"start": "node server.js"}}'},
        {"path": "workers/digest/requirements.txt", "content": "# the standard library is enough\n"},
    ]
    source = engine.root.parent / "no_packages.json"
    source.write_text(json.dumps(app))
    add_iteration(engine, ITERATION, source)
    run = run_doit(engine, timeout=1200)
    assert run.returncode == 0, run.output
    assert built(run) == [] and images.tags(engine) == {}, run.output


MISSING = "genlib-no-such-package-3f9c==1.0.0"  # pip asks the index each time: no image ever holds it


def _changed(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted(name for name, cid in after.items() if before.get(name) != cid)


@pytest.mark.docker
def test_a_package_that_does_not_exist_fails_the_run_and_heal_fixes_the_file(
    engine: Workspace, ollama: ScriptedOllama
) -> None:
    wait_for_base_image(image=BUILD_IMAGE)
    app = json.loads((APPS / "deps" / "llm_output.json").read_text())
    answer = app["answer"]  # the python API alone: its build is what this test is about
    answer["components"] = [c for c in answer["components"] if c["name"] == "quotes"]
    answer["files"] = [f for f in answer["files"] if f["path"].startswith("api/quotes/")]
    for spec in answer["files"]:
        if spec["path"] == REQUIREMENTS:
            spec["content"] = f"six==1.16.0\n{MISSING}\n"
    source = engine.root.parent / "broken.json"
    source.write_text(json.dumps(app))
    add_iteration(engine, ITERATION, source)

    failed = run_doit(engine, timeout=1200)
    assert failed.returncode == 1, failed.output  # failed tests, not a tool error
    results = json.loads((engine.iterations_dir / ITERATION / "results.json").read_text())["results"]
    build = next(r for r in results if r["kind"] == "build")
    assert build["service"] == "quotes-api" and build["status"] == "failed"
    assert build["evidence"]["files"] == [REQUIREMENTS]
    assert "No matching distribution found for " + MISSING in build["evidence"]["build_log"]
    assert "quotes-api" not in images.tags(engine)  # nothing built: the service ran on the base image

    fix = {
        "summary": "drop a package that does not exist",
        "files": [{"path": REQUIREMENTS, "content": "six==1.16.0\n"}],
    }
    ollama.enqueue(json.dumps(fix))
    healed = run_doit(engine, "heal", timeout=1200)
    assert healed.returncode == 0, healed.output
    prompt = ollama.chats()[0]["messages"][0]["content"]
    assert f"### {REQUIREMENTS}" in prompt and MISSING in prompt  # the file to fix, and why
    assert get(engine, "quotes-api", "/version").json()["six"] == "1.16.0"


# Real pip and npm failures: a version that does not exist, a package that does not exist (issue 24 item 9).
FAILING_SETS = {
    "pyversion": ("python", "requirements.txt", "requests==99.99.99\n"),
    "pymissing": ("python", "requirements.txt", f"{MISSING}\n"),
    "nodeversion": ("node", "package.json", '{"name": "v", "version": "1.0.0", "dependencies": {"ms": "99.99.99"}}'),
    "nodemissing": (
        "node",
        "package.json",
        json.dumps({"name": "m", "dependencies": {MISSING.split("==")[0]: "1.0.0"}}),
    ),
}
TELLING = {  # the line that says why, as pip and npm print it (coloured, and npm's in pieces of lines)
    "pyversion": "ERROR: No matching distribution found for requests==99.99.99",
    "pymissing": f"ERROR: No matching distribution found for {MISSING}",
    "nodeversion": "npm ERR! notarget No matching version found for ms@99.99.99.",
    "nodemissing": f"npm ERR! 404 Not Found - GET https://registry.npmjs.org/{MISSING.split('==')[0]}",
}


@pytest.mark.docker
def test_real_pip_and_npm_failures_reach_the_heal_prompt_whole(engine: Workspace) -> None:
    wait_for_base_image(image=BUILD_IMAGE)
    components, files = [], []
    for name, (runtime, depfile, content) in FAILING_SETS.items():
        entry = "server.py" if runtime == "python" else "server.js"
        command = ["python3", entry] if runtime == "python" else ["node", entry]
        components.append({"name": name, "layer": "workers", "runtime": runtime, "command": command})
        files += [{"path": f"workers/{name}/{depfile}", "content": content}]
        files += [{"path": f"workers/{name}/{entry}", "content": "print(1)\n" if runtime == "python" else "1;\n"}]
    app = {"format": "genlib.llm_output/1", "kind": "gen", "description": "failing builds",
           "answer": {"components": components, "files": files}}  # fmt: skip
    source = engine.root.parent / "failing.json"
    source.write_text(json.dumps(app))
    add_iteration(engine, ITERATION, source)
    doit(engine, "images")  # a failed build is recorded, not a tool error

    found = {r.service: r for r in runner.build_results(engine)}
    assert sorted(found) == sorted(f"{name}-workers" for name in FAILING_SETS)
    report = RunReport.of(ITERATION, datetime.now(UTC), 1.0, list(found.values()))
    prompt = healprompt.build(engine, results=report, registry=registry.load(engine), rounds=[], budget=20000).text
    for name, line in TELLING.items():
        result = found[f"{name}-workers"]
        assert "\x1b" not in result.evidence.build_log
        assert f"\n{line}\n" in result.evidence.build_log, result.evidence.build_log
        assert line in result.reason or (name == "nodeversion" and "No matching version found" in result.reason)
        assert line in prompt, prompt  # whole, wherever it was in the log
