"""The schema a server gets is bounded (genlib.answer.bounds): every array and free string carries the cap the
rules enforce, as captured at the scripted servers, for the plan (gen in steps), a heal's header and the whole
answer (steps=0); and the rules refuse what goes over a cap the schema now states."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import APPS
from ollama_server import ScriptedOllama
from openai_server import MODEL, ScriptedOpenAI
from test_gen import gen_in_process

from genlib.answer import rules
from genlib.answer.bounds import GRAMMAR_MAX, Unbounded, bounded
from genlib.answer.rules import Baseline, Limits, check
from genlib.documents.llm_output import Answer, answer_schema
from genlib.errors import OutputError
from genlib.model.ask import parse_json
from genlib.model.stepgen import Plan, plan_schema
from genlib.workspace import Workspace

NOTES = json.loads((APPS / "notes" / "llm_output.json").read_text())["answer"]
SETTINGS = {"max_files": "12", "max_components": "5", "max_text_chars": "500"}


def nodes(schema: Any, name: str | None = None) -> Iterator[tuple[str | None, dict[str, Any]]]:
    """Every schema node with the property name it belongs to (an array's items: the array's name)."""
    if not isinstance(schema, dict):
        return
    yield name, schema
    for key in ("anyOf", "oneOf", "allOf"):
        for option in schema.get(key, []):
            yield from nodes(option, name)
    for prop, sub in schema.get("properties", {}).items():
        yield from nodes(sub, prop)
    for sub in schema.get("$defs", {}).values():
        yield from nodes(sub)
    yield from nodes(schema.get("items"), name)
    yield from nodes(schema.get("additionalProperties"), name)


def assert_bounded(schema: dict[str, Any]) -> None:
    """No array without maxItems, no free string without maxLength (but a file's content), none over a grammar."""
    for name, node in nodes(schema):
        if node.get("type") == "array":
            assert 0 < node.get("maxItems", 0) <= GRAMMAR_MAX, (name, node)
        if node.get("type") == "string" and "enum" not in node and "const" not in node:
            assert name == "content" or 0 < node.get("maxLength", 0) <= GRAMMAR_MAX, (name, node)


def caps(schema: dict[str, Any], key: str) -> dict[str | None, set[int]]:
    found: dict[str | None, set[int]] = {}
    for name, node in nodes(schema):
        if key in node:
            found.setdefault(name, set()).add(node[key])
    return found


def test_the_plan_sent_to_ollama_carries_the_rules_caps(workspace: Workspace, ollama: ScriptedOllama) -> None:
    ollama.enqueue(json.dumps(NOTES))
    code, out = gen_in_process(workspace, "a notes app", **SETTINGS)
    assert code == 0, out
    sent = ollama.app_chats()[0]["format"]  # the plan's request: Ollama's `format`
    assert_bounded(sent)
    items, chars = caps(sent, "maxItems"), caps(sent, "maxLength")
    assert items["files"] == items["deletions"] == {12}  # the settings, as the rules read them
    assert items["components"] == items["depends_on"] == {5}
    assert items["interfaces"] == {rules.MAX_INTERFACES} and items["scenarios"] == {rules.MAX_SCENARIOS}
    assert items["command"] == {rules.MAX_COMMAND_ARGS}
    assert chars["path"] == {rules.PATH_CHARS} and chars["health"] == {rules.HEALTH_CHARS}
    assert chars["summary"] == chars["purpose"] == chars["description"] == chars["shape"] == {500}
    assert chars["deletions"] == {rules.PATH_CHARS}


def test_the_whole_answer_sent_to_an_openai_server_is_bounded(workspace: Workspace, openai_api: ScriptedOpenAI) -> None:
    openai_api.enqueue(json.dumps(NOTES))
    provider = {"provider": "openai", "base_url": openai_api.url, "model": MODEL}
    code, out = gen_in_process(workspace, "a notes app", steps="0", **provider, **SETTINGS)
    assert code == 0, out
    sent = openai_api.chats()[0]["response_format"]["json_schema"]["schema"]
    assert_bounded(sent)
    assert caps(sent, "maxItems")["files"] == {12}
    assert "maxLength" not in sent["$defs"]["FileSpec"]["properties"]["content"]  # the one string left open
    assert sent["$defs"]["FileSpec"]["properties"]["path"]["maxLength"] == rules.PATH_CHARS


def test_a_cap_over_what_a_grammar_takes_is_sent_as_its_most() -> None:
    """Ollama's GBNF refuses a repetition of 2,000 or more: the default max_text_chars (4,000) and a scenario
    body's 65,536 go as 1,999, tighter than the rule, so the request is not refused before the model runs."""
    sent = bounded(answer_schema(), Limits())
    assert sent["properties"]["summary"]["maxLength"] == GRAMMAR_MAX
    assert caps(sent, "maxLength")["body"] == {GRAMMAR_MAX}
    assert answer_schema()["properties"]["summary"].get("maxLength") is None  # a copy: the model's own is as it was


def test_an_array_no_rule_caps_is_refused_in_the_making() -> None:
    with pytest.raises(Unbounded, match="'tags': an array no rule caps"):
        bounded({"type": "object", "properties": {"tags": {"type": "array", "items": {"type": "string"}}}}, Limits())


def test_the_plans_and_answers_schemas_are_bounded_whole() -> None:
    assert_bounded(bounded(plan_schema(), Limits()))
    assert_bounded(bounded(answer_schema(), Limits()))


# -- the rules behind the new caps -------------------------------------------------------------------


def answer(**changes: Any) -> Answer:
    return Answer.model_validate({**NOTES, **changes})


def test_the_rules_refuse_what_goes_over_a_cap() -> None:
    scenario = NOTES["scenarios"][0]
    many = [{**scenario, "name": f"check {n}"} for n in range(rules.MAX_SCENARIOS + 1)]
    with pytest.raises(OutputError, match=r"51 scenarios, over the limit of 50"):
        check(answer(scenarios=many), Baseline(), Limits())
    component = {**NOTES["components"][0], "command": ["python", *["-v"] * rules.MAX_COMMAND_ARGS]}
    with pytest.raises(OutputError, match=r"its command has 65 arguments, over 64"):
        check(answer(components=[component, *NOTES["components"][1:]]), Baseline(), Limits())
    component = {**NOTES["components"][0], "depends_on": ["db"] * 4}
    with pytest.raises(OutputError, match=r"depends_on names 4, over max_components"):
        check(answer(components=[component, *NOTES["components"][1:]]), Baseline(), Limits(max_components=3))


def test_a_plan_with_too_many_interfaces_is_refused() -> None:
    route = {"kind": "route", "name": "GET /notes", "shape": "[]"}
    with pytest.raises(OutputError, match="interfaces"):
        parse_json(json.dumps({"interfaces": [route] * (rules.MAX_INTERFACES + 1)}), Plan)
    assert len(parse_json(json.dumps({"interfaces": [route] * rules.MAX_INTERFACES}), Plan).interfaces) == 100
