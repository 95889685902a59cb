"""A gen in steps (the default): a plan, then each file as plain text, against the scripted Ollama."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import APPS, run_doit
from ollama_server import ScriptedOllama, as_plan, cut, slow
from openai_server import MODEL as OPENAI_MODEL
from openai_server import ScriptedOpenAI
from resources import many_files
from test_gen import gen_in_process, snapshot
from test_heal import SERVER, broken_workspace, server_source

from genlib.answer import rules
from genlib.answer.file_rules import check_file, check_not_shortened
from genlib.answer.syntax import Syntax
from genlib.documents.llm_output import ComponentSpec, load_output
from genlib.errors import OutputError
from genlib.model.fenced import read_fenced
from genlib.model.stepgen import Plan
from genlib.workspace import Workspace


def answers(count: int) -> tuple[str, list[str]]:
    """The plan's JSON and each file's fenced answer, in the order genlib asks for them."""
    plan = many_files.plan(count)
    order = [f.path for f in Plan.model_validate(plan).in_order()]
    return json.dumps(plan), [many_files.fenced(many_files.content(p)) for p in order]


def asked_path(chat: dict[str, Any]) -> str:
    """The file a request asks for (a re-ask carries the first ask, then the rejected answer and the error)."""
    lines = [x for m in chat["messages"] for x in m["content"].splitlines() if x.startswith("## Now write ")]
    return lines[-1].removeprefix("## Now write ") if lines else ""


def file_chats(server: ScriptedOllama) -> list[dict[str, Any]]:
    return [c for c in server.chats() if c.get("format") is None]


def test_read_fenced_takes_the_one_block() -> None:
    assert read_fenced("```python\nprint(1)\n```") == "print(1)\n"
    assert read_fenced("Here it is:\n````md\n# t\n```\nx\n```\n````\n") == "# t\n```\nx\n```\n"
    with pytest.raises(OutputError, match="no fenced block"):
        read_fenced("print(1)")
    with pytest.raises(OutputError, match="never closes"):
        read_fenced("```\nprint(1)\n")
    with pytest.raises(OutputError, match="more than one fenced block"):
        read_fenced("```\na = 1\n```\nand\n```\nb = 2\n```\n")


def test_read_fenced_ignores_a_stray_fence_and_the_same_block_again() -> None:
    page = '<ul id="items"></ul>\n'
    # what the real 0.5B sent for index.html: the file, then a lone ``` (three times, and gen failed)
    assert read_fenced(f"```\n{page}```\n\n```") == page
    assert read_fenced(f"```html\n{page}```\n```\n") == page
    assert read_fenced(f"```\n{page}```\n\n```\n{page}```\n") == page  # sent twice
    assert read_fenced(f"```\n```\n```\n{page}```") == page  # an empty block before it
    assert read_fenced("```\n```\n") == ""  # an empty file is still one
    with pytest.raises(OutputError, match="never closes"):
        read_fenced(f"```\n```\n```\n{page}")
    # what the guard stopped (the 0.5B's index.html): the page, then the page again, cut mid-line
    assert read_fenced(f'```\n{page}```\n\n```\n<ul id="it') == page
    with pytest.raises(OutputError, match="more than one fenced block"):
        read_fenced(f"```\n{page}```\n```\nconst axios = require('axios');\n")  # another file begun: refused


@pytest.mark.parametrize(
    ("path", "content", "message"),
    [
        ("workers/w/a.py", "def f(:\n    pass\n", r"a.py line 1: python syntax error"),
        ("api/x/b.py", "import asyncio\n\nawait asyncio.sleep(1)\n", r"b.py line 3: python syntax error: .await"),
        ("api/x/c.py", "def f(a, a):\n    return a\n", r"c.py line 1: python syntax error: duplicate argument"),
        (
            "api/x/d.py",
            "import json\n\nprint(os.environ['PORT'], json)\n",
            r"d.py line 3: undefined name\(s\) os: import",
        ),
        ("api/x/a.json", '{"a": 1,}', "is not valid JSON"),
        (
            "api/x/a.js",
            "const a = 1;\nconst x = ;\n",
            r"a.js line 2: JavaScript syntax error: SyntaxError: Unexpected",
        ),
        ("api/x/a.js", "  \n", "is empty, and x-api runs it"),
    ],
    ids=["python", "python-await", "python-compile", "python-undefined", "json", "javascript", "empty"],
)
def test_each_file_is_checked_on_arrival(
    path: str, content: str, message: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    node = shutil.which("node", path=os.defpath)  # the Docker guard took /usr/bin off PATH: give node back alone
    if node is None:
        pytest.skip("node is not installed")
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "node").symlink_to(node)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    runs = [ComponentSpec(name="x", layer="api", runtime="node", port=3000, command=["node", "a.js"])]
    with Syntax() as syntax, pytest.raises(OutputError, match=message):
        check_file(path, content, 1 << 20, runs, syntax)


def test_a_40_file_app_over_41_requests(workspace: Workspace, ollama: ScriptedOllama) -> None:
    plan, files = answers(40)
    bad_python = "```\ndef broken(:\n```\n"
    python_at = next(i for i, f in enumerate(files) if '"""workers/' in f)
    ollama.enforce_num_predict = True  # the whole app (~11,000 tokens) cannot come in one answer of 4,096
    ollama.enqueue(plan, *files[:python_at], bad_python, *files[python_at:7], cut(files[7]), *files[7:])
    code, out = gen_in_process(workspace, "a notes app", num_predict="4096")
    assert code == 0, out
    output = load_output(workspace.iterations_dir / "iter_001_a_notes_app" / "llm_output.json")
    assert output.format == "genlib.llm_output/2" and output.raw == "" and output.attempts == []
    assert [s.name for s in output.steps] == ["plan", *[f.path for f in Plan.model_validate_json(plan).in_order()]]
    for path in many_files.paths(40):
        assert (workspace.iterations_dir / "iter_001_a_notes_app" / path).read_text() == many_files.content(path)
    assert len(ollama.chats()) == 1 + 40 + 2  # the plan, each file, one re-ask, one cut
    # the bad file was asked for again alone, with the error; the next request moved on
    again = file_chats(ollama)[python_at + 1]
    assert asked_path(again) == asked_path(file_chats(ollama)[python_at])
    assert "python syntax error" in again["messages"][-1]["content"]
    assert len(output.steps[1 + python_at].attempts) == 2
    # the cut answer was never taken: asked for again with all the room the window holds (no model reload)
    cut_steps = [s for s in output.steps if any(a.parts for a in s.attempts)]
    assert [s.name for s in cut_steps] == [output.steps[8].name]
    assert cut_steps[0].attempts[0].parts == [files[7], files[7]]  # the cut one was whole, and still not taken
    rooms = sorted({c["options"]["num_predict"] for c in ollama.chats()})
    assert rooms[:2] == [2048, 4096] and len(rooms) == 3 and rooms[2] > 4096  # the plan's budget, a file's, a cut's
    assert len({c["options"]["num_ctx"] for c in ollama.chats()}) == 1
    # progress a person can follow
    assert "file 1 of 40 api/notes/contract.json: " in out and "file 40 of 40 " in out and " tok/s" in out
    assert output.stats.completion_tokens > 4096 * 2  # far more than one completion
    assert "over 41 requests" in out
    assert not (workspace.state_dir / "gen").exists() or not any((workspace.state_dir / "gen").iterdir())


def test_the_shared_prefix_is_byte_identical(workspace: Workspace, ollama: ScriptedOllama) -> None:
    plan, files = answers(12)
    ollama.enqueue(plan, *files)
    assert gen_in_process(workspace, "a notes app")[0] == 0
    chats = file_chats(ollama)
    assert chats[0]["messages"][0] == ollama.chats()[0]["messages"][0]  # the plan request opens every file request
    later = chats[1:]  # after the interface file: one prefix for all
    prefixes = {json.dumps(c["messages"][:-1]) for c in later}
    heads = {c["messages"][-1]["content"].split("## Now write")[0] for c in later}
    assert len(prefixes) == 1 and len(heads) == 1
    assert many_files.content(many_files.CONTRACT) in heads.pop()  # the interface file is in every one


def test_a_whole_answer_cannot_hold_it_but_steps_can(workspace: Workspace, ollama: ScriptedOllama) -> None:
    plan, files = answers(40)
    whole = json.loads(plan)
    whole["files"] = [{"path": f["path"], "content": many_files.content(f["path"])} for f in whole.pop("files")]
    del whole["interfaces"]
    ollama.enforce_num_predict = True
    ollama.enqueue(*[json.dumps(whole)] * 3)
    limits = ["num_predict=4096", "num_ctx_max=8192"]  # more room after a cut stops at the window
    result = run_doit(workspace, "gen", "desc=a notes app", *limits, "steps=0")
    assert result.returncode == 2 and "cut off at the token limit" in result.output
    ollama.enqueue(plan, *files)
    assert run_doit(workspace, "gen", "desc=a notes app", *limits).returncode == 0


def test_a_killed_gen_resumes_without_asking_again(workspace: Workspace, ollama: ScriptedOllama) -> None:
    plan, files = answers(40)
    ollama.enqueue(plan, *files[:19], slow(files[19], seconds=0.5))
    before = snapshot(workspace)
    proc = subprocess.Popen(
        [sys.executable, "-m", "doit", "gen", "desc=a notes app"],
        cwd=workspace.root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=os.environ.copy(),
    )
    deadline = time.monotonic() + 120
    while len(ollama.chats()) < 21 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # the 20th file is streaming
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert snapshot(workspace) == before and list(workspace.iterations_dir.iterdir()) == []
    asked_before = len(ollama.chats())
    ollama.queue.clear()
    ollama.enqueue(*files[19:])
    result = run_doit(workspace, "gen", "desc=a notes app")
    assert result.returncode == 0, result.output
    assert "resuming: 19 of 40 files already received" in result.output
    again = ollama.chats()[asked_before:]
    order = [f.path for f in Plan.model_validate_json(plan).in_order()]
    assert [asked_path(c) for c in again] == order[19:]  # no plan, no file it had
    it = workspace.iterations_dir / "iter_001_a_notes_app"
    assert all((it / p).read_text() == many_files.content(p) for p in order)


def test_an_openai_compatible_server_serves_a_gen_in_steps(workspace: Workspace, openai_api: ScriptedOpenAI) -> None:
    plan, files = answers(6)
    openai_api.enqueue(plan, *files)
    args = {"provider": "openai", "base_url": openai_api.url, "model": OPENAI_MODEL}
    code, out = gen_in_process(workspace, "a notes app", **args)
    assert code == 0, out
    chats = openai_api.chats()
    assert "response_format" in chats[0] and all("response_format" not in c for c in chats[1:])  # files: plain text
    it = workspace.iterations_dir / "iter_001_a_notes_app"
    assert all((it / p).read_text() == many_files.content(p) for p in many_files.paths(6))
    assert load_output(it / "llm_output.json").request.host == openai_api.url


def test_a_plan_is_checked_without_the_content_still_to_come() -> None:
    """A plan's files are empty until each arrives: an app with a package.json and a requirements.txt plans
    (their content rules wait for the file), and a planned migration its database ran is refused at once."""
    answer = json.loads((APPS / "notesdb" / "llm_output.json").read_text())["answer"]
    plan = Plan.model_validate_json(as_plan(json.dumps(answer))[0]).as_answer({})
    assert {"frontend/web/package.json", "workers/jobs/requirements.txt"} <= {f.path for f in plan.files}
    rules.check(plan, rules.Baseline(), rules.Limits(), planned=True)
    with pytest.raises(OutputError, match=r"package\.json: not valid JSON"):
        rules.check(plan, rules.Baseline(), rules.Limits())  # a whole answer with an empty package.json
    applied = {"backend/db/001_schema.sql": "0" * 64}
    with pytest.raises(OutputError, match="never change an applied migration"):
        rules.check(plan, rules.Baseline(applied=applied), rules.Limits(), planned=True)


def test_a_shortened_file_is_never_taken_for_a_whole_one() -> None:
    before = "".join(f"line {i}\n" for i in range(100))
    with pytest.raises(OutputError, match="with parts left out"):
        check_not_shortened("api/x/a.js", before, "line 0\n// ... rest unchanged\n")
    check_not_shortened("api/x/a.js", before, "line 0\nline 1\n")  # shorter, but says nothing is left out
    check_not_shortened("api/x/a.js", before, before.replace("line 5\n", "line 5 ... fixed\n"))  # as long


def test_a_program_that_comes_back_as_a_fragment_is_refused() -> None:
    runs = [ComponentSpec(name="x", layer="api", runtime="python", port=8000, command=["python3", "app.py"])]
    server = "".join(f"line_{i} = {i}\n" for i in range(40))
    with pytest.raises(OutputError, match=r"api/x/app.py, the program x-api runs, came back 1 line\(s\) long, from 40"):
        check_file("api/x/app.py", "obj['files'][0]['content']\n", 100_000, runs, before=server)
    with Syntax() as syntax, pytest.raises(OutputError, match="came back 1 line"):  # not "undefined name obj"
        check_file("api/x/app.py", "obj['app']\n", 100_000, runs, syntax, before=server)  # the 1.5B, 2026-12-07
    check_file("api/x/helpers.py", "x = 1\n", 100_000, runs, before=server)  # not a program: may shrink
    check_file("api/x/app.py", server[:200], 100_000, runs, before=server)  # shorter, not a fragment
    with pytest.raises(OutputError, match="came back 1 line"):  # the 1.5B's guestbook server, made from a starter
        check_file("api/x/app.py", "{}\n", 100_000, runs, made_from=server)
    check_file("api/x/notes.py", "{}\n", 100_000, runs, made_from=server)  # not what the command runs


@pytest.mark.docker
def test_heal_in_steps_header_then_files(engine: Workspace, ollama: ScriptedOllama) -> None:
    broken_workspace(engine)
    header = {"summary": "return the notes instead of a 500", "files": [{"path": SERVER, "purpose": "the fix"}]}
    shortened = many_files.fenced("// ... the rest of the file is unchanged\n")
    ollama.enqueue(json.dumps(header), shortened, many_files.fenced(server_source()))
    run = run_doit(engine, "heal", "max_iter=1", timeout=900)
    assert "round 1: iter_002_patch  1 file(s) changed" in run.output and "Traceback" not in run.output, run.output
    results = json.loads((engine.iterations_dir / "iter_002_patch" / "results.json").read_text())["results"]
    assert next(r for r in results if r["name"] == "list notes")["status"] == "passed"  # the fix works
    # (the round's verdict also counts the health of every service, which a loaded machine can delay)
    output = load_output(engine.iterations_dir / "iter_002_patch" / "llm_output.json")
    assert [s.name for s in output.steps] == ["plan", SERVER]
    assert "parts left out" in (output.steps[1].attempts[0].error or "")
    assert [f.path for f in output.answer.files] == [SERVER]
    assert "## Answer in steps: the header first" in ollama.chats()[0]["messages"][-1]["content"]
