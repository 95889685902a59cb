"""The repetition guard against a real loop: the long plan prompt gen sent before issue 23's small prompts
(13,892 characters; tests/resources/long_plan_prompt.json, with the plan schema of then) makes the embedded
0.5B loop within its first thousand tokens, and the guard stops it there, in one line.

The sampling is the one of then (no DRY, no repeat penalty: llama.cpp's defaults), which let the model loop:
what this proves is the guard, not the samplers. Marked real_model: xllamacpp and the 0.5B that .ci/setup
installs; the prompt's reading is most of its time (about 35 s on an idle 2-core machine).
"""

from __future__ import annotations

import io
import json

import pytest
from conftest import RESOURCES

from genlib.config import Settings
from genlib.model.connect import connect

REQUEST = json.loads((RESOURCES / "long_plan_prompt.json").read_text(encoding="utf-8"))


@pytest.mark.real_model
def test_the_guard_stops_the_05b_looping_on_the_long_plan_prompt(embedded: str) -> None:
    then = Settings(provider="local", local_model=embedded, local_idle=60, repeat_penalty=1.0, dry_multiplier=0.0)
    out = io.StringIO()
    with connect(then, out) as llm:
        reply = llm.complete(REQUEST["messages"], REQUEST["schema"], None, room=1000)
    tokens = reply.stats.completion_tokens
    assert reply.stopped.startswith("stopped a looping answer after "), f"{tokens} tokens:\n{reply.text[-2000:]}"
    assert tokens < 1000
    assert reply.stopped in out.getvalue().splitlines()
