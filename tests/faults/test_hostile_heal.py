"""Hostile and malformed patches through the real `doit heal`: refused with the rule they break,
exit 2, no patch iteration, test.yaml and every earlier file byte-identical.

The seed's HEAD has failing results (as the runner writes them), so heal asks for a
patch without Docker; every answer here is refused before anything is written. Each case runs in
steps (the default: the patch's header, then each file in a fenced block) and with steps=0 (one JSON answer);
STEPS_CASES are the answers only a heal in steps can get.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import run_doit
from ollama_server import Fault, ScriptedOllama, broken, fenced

from faults.conftest import NOTES, SEED_ITERATION, changed, error_lines, snapshot
from genlib.workspace import Workspace

SERVER = NOTES["files"][0]["path"]  # api/notes/server.js, the file a real fix would change
SOURCE = NOTES["files"][0]["content"]
FIX = SOURCE + "\n// fixed\n"
Reply = str | Fault


def patch(**fields: Any) -> str:
    return json.dumps({"summary": "a fix", "files": [{"path": SERVER, "content": FIX}], **fields})


def writing(path: str, content: str = "x\n") -> str:
    return json.dumps({"summary": "a fix", "files": [{"path": path, "content": content}]})


def weakened_person_scenario() -> str:
    mine = {"name": "api health", "kind": "http", "service": "notes-api", "request": {"path": "/health"}}
    return patch(scenarios=[{**mine, "expect": {"status": 500}}])


NOTES_API = {"name": "notes", "layer": "api", "runtime": "node", "port": 3000}
CASES: dict[str, tuple[Callable[[Path], Reply], str]] = {
    "weakens a person's scenario": (lambda _: weakened_person_scenario(), "'api health' was written by a person"),
    "claims origin user": (
        lambda _: patch(scenarios=[{"name": "mine now", "kind": "logs", "service": "notes-api", "origin": "user"}]),
        "claims origin user",
    ),
    "deletes the service a person tests": (
        lambda _: patch(files=[], deletions=["api/notes"]),
        "removes or stops service 'notes-api', which scenario 'api health'",
    ),
    "makes a tested service not run": (
        lambda _: patch(components=[NOTES_API]),
        "removes or stops service 'notes-api', which scenario 'api health'",
    ),
    "deletes what is not there": (lambda _: patch(deletions=["api/ghost/x.js"]), "names no current file"),
    "changes nothing": (lambda _: writing(SERVER, SOURCE), "patch changes nothing"),
    "touches dodo.py": (lambda _: writing("dodo.py"), "unknown layer 'dodo.py'"),
    "touches genlib": (lambda _: writing("genlib/loops/heal.py"), "unknown layer 'genlib'"),
    "touches templates": (lambda _: writing("templates/heal.md.j2"), "unknown layer 'templates'"),
    "touches test.yaml": (lambda _: writing("test.yaml", "version: 1\nscenarios: []\n"), "unknown layer 'test.yaml'"),
    "climbs out with dot-dot": (lambda _: writing("api/notes/../../../../dodo.py"), "'..' segment"),
    "absolute path": (lambda tmp: writing(str(tmp / "outside" / "x.js")), "is absolute"),
    "windows separators": (lambda _: writing("api\\notes\\server.js"), "uses a backslash"),
    "unicode look-alike": (lambda _: writing("api/notes/serv\u0435r.js"), "may only use ASCII"),
    "file of no component": (lambda _: writing("api/ghost/x.js"), "belongs to no declared component api/ghost"),
    "file over the size limit": (lambda _: writing(SERVER, "x" * (256 * 1024 + 1)), "over the limit of 262144"),
    "binary content": (lambda _: writing(SERVER, "\x00\x01\x02"), "looks binary"),
    "thousands of files": (
        lambda _: json.dumps({"files": [{"path": f"api/notes/f{n}.js", "content": "x"} for n in range(2500)]}),
        "2500 files, over the limit of 200",
    ),
    "depends_on names nothing": (
        lambda _: patch(components=[{**NOTES_API, "command": ["node", "server.js"], "depends_on": ["ghost"]}]),
        "depends_on 'ghost' names no runnable component",
    ),
    "depends_on cycle": (
        lambda _: patch(components=[{**NOTES_API, "command": ["node", "server.js"], "depends_on": ["digest"]}]),
        "depends_on makes a cycle: digest-workers -> notes-api -> digest-workers",
    ),
    "lone surrogate in content": (lambda _: writing(SERVER, "\udc00"), "holds a lone surrogate"),
    "a scenario for a service it deletes": (
        lambda _: patch(
            deletions=["workers/digest"], scenarios=[{"name": "w", "kind": "logs", "service": "digest-workers"}]
        ),
        "names service 'digest-workers', which the app would not have",
    ),
    "wrong type": (lambda _: patch(deletions="api/notes"), "deletions: Input should be a valid list"),
    "wrong schema": (lambda _: json.dumps({"patch": {SERVER: FIX}}), "patch: Extra inputs are not permitted"),
    "empty answer": (lambda _: "", "not valid JSON"),
    "truncated JSON": (lambda _: patch()[:60], "not valid JSON"),
    "stream cut mid-answer": (lambda _: broken(patch(), after=4096), "broke after 1 tokens"),
}


def header(*paths: str) -> str:
    """A patch's header in steps: the files it writes, no content yet."""
    return json.dumps({"summary": "a fix", "files": [{"path": p, "purpose": "the fix"} for p in paths]})


STEPS_CASES: dict[str, tuple[list[Reply], str]] = {
    "a shortened file": (
        [header(SERVER), fenced("// ... the rest of the file is unchanged\n")],
        "with parts left out ('... unchanged'): send the whole file",
    ),
    "a file without a fence": ([header(SERVER), FIX], "no fenced block"),
    "a file cut mid-stream": ([header(SERVER), broken(fenced(FIX), after=4096)], "broke after 1 tokens"),
    "a header that writes dodo.py": ([header("dodo.py")], "unknown layer 'dodo.py'"),
    "a header in prose": (["I will fix server.js."], "not valid JSON"),
}


# patches a whole JSON answer reads in another way than a header and fenced files: asked with steps=0 too
WHOLE_TOO = {
    "file over the size limit",
    "binary content",
    "lone surrogate in content",
    "changes nothing",
    "empty answer",
}


CLASS_OF = {"depends_on cycle": 4, "a scenario for a service it deletes": 5, "lone surrogate in content": 6}


def both_modes() -> list[Any]:
    """(case, steps): every case in steps, WHOLE_TOO with steps=0 too; each tagged with its issue-11 class."""
    pairs = [(case, "1") for case in CASES] + [(case, "0") for case in CASES if case in WHOLE_TOO]
    assert set(CLASS_OF) <= set(CASES), set(CLASS_OF) - set(CASES)
    return [
        pytest.param(c, s, marks=pytest.mark.fault_class(CLASS_OF[c])) if c in CLASS_OF else (c, s) for c, s in pairs
    ]


@pytest.mark.parametrize(("case", "steps"), both_modes())
def test_a_hostile_patch_is_refused_and_changes_nothing(
    case: str, steps: str, seeded: Workspace, ollama: ScriptedOllama, tmp_path: Path
) -> None:
    """A refused patch is a failed round (heal's journal says why), never an iteration."""
    answer, reason = CASES[case]
    ollama.enqueue(answer(tmp_path))
    refused(seeded, ollama, tmp_path, reason, f"steps={steps}")


@pytest.mark.parametrize("case", list(STEPS_CASES))
def test_a_hostile_header_or_file_is_refused_and_changes_nothing(
    case: str, seeded: Workspace, ollama: ScriptedOllama, tmp_path: Path
) -> None:
    answers, reason = STEPS_CASES[case]
    ollama.enqueue(*answers)
    refused(seeded, ollama, tmp_path, reason)


def refused(seeded: Workspace, ollama: ScriptedOllama, tmp_path: Path, reason: str, *args: str) -> None:
    """The round failed with `reason` (a tool error in one line, when the server failed), and nothing but
    heal's journal and .genlib/ changed anywhere."""
    ollama.piece = 4096
    failed_server = any(isinstance(item, Fault) for item in ollama.queue)
    before = snapshot(tmp_path)
    run = run_doit(seeded, "heal", "retries=0", "max_iter=1", "loop_guard=0", *args)  # the rules, not the guard
    if failed_server:  # the model server failed: a tool error, one line
        assert run.returncode == 2, run.output
        [error] = error_lines(run.output)
        assert reason in error and f"HEAD is {SEED_ITERATION}" in error, error
    else:
        assert run.returncode == 1, run.output
        [line] = [line for line in run.output.splitlines() if line.startswith("round 1: (no iteration)")]
        assert "no usable patch" in line and reason in line, line
        assert f"HEAD is {SEED_ITERATION}" in run.output.splitlines()[-1], run.output
    assert "Traceback" not in run.output
    journal = "ws/iterations/heal_journal.jsonl"  # the failed round, recorded on purpose
    assert [p for p in changed(before, snapshot(tmp_path)) if p != journal] == []
    assert len(ollama.app_chats()) == 1  # one round asked; no graph ran, so no second ask
