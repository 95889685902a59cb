"""The gen prompt stays within gen_budget_chars for an app at the caps (issue 11, class 9), whole and in steps."""

from __future__ import annotations

import json

import pytest
from ollama_server import ScriptedOllama
from resources import at_caps
from test_gen import gen_in_process

from genlib.answer.bounds import bounded
from genlib.answer.rules import Limits
from genlib.config import Settings
from genlib.documents.llm_output import answer_schema
from genlib.workspace import Workspace

BUDGET = Settings().gen_budget_chars
REQUEST = "add tags to the notes and a search over them"


def chars(chat: dict[str, object]) -> int:
    return sum(len(m["content"]) for m in chat["messages"])  # type: ignore[attr-defined,index]


# The app at the caps fills every long string by repeating one phrase: to the repetition guard, a loop.
NO_GUARD = "0"


def app_at_the_caps(ws: Workspace, ollama: ScriptedOllama) -> None:
    ollama.piece = 4096  # answers of a megabyte and more, streamed in few chunks
    ollama.enqueue(json.dumps(at_caps.app()))
    code, out = gen_in_process(ws, "an app at the caps", steps="0", loop_guard=NO_GUARD)  # one request: count from 1
    assert code == 0, out


@pytest.mark.fault_class(9)
def test_a_whole_gen_prompt_at_the_caps_is_within_budget(workspace: Workspace, ollama: ScriptedOllama) -> None:
    app_at_the_caps(workspace, ollama)
    tags = f"workers/{at_caps.name(0)}/tags.py"
    ollama.enqueue(json.dumps({"summary": "tags", "files": [{"path": tags, "content": "TAGS = []\n"}]}))
    code, out = gen_in_process(workspace, REQUEST, steps="0", loop_guard=NO_GUARD)
    assert code == 0, out
    sent = ollama.chats()[1]
    prompt = sent["messages"][0]["content"]
    shown = at_caps.COMPONENTS * at_caps.TEXT + at_caps.FILES * len(at_caps.content("x"))
    assert len(prompt) <= BUDGET < shown  # the app alone is over 400 KB of text
    assert f"## The request\n{REQUEST}\n" in prompt  # what matters most, whole
    assert json.dumps(answer_schema(), ensure_ascii=False) in prompt  # the schema in the prompt; sent with its caps
    assert sent["format"] == bounded(answer_schema(), Limits())
    for i in range(at_caps.COMPONENTS):  # every component named, its long fields cut
        assert f"- workers/{at_caps.name(i)} (python, service {at_caps.name(i)}-workers)" in prompt
    assert at_caps.text("component 0") not in prompt
    assert prompt.count("\n### workers/") >= 2  # the most relevant files, whole
    assert "Files not shown (unchanged unless you rewrite them in full): " in prompt and "more" in prompt
    assert "Left out to keep this prompt short: component descriptions and file lists cut to " in prompt


@pytest.mark.fault_class(3, 9)
def test_every_request_of_a_gen_in_steps_at_the_caps_is_within_budget(
    workspace: Workspace, ollama: ScriptedOllama
) -> None:
    app_at_the_caps(workspace, ollama)
    plan, files = at_caps.answers()
    ollama.enqueue(plan, *files)
    code, out = gen_in_process(workspace, REQUEST, steps="1", loop_guard=NO_GUARD)
    assert code == 0, out
    chats = ollama.chats()[1:]
    assert len(chats) == 1 + at_caps.FILES
    assert len(plan) > BUDGET and len(at_caps.interface("x")) * at_caps.INTERFACES > BUDGET
    assert max(chars(c) for c in chats) <= BUDGET, sorted(chars(c) for c in chats)[-3:]
    last = chats[-1]["messages"]
    assert f"## The request\n{REQUEST}\n" in last[0]["content"]  # the gen prompt opens every request, whole
    assert f'"path": "workers/{at_caps.name(0)}/main.txt"' in last[1]["content"]  # the plan, shortened
    ask = last[2]["content"]
    assert "Left out to keep this request short: the plan above is shortened (" in ask
    assert "interface files not shown: " in ask
    assert ask.count("`````\n# workers/") >= 1  # the first interface file, shown
