from __future__ import annotations

import json

from conftest import APPS

from genlib.documents.llm_output import Answer, answer_schema, load_output
from genlib.model.stepgen import Plan


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


def _plan_with(scenario_service: str, *components: tuple[str, str]) -> dict[str, object]:
    comps = [
        {"name": name, "layer": layer, "runtime": "python", "command": ["python3", "app.py"]}
        for name, layer in components
    ]
    scenario = {"name": "list", "service": scenario_service, "kind": "http", "request": {"path": "/notes"}}
    return {"components": comps, "scenarios": [scenario]}


def test_a_scenario_naming_a_component_tests_its_service() -> None:
    # the real 0.5B and 1.5B both wrote this for the README's notes app: component notes-api, service notes-api-api
    answer = Answer.model_validate(_plan_with("notes-api", ("notes-api", "api"), ("web", "frontend")))
    assert answer.scenarios[0].service == "notes-api-api"
    plan = Plan.model_validate(_plan_with("web", ("notes-api", "api"), ("web", "frontend")))
    assert plan.scenarios[0].service == "web-frontend"


def test_a_service_name_or_an_ambiguous_component_name_stays_as_written() -> None:
    exact = Answer.model_validate(_plan_with("notes-api", ("notes", "api"), ("notes-api", "workers")))
    assert exact.scenarios[0].service == "notes-api"  # a service of the app: never renamed
    shared = Answer.model_validate(_plan_with("notes", ("notes", "api"), ("notes", "workers")))
    assert shared.scenarios[0].service == "notes"  # two services it could mean: the rules refuse it, naming both
    unknown = Answer.model_validate(_plan_with("ghost", ("notes", "api")))
    assert unknown.scenarios[0].service == "ghost"


def test_a_component_named_after_its_layer_takes_the_name_its_files_use() -> None:
    # the real 0.5B's third plan of the README's notes app: component notes-api, its file under api/notes/
    data = _plan_with("notes-api", ("notes-api", "api"), ("web", "frontend"))
    data["components"][1]["depends_on"] = ["notes-api"]  # type: ignore[index]
    data["files"] = [{"path": "api/notes/app.py"}, {"path": "frontend/web/index.html"}]
    plan = Plan.model_validate(data)
    assert [c.name for c in plan.components] == ["notes", "web"]
    assert plan.components[1].depends_on == ["notes"]
    assert plan.scenarios[0].service == "notes-api"  # the service its scenarios named all along
    data["files"] = [{"path": "api/notes-api/app.py"}]  # a file under the name as written: nothing renamed
    assert [c.name for c in Plan.model_validate(data).components] == ["notes-api", "web"]


def test_a_planned_command_runs_the_one_script_of_its_kind_the_component_has() -> None:
    # the real 0.5B's node-time plan: `node server.js` in the command, api/time/app.js in the files
    component = {"name": "time", "layer": "api", "runtime": "node", "port": 8000, "command": ["node", "server.js"]}
    data = {"components": [component], "files": [{"path": "api/time/app.js"}, {"path": "api/time/package.json"}]}
    assert Plan.model_validate(data).components[0].command == ["node", "app.js"]
    data["files"] = [{"path": "api/time/app.js"}, {"path": "api/time/lib.js"}]  # two it could mean: as written
    assert Plan.model_validate(data).components[0].command == ["node", "server.js"]
    data["files"] = [{"path": "api/time/server.js"}, {"path": "api/time/lib.js"}]  # there: as written
    assert Plan.model_validate(data).components[0].command == ["node", "server.js"]


def test_a_planned_path_without_its_layer_goes_under_the_one_component_it_names() -> None:
    # the real 0.5B's guestbook and static-home plans: `db/001_schema.sql`, `front/home/index.html`
    data = {
        "components": [
            {"name": "db", "layer": "backend", "runtime": "postgres"},
            {"name": "home", "layer": "frontend", "runtime": "static"},
        ],
        "files": [{"path": "db/001_schema.sql"}, {"path": "front/home/index.html"}, {"path": "ghost/x/a.py"}],
    }
    paths = [f.path for f in Plan.model_validate(data).files]
    assert paths == ["backend/db/001_schema.sql", "frontend/home/index.html", "ghost/x/a.py"]  # the last: refused


def test_a_scenario_in_a_one_service_app_means_that_service() -> None:
    # the real 0.5B's ticker-worker plan: service `worker-tickers` for component ticker in workers
    data = {
        "components": [{"name": "ticker", "layer": "workers", "runtime": "python", "command": ["python3", "main.py"]}],
        "files": [{"path": "workers/ticker/main.py"}],
        "scenarios": [{"name": "ticks", "kind": "logs", "service": "worker-tickers", "must_contain": ["tick"]}],
    }
    assert Plan.model_validate(data).scenarios[0].service == "ticker-workers"
    two = {**data, "components": [*data["components"], {"name": "api", "layer": "api", "runtime": "python"}]}
    assert Plan.model_validate(two).scenarios[0].service == "worker-tickers"  # two it could mean: refused
