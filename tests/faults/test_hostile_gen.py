"""Hostile and malformed model answers through the real `doit gen`: each is one documented line,
a non-zero exit, nothing written outside the workspace, and the earlier state byte-identical.

Each case runs in both modes: in steps (the default) the scripted model sends the same app as a plan, then
each file in a fenced block (ollama_server.as_plan), so a hostile plan and a hostile file are refused where
they arrive; with steps=0 as one JSON answer. STEPS_CASES are the answers only a gen in steps can get."""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import run_doit
from ollama_server import Fault, ScriptedOllama, as_plan, broken, fenced

from faults.conftest import NOTES, NOTES_TEXT, SEED_ITERATION, changed, error_lines, snapshot
from genlib.workspace import Workspace

Answer = Callable[[Path], str | Fault]  # tmp_path -> what the scripted model says
STILL_INVALID = "the model's answer was still invalid after 1 attempts"
# The rules are what these cases prove, each answer as the server sends it whole: the repetition guard, which
# would stop the ones made of one character repeated first (a 1 MB description, JSON 50,000 levels deep), is off.
# test_a_looping_answer_is_stopped_and_changes_nothing proves the guard's own refusal.
GUARD_OFF = ("loop_guard=0",)


def notes_with(mutate: Callable[[dict[str, Any]], object]) -> Answer:
    """The notes answer with one thing changed."""

    def answer(_: Path) -> str:
        data = copy.deepcopy(NOTES)
        mutate(data)
        return json.dumps(data)

    return answer


def first_path(path: str) -> Answer:
    return notes_with(lambda d: d["files"][0].update(path=path))


def first_content(content: str) -> Answer:
    return notes_with(lambda d: d["files"][0].update(content=content))


def component(**change: object) -> Answer:
    return notes_with(lambda d: d["components"][1].update(change))


def fixed(text: str) -> Answer:
    return lambda _: text


def outside_path(tmp_path: Path) -> str:
    return json.dumps({**NOTES, "files": [{"path": str(tmp_path / "outside" / "x.js"), "content": "x"}]})


def many_files(count: int) -> Answer:
    files = [{"path": f"api/notes/f{n}.js", "content": "// x\n"} for n in range(count)]
    return notes_with(lambda d: d.update(files=files))


# name -> (answer, the documented reason in the one ERROR line)
CASES: dict[str, tuple[Answer, str]] = {
    # path traversal, every form
    "dot-dot at the start": (first_path("../../../outside/x.js"), "has an empty, '.' or '..' segment"),
    "dot-dot in the middle": (first_path("api/notes/../../../../outside/x.js"), "'..' segment"),
    "absolute path": (outside_path, "is absolute; paths are relative to the iteration"),
    "home path": (first_path("~/.bashrc"), "is absolute"),
    "dot segment": (first_path("./api/notes/server.js"), "'.' or '..' segment"),
    "empty segment": (first_path("api//notes/server.js"), "empty, '.' or '..' segment"),
    "windows separators": (first_path("api\\notes\\..\\..\\..\\outside\\x.js"), "uses a backslash"),
    "windows drive": (first_path("C:/Windows/x.js"), "segment 'C:' may only use ASCII"),
    "nul byte": (first_path("api/notes/server.js\x00.png"), "contains a NUL byte"),
    "cyrillic look-alike": (first_path("api/notes/serv\u0435r.js"), "may only use ASCII letters"),
    "one-dot-leader dot-dot": (first_path("api/notes/\u2025/\u2025/x.js"), "may only use ASCII letters"),
    "fullwidth solidus": (first_path("api/notes\uff0f..\uff0fx.js"), "may only use ASCII letters"),
    "right-to-left override": (first_path("api/notes/x\u202esj.exe"), "may only use ASCII letters"),
    # genlib's own files and the workspace's
    "touches dodo.py": (first_path("dodo.py"), "unknown layer 'dodo.py'"),
    "touches genlib": (first_path("genlib/loops/gen.py"), "unknown layer 'genlib'"),
    "touches templates": (first_path("templates/gen.md.j2"), "unknown layer 'templates'"),
    "touches test.yaml": (first_path("test.yaml"), "unknown layer 'test.yaml'"),
    "touches HEAD": (first_path("iterations/HEAD"), "unknown layer 'iterations'"),
    "deletes dodo.py": (notes_with(lambda d: d.update(deletions=["dodo.py"])), "must be a file path or <layer>"),
    "deletes through dot-dot": (notes_with(lambda d: d.update(deletions=["api/../../x"])), "'..' segment"),
    # contents and counts
    "file over the size limit": (first_content("x" * (256 * 1024 + 1)), "over the limit of 262144"),
    "binary content": (first_content("\x7fELF\x02\x01\x01\x00\x00"), "looks binary (control characters)"),
    "thousands of files": (many_files(3000), "files, over the limit of 200"),  # 3001: the worker's own planned too
    "duplicate paths": (notes_with(lambda d: d["files"].append(d["files"][0])), "appears twice"),
    "duplicate by case": (
        notes_with(lambda d: d["files"].append({**d["files"][0], "path": "api/notes/SERVER.js"})),
        "'api/notes/SERVER.js' appears twice (letter case aside)",
    ),
    "written and deleted": (notes_with(lambda d: d.update(deletions=[d["files"][0]["path"]])), "written and deleted"),
    "file of no component": (first_path("api/ghost/x.js"), "belongs to no declared component api/ghost"),
    "component declared twice": (notes_with(lambda d: d["components"].append(d["components"][0])), "declared twice"),
    # wrong types, field by field
    "summary not a string": (notes_with(lambda d: d.update(summary=5)), "summary: Input should be a valid string"),
    "components not a list": (notes_with(lambda d: d.update(components="all")), "components: Input should be a valid"),
    "component name with a slash": (component(name="../notes"), "components.1.name: String should match pattern"),
    "unknown layer in a component": (component(layer="database"), "components.1.layer: Input should be"),
    "unknown runtime": (component(runtime="ruby"), "components.1.runtime: Input should be"),
    "port not a number": (component(port="three thousand"), "components.1.port: Input should be a valid integer"),
    "privileged port": (component(port=80), "components.1.port: Input should be greater than or equal to 1024"),
    "command as a string": (component(command="node server.js"), "components.1.command: Input should be a valid list"),
    "health without slash": (component(health="health"), "field health: 'health' must be a plain URL path"),
    "depends_on as a string": (component(depends_on="web"), "components.1.depends_on: Input should be a valid list"),
    "depends_on names nothing": (component(depends_on=["ghost"]), "depends_on 'ghost' names no runnable component"),
    "depends_on through dot-dot": (component(depends_on=["../web"]), "depends_on '../web' names no runnable"),
    "files not a list": (notes_with(lambda d: d.update(files={"a": "b"})), "files: Input should be a valid list"),
    "path not a string": (first_path(7), "files.0.path: Input should be a valid string"),  # type: ignore[arg-type]
    "content not a string": (first_content(["x"]), "files.0.content: Input should be a valid string"),  # type: ignore[arg-type]
    "deletions as a string": (notes_with(lambda d: d.update(deletions="api/notes")), "deletions: Input should be"),
    "scenario of an unknown kind": (
        notes_with(lambda d: d["scenarios"].append({"name": "x", "kind": "sql", "service": "notes-api"})),
        "scenarios.7: Input tag 'sql'",
    ),
    "scenario for no service": (
        notes_with(lambda d: d["scenarios"].append({"name": "x", "kind": "logs", "service": "ghost-api"})),
        "names service 'ghost-api', which the app would not have",
    ),
    # answers that pass the schema but would break the app (issue 11, classes 3, 4, 6, 9, 10)
    "depends_on cycle": (
        notes_with(lambda d: d["components"][1].update(depends_on=["digest"])),
        "depends_on makes a cycle: digest-workers -> notes-api -> digest-workers",
    ),
    "a C1 control YAML folds": (
        component(command=["node", "server.js\x85"]),
        "command[1]: holds the control character U+0085",
    ),
    "health that injects code": (component(health="/');import os;('"), "must be a plain URL path"),
    "lone surrogate in content": (first_content("ok \ud800"), "holds a lone surrogate"),
    "lone surrogate in summary": (
        notes_with(lambda d: d.update(summary="\udfff")),
        "field summary: holds a lone surrogate",
    ),
    "JSON nested very deep": (
        fixed('{"summary": ' + "[" * 50_000 + "]" * 50_000 + "}"),
        "nested deeper than 64 levels",
    ),
    "a 1 MB description": (component(description="x" * 1_000_000), "components[1].description: 1000000 characters"),
    "too many components": (
        notes_with(
            lambda d: d["components"].extend(
                {"name": f"s{n}", "layer": "deployment", "runtime": "shell"} for n in range(40)
            )
        ),
        "the app would have 43 components, over the limit of 30",
    ),
    "a segment over the length limit": (first_path("api/notes/" + "a" * 120 + ".js"), "a segment is 123 characters"),
    # scenarios built to crash or hang `doit test` (class 2): refused where they enter test.yaml
    "scenario path with CR/LF": (
        notes_with(lambda d: d["scenarios"][0]["request"].update(path="/health\r\nX-Evil: 1")),
        "scenarios.0.http.request.path: Value error, '/health\\r\\nX-Evil: 1' is not a URL path",
    ),
    "scenario header not ASCII": (
        notes_with(lambda d: d["scenarios"][0]["request"].update(headers={"X-Name": "Zoë"})),
        "scenarios.0.http.request.headers.X-Name: Value error, 'Zoë' is not a header value",
    ),
    "scenario timeout Infinity": (
        notes_with(lambda d: d["scenarios"][0].update(timeout=float("inf"))),
        "scenarios.0.http.timeout: Input should be a finite number",
    ),
    "scenario timeout 1e9": (
        notes_with(lambda d: d["scenarios"][0].update(timeout=1e9)),
        "scenarios.0.http.timeout: Input should be less than or equal to 300",
    ),
    "scenario timeout negative": (
        notes_with(lambda d: d["scenarios"][6].update(timeout=-1)),
        "scenarios.6.exec.timeout: Input should be greater than 0",
    ),
    # not an answer at all
    "empty answer": (fixed(""), "not valid JSON (Expecting value: line 1 column 1"),
    "truncated JSON": (fixed(NOTES_TEXT[: len(NOTES_TEXT) // 2]), "not valid JSON"),
    "JSON but a list": (fixed("[1, 2]"), "does not match the schema: (top level): Input should be a valid dictionary"),
    "JSON but null": (fixed("null"), "does not match the schema"),
    "an empty object": (fixed("{}"), "the answer holds no files"),
    "wrong schema": (fixed(json.dumps({"app": {"files": NOTES["files"]}})), "app: Extra inputs are not permitted"),
    "llm_output instead of answer": (
        fixed(json.dumps({"format": "genlib.llm_output/1", "kind": "gen", "answer": NOTES})),
        "format: Extra inputs are not permitted",
    ),
    "prose around the JSON": (fixed("Sure! Here is the app:\n" + NOTES_TEXT), "not valid JSON"),
    "stream cut mid-answer": (lambda _: broken(NOTES_TEXT, after=4096 * 2), "broke after 2 tokens"),
}


# in steps the same answer breaks a rule in another place: the reason there (None: it cannot be sent in steps)
REASON_IN_STEPS: dict[str, str | None] = {
    "content not a string": "files.0.content: Extra inputs are not permitted",  # the content, inside the plan
    "stream cut mid-answer": "broke after 1 tokens",  # the plan it cuts is shorter than the whole answer
}
PLAN, _ = as_plan(NOTES_TEXT)
WORKER = "workers/digest/worker.py"  # the notes app's plan; each file's answer comes next from the queue


def plan_then(*files: str | Fault) -> Callable[[Path], list[str | Fault]]:
    return lambda _: [PLAN, *files]


# a hostile plan, or a hostile answer for one file: name -> (what the model says, the reason)
STEPS_CASES: dict[str, tuple[Callable[[Path], list[str | Fault]], str]] = {
    "a file without a fence": (plan_then("const x = 1;\n"), "no fenced block"),
    "a file in two fenced blocks": (plan_then("```\na\n```\n```\nb\n```\n"), "more than one fenced block"),
    "a fence that never closes": (plan_then("```\nconst x = 1;\n"), "the fenced block never closes"),
    "an empty file": (plan_then("```\n```\n"), "api/notes/server.js is empty"),
    "NUL bytes in a file": (plan_then(fenced("const x = 1;\x00\x00\n")), "looks binary (control characters)"),
    "a file of one huge line": (plan_then(fenced("x" * (256 * 1024 + 1))), "over the limit of 262144"),
    "python that does not parse": (
        lambda _: [json.dumps({**json.loads(PLAN), "files": [{"path": WORKER}]}), fenced("def (:\n")],
        "python syntax error",
    ),
    "an interface of an unknown kind": (
        lambda _: [json.dumps({**json.loads(PLAN), "interfaces": [{"kind": "sql", "name": "x"}]})],
        "interfaces.0.kind: Input should be 'route', 'env' or 'message'",
    ),
    "a plan in prose": (lambda _: ["The plan: three components, a page, an API and a worker."], "not valid JSON"),
}


# answers a whole JSON answer reads in another way than a plan and fenced files: asked with steps=0 too
# (the plan is checked by the same rules as a whole answer, so the other cases run in steps only)
WHOLE_TOO = {
    "file over the size limit",
    "binary content",
    "content not a string",
    "lone surrogate in content",
    "JSON nested very deep",
    "truncated JSON",
    "prose around the JSON",
    "stream cut mid-answer",
}


def both_modes() -> list[Any]:
    """(case, steps): every case in steps, WHOLE_TOO with steps=0 too; each tagged with its issue-11 class."""
    pairs = [(case, "1") for case in CASES if REASON_IN_STEPS.get(case, "") is not None]
    pairs += [(case, "0") for case in CASES if case in WHOLE_TOO]
    assert set(CLASS_OF) <= set(CASES), set(CLASS_OF) - set(CASES)
    return [
        pytest.param(c, s, marks=pytest.mark.fault_class(CLASS_OF[c])) if c in CLASS_OF else (c, s) for c, s in pairs
    ]


@pytest.fixture
def fast_ollama(ollama: ScriptedOllama) -> ScriptedOllama:
    ollama.piece = 4096  # big answers in few chunks; the content is the same
    return ollama


CLASS_OF = {  # the cases that prove one of issue 11's classes (docs/guarantees.md)
    "scenario path with CR/LF": 2,
    "scenario header not ASCII": 2,
    "scenario timeout Infinity": 2,
    "scenario timeout 1e9": 2,
    "scenario timeout negative": 2,
    "too many components": 3,
    "depends_on cycle": 4,
    "a C1 control YAML folds": 4,
    "scenario for no service": 5,
    "lone surrogate in content": 6,
    "lone surrogate in summary": 6,
    "JSON nested very deep": 6,
    "a 1 MB description": 9,
    "a segment over the length limit": 10,
}


@pytest.mark.parametrize(("case", "steps"), both_modes())
def test_a_hostile_gen_answer_is_refused_and_changes_nothing(
    case: str, steps: str, seeded: Workspace, fast_ollama: ScriptedOllama, tmp_path: Path
) -> None:
    answer, reason = CASES[case]
    reason = (REASON_IN_STEPS.get(case) or reason) if steps == "1" else reason
    fast_ollama.enqueue(answer(tmp_path))
    refused(seeded, tmp_path, reason, f"steps={steps}")


@pytest.mark.parametrize("case", list(STEPS_CASES))
def test_a_hostile_plan_or_file_is_refused_and_changes_nothing(
    case: str, seeded: Workspace, fast_ollama: ScriptedOllama, tmp_path: Path
) -> None:
    answers, reason = STEPS_CASES[case]
    fast_ollama.enqueue(*answers(tmp_path))
    refused(seeded, tmp_path, reason)


@pytest.mark.fault_class(3)
def test_a_looping_answer_is_stopped_and_changes_nothing(
    seeded: Workspace, fast_ollama: ScriptedOllama, tmp_path: Path
) -> None:
    fast_ollama.enqueue('{"summary": "tags", "files": [' + '{"path": "api/notes/tags.py", "content": ""}, ' * 5000)
    before = snapshot(tmp_path)
    run = run_doit(seeded, "gen", "desc=add tags to notes", "retries=0")
    assert run.returncode == 2, run.output
    [error] = error_lines(run.output)
    assert f"{STILL_INVALID} (stopped a looping answer after " in error
    assert any(line.startswith("stopped a looping answer after ") for line in run.output.splitlines())  # as it came
    assert changed(before, snapshot(tmp_path)) == []
    assert [p.name for p in seeded.iterations_dir.iterdir()] == [SEED_ITERATION]


def refused(seeded: Workspace, tmp_path: Path, reason: str, *args: str) -> None:
    """`doit gen` failed with one line holding `reason`, and nothing but .genlib/ changed anywhere."""
    before = snapshot(tmp_path)
    run = run_doit(seeded, "gen", "desc=add tags to notes", "retries=0", *GUARD_OFF, *args)
    assert run.returncode == 2, run.output
    errors = error_lines(run.output)
    assert len(errors) == 1, run.output
    if "broke after" not in reason:
        assert STILL_INVALID in errors[0], errors[0]
    assert reason in errors[0], errors[0]
    assert "Traceback" not in run.output
    assert changed(before, snapshot(tmp_path)) == []  # nothing outside, nothing inside (but .genlib/)
    assert [p.name for p in seeded.iterations_dir.iterdir()] == [SEED_ITERATION]


def test_a_rejected_answer_goes_back_to_the_model_then_a_good_one_lands(
    seeded: Workspace, fast_ollama: ScriptedOllama
) -> None:
    """The retry path: the reason reaches the model, and the corrected answer is the iteration."""
    fast_ollama.enqueue(first_path("../../../outside/x.js")(seeded.root), NOTES_TEXT)
    run = run_doit(seeded, "gen", "desc=the notes app again", "retries=1")
    assert run.returncode == 0, run.output
    feedback = fast_ollama.app_chats()[1]["messages"][-1]["content"]  # the plan, asked again
    assert "Your answer was rejected: answer: file path '../../../outside/x.js' has an empty" in feedback
    assert (seeded.iterations_dir / "iter_002_the_notes_app_again" / "api/notes/server.js").is_file()


def test_a_symlink_planted_in_an_earlier_iteration_is_never_written_through(
    seeded: Workspace, fast_ollama: ScriptedOllama, tmp_path: Path
) -> None:
    """Someone swapped iter_001's api/notes for a link out of the workspace: gen stops before asking,
    and the rebuild it points to refuses to write through the link."""
    outside = tmp_path / "outside"
    outside.mkdir()
    planted = seeded.iterations_dir / SEED_ITERATION / "api" / "notes"
    shutil.rmtree(planted)
    planted.symlink_to(outside)
    fast_ollama.enqueue(NOTES_TEXT)
    gen = run_doit(seeded, "gen", "desc=the notes app again", "retries=0")
    assert gen.returncode == 2, gen.output
    assert error_lines(gen.output) == [f"ERROR: {planted}/server.js is missing; run `doit` to materialize it again"]
    assert fast_ollama.chats() == []
    build = run_doit(seeded, "materialize", "registry", "compose")
    assert build.returncode == 2, build.output
    assert error_lines(build.output) == [f"ERROR: materialize: {planted} is a symlink; refusing to write through it"]
    assert "Traceback" not in gen.output + build.output
    assert list(outside.iterdir()) == []
    assert [p.name for p in seeded.iterations_dir.iterdir()] == [SEED_ITERATION]
