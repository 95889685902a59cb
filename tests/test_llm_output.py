from __future__ import annotations

import json

from conftest import APPS

from genlib.documents.llm_output import answer_schema, load_output


def test_the_schema_offers_the_model_no_say_over_who_owns_a_scenario() -> None:
    definitions = answer_schema()["$defs"]
    scenario_defs = [d for name, d in definitions.items() if name.endswith("Scenario")]
    assert len(scenario_defs) >= 3
    for definition in scenario_defs:
        assert "origin" not in definition["properties"]
        assert "iteration" not in definition["properties"]
        assert definition["additionalProperties"] is False


def test_the_notes_fixture_is_a_valid_output() -> None:
    output = load_output(APPS / "notes/llm_output.json")
    assert {c.service for c in output.answer.components} == {"web-frontend", "notes-api", "digest-workers"}
    assert json.loads((APPS / "notes/llm_output.json").read_text())["format"] == "genlib.llm_output/1"
