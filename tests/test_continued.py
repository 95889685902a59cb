"""A file longer than one completion: continued and joined (genlib.model.continued), through the scripted servers."""

from __future__ import annotations

import json

import pytest
from conftest import run_doit
from ollama_server import ScriptedOllama, as_plan, cut, fenced
from openai_server import MODEL as OPENAI_MODEL
from openai_server import ScriptedOpenAI
from test_gen import NOTES, gen_in_process

from genlib.documents.llm_output import load_output
from genlib.model.continued import join
from genlib.workspace import Workspace

BIG = "workers/digest/worker.py"


def big_worker(functions: int) -> str:
    """A python worker of `functions` small functions: ~90 characters each, every line a whole statement."""
    body = "".join(
        f"def keep_{i}(notes):\n    return [n for n in notes if len(n) > {i}]\n\n\n" for i in range(functions)
    )
    return f'"""The digest worker."""\n\n\n{body}print("digest ok", flush=True)\n'


def notes_with_big_worker(functions: int) -> dict[str, object]:
    files = [f if f["path"] != BIG else {**f, "content": big_worker(functions)} for f in NOTES["files"]]
    return {**NOTES, "files": files}


@pytest.mark.parametrize(
    ("received", "more", "joined"),
    [
        ("```\nabc\ndef fo", "def foo():\n  pass\n```\n", "```\nabc\ndef foo():\n  pass\n```\n"),  # the line again
        ("```\nabc\nde", "f foo():\n```\n", "```\nabc\ndef foo():\n```\n"),  # exactly where it stopped
        ("```\nabc\n", "```python\nx = 1\n```\n", "```\nabc\nx = 1\n```\n"),  # a block opened again
        ("```\nabc\n", "```\nx = 1\n```\n", "```\nabc\nx = 1\n```\n"),
        ("```\nabc\n", "```\n", "```\nabc\n```\n"),  # only the closing fence was left
        (
            "```\nx = [1, 2, 3, 4, 5]\ny = [1, 2",
            "y = [1, 2, 3]\n```\n",
            "```\nx = [1, 2, 3, 4, 5]\ny = [1, 2, 3]\n```\n",
        ),
        ("```\nitems = [1, 2, 3]\n", "items = [1, 2, 3]\nz = 1\n```\n", "```\nitems = [1, 2, 3]\nz = 1\n```\n"),
        ("```\na = ((", "(1)))\n```\n", "```\na = (((1)))\n```\n"),  # a short coincidence is no repeat
    ],
    ids=["line-again", "exact", "reopened-lang", "reopened-bare", "closing-only", "tail", "whole-line", "coincidence"],
)
def test_a_continuation_joins_without_what_it_repeats(received: str, more: str, joined: str) -> None:
    assert join(received, more) == joined


def test_a_file_larger_than_the_window_holds_is_continued_whole(workspace: Workspace, ollama: ScriptedOllama) -> None:
    content = big_worker(400)  # ~27,000 characters: ~6,900 tokens in one file, in a window of 8,192
    ollama.enforce_num_predict = True  # every answer stops at num_predict, as Ollama's does
    ollama.enqueue(json.dumps(notes_with_big_worker(400)))
    code, out = gen_in_process(workspace, "a notes app", num_predict="1024", num_ctx_max="8192")
    assert code == 0, out
    it = workspace.iterations_dir / "iter_001_a_notes_app"
    assert (it / BIG).read_text() == content  # whole, byte for byte
    output = load_output(it / "llm_output.json")
    [step] = [s for s in output.steps if s.name == BIG]
    [attempt] = step.attempts  # one accepted attempt, made of many completions
    assert attempt.error is None and len(attempt.parts) >= 5 and attempt.raw == fenced(content)
    asked = [c for c in ollama.file_chats() if c["messages"][-1]["content"].startswith("Your answer was cut off")]
    assert len(asked) == len(attempt.parts) - 2  # the first cut, one more with the window's room, then the rest
    rooms = [c["options"]["num_predict"] for c in ollama.file_chats()]
    assert min(rooms) == 1024 and max(rooms) > 1024  # more room first, as far as the window holds
    assert len({c["options"]["num_ctx"] for c in ollama.chats()}) == 1  # never a model reload
    assert step.stats.completion_tokens >= len(content) // 4


def test_a_cut_file_from_an_openai_server_is_continued(workspace: Workspace, openai_api: ScriptedOpenAI) -> None:
    content = big_worker(200)  # ~13,500 characters, ~3,400 tokens, with max_tokens 1024
    openai_api.enforce_max_tokens = True
    openai_api.enqueue(json.dumps(notes_with_big_worker(200)))
    args = {"provider": "openai", "base_url": openai_api.url, "model": OPENAI_MODEL, "num_predict": "1024"}
    code, out = gen_in_process(workspace, "a notes app", **args)
    assert code == 0, out
    assert (workspace.iterations_dir / "iter_001_a_notes_app" / BIG).read_text() == content
    assert {c["max_tokens"] for c in openai_api.chats()} == {1024}  # the server's window is its own: no more room
    assert sum("was cut off at the token limit" in c["messages"][-1]["content"] for c in openai_api.chats()) >= 2


def test_a_file_that_never_ends_is_never_shipped(workspace: Workspace, ollama: ScriptedOllama) -> None:
    """A model that adds nothing when asked for the rest: the answer stays cut, is refused, and nothing is written."""
    part = fenced(big_worker(3))[:150]  # the block never closes
    ollama.enqueue(as_plan(json.dumps(NOTES))[0], cut(part), cut(part), cut(part))  # the file; more room; the rest
    result = run_doit(workspace, "gen", "desc=a notes app", "retries=0")
    assert result.returncode == 2, result.output
    [error] = [line for line in result.output.splitlines() if line.startswith("ERROR")]
    assert "still invalid after 1 attempts (the answer was cut off at the token limit" in error, error
    assert "in 3 parts" in error
    assert list(workspace.iterations_dir.iterdir()) == []
