"""A bad llm_output.json is one clear line naming file and field; nothing is written."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import APPS, run_doit

from genlib.workspace import Workspace

Mutation = Callable[[dict[str, Any]], Any]


def notes() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((APPS / "notes/llm_output.json").read_text())
    return data


def set_path(path: str) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        data["answer"]["files"][0]["path"] = path

    return mutate


def set_content(content: str) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        data["answer"]["files"][0]["content"] = content

    return mutate


def duplicate_first_file(data: dict[str, Any]) -> None:
    data["answer"]["files"].append(dict(data["answer"]["files"][0]))


CASES: dict[str, tuple[Mutation, str]] = {
    "unknown version": (lambda d: d.update(format="genlib.llm_output/9"), "unknown version"),
    "missing answer": (lambda d: d.pop("answer"), "answer: Field required"),
    "missing content": (lambda d: d["answer"]["files"][0].pop("content"), "answer.files.0.content: Field required"),
    "unknown field": (lambda d: d["answer"].update(shell="rm -rf /"), "answer.shell: Extra inputs are not permitted"),
    "wrong type": (lambda d: d["answer"].update(files="all of them"), "answer.files: Input should be a valid list"),
    "absolute path": (set_path("/etc/passwd"), "is absolute"),
    "home path": (set_path("~/.bashrc"), "is absolute"),
    "dot-dot": (set_path("api/notes/../../../../etc/x"), "'..' segment"),
    "backslash": (set_path("api\\notes\\x.js"), "backslash"),
    "nul byte": (set_path("api/notes/x\x00.js"), "NUL byte"),
    "look-alike": (set_path("api/notes/serv\u0435r.js"), "ASCII"),
    "unknown layer": (set_path("database/notes/x.sql"), "unknown layer 'database'"),
    "no component": (set_path("api/x.js"), "<layer>/<component>/<file>"),
    "empty path": (set_path(""), "file path is empty"),
    "duplicate path": (duplicate_first_file, "appears twice"),
    "shell that runs": (
        lambda d: d["answer"]["components"].append(
            {"name": "deploy", "layer": "deployment", "runtime": "shell", "command": ["sh", "deploy.sh"]}
        ),
        "runtime shell is an artifact that genlib keeps but never runs",
    ),
    "binary content": (set_content("\x00\x01\x02ELF"), "looks binary"),
    "huge content": (set_content("x" * (256 * 1024 + 1)), "over the limit"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_output_is_one_line_and_writes_nothing(workspace: Workspace, case: str) -> None:
    mutate, expected = CASES[case]
    data = notes()
    mutate(data)
    folder = workspace.iterations_dir / "iter_001_bad"
    folder.mkdir()
    (folder / "llm_output.json").write_text(json.dumps(data))
    run = run_doit(workspace, "materialize", "registry", "compose")
    assert run.returncode == 2, run.output
    errors = [line for line in run.output.splitlines() if line.startswith("ERROR:")]
    assert len(errors) == 1, run.output
    assert "iter_001_bad/llm_output.json" in errors[0]
    assert expected in errors[0]
    assert "Traceback" not in run.output
    assert sorted(p.name for p in folder.iterdir()) == ["llm_output.json"]
    assert not workspace.registry_path.exists()


def test_not_json(workspace: Workspace) -> None:
    folder = workspace.iterations_dir / "iter_001_bad"
    folder.mkdir()
    (folder / "llm_output.json").write_text('{"format": "genlib.llm_output/1", "answer": {')
    run = run_doit(workspace, "materialize")
    assert run.returncode == 2
    assert "iter_001_bad/llm_output.json: not valid JSON" in run.output


def test_a_planted_symlink_is_never_followed(workspace: Workspace, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    folder = workspace.iterations_dir / "iter_001_notes"
    folder.mkdir()
    (folder / "llm_output.json").write_text(json.dumps(notes()))
    (folder / "api").symlink_to(outside)
    run = run_doit(workspace, "materialize")
    assert run.returncode == 2
    assert "is a symlink; refusing to write through it" in run.output
    assert list(outside.iterdir()) == []


def test_hand_broken_registry_names_the_line(workspace: Workspace) -> None:
    folder = workspace.iterations_dir / "iter_001_notes"
    folder.mkdir()
    (folder / "llm_output.json").write_text(json.dumps(notes()))
    assert run_doit(workspace, "compose").returncode == 0
    compose_before = workspace.compose_path.read_bytes()
    workspace.registry_path.write_text("version: 1\ncomponents: [\n  - oops: : :\n")
    run = run_doit(workspace, "compose")
    assert run.returncode == 2
    assert "registry.yaml:" in run.output and "not valid YAML" in run.output
    assert workspace.compose_path.read_bytes() == compose_before


def test_undefined_template_variable_names_variable_and_line(workspace: Workspace) -> None:
    folder = workspace.iterations_dir / "iter_001_notes"
    folder.mkdir()
    (folder / "llm_output.json").write_text(json.dumps(notes()))
    assert run_doit(workspace, "compose").returncode == 0
    compose_before = workspace.compose_path.read_bytes()
    lines = workspace.compose_template.read_text().splitlines()
    at = next(i for i, line in enumerate(lines) if "working_dir" in line)
    lines.insert(at, "    hostname: {{ s.hostnme }}")
    workspace.compose_template.write_text("\n".join(lines) + "\n")
    run = run_doit(workspace, "compose")
    assert run.returncode == 2
    assert f"docker-compose.yml.j2:{at + 1}:" in run.output
    assert "hostnme" in run.output
    assert workspace.compose_path.read_bytes() == compose_before
