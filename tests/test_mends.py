"""Plans mended where the meaning is certain (genlib.documents.mends), on plans the real 0.5B wrote."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from genlib.answer import rules
from genlib.config import load_settings
from genlib.loops.gen import answer_rules
from genlib.model.stepgen import Plan, parse_plan
from genlib.workspace import Workspace

# The real 0.5B's first plan of bench/requests.yaml's visits-redis (2026-12-06): refused, for the cache's port
# and command, before these mends.
VISITS_REDIS = {
    "summary": "A visit counter",
    "components": [
        {"name": "cache", "layer": "backend", "runtime": "redis", "description": "visit counter", "port": 6379,
         "command": ["redis-cli", "INCR", "visits"]},
        {"name": "visits-api", "layer": "api", "runtime": "python", "description": "visit counter", "port": 8000,
         "command": ["python3", "app.py"], "health": "/health", "depends_on": []},
    ],
    "files": [{"path": "api/visits/app.py", "purpose": "HTTP server: GET /health, GET /visits"}],
    "scenarios": [{"name": "list visits", "service": "visits-api", "kind": "http", "request": {"path": "/visits"}}],
}  # fmt: skip


def _program(name: str, **fields: Any) -> dict[str, Any]:
    return {"name": name, "layer": "api", "runtime": "python", "port": 8000, "command": ["python3", "app.py"], **fields}


def test_the_real_visits_plan_becomes_an_api_using_its_redis(workspace: Workspace) -> None:
    check = answer_rules(workspace, load_settings(workspace.root), rules.Baseline())
    plan = parse_plan(json.dumps(VISITS_REDIS), check)  # every rule passes: it lands
    cache, api = plan.components
    assert (cache.port, cache.command, cache.depends_on) == (None, None, [])  # run from its image, as genlib does
    assert api.service == "visits-api" and api.depends_on == ["cache-backend"]  # the one program uses it
    assert [f.path for f in plan.files] == ["api/visits/app.py", "api/visits/requirements.txt"]  # its client's


def test_a_data_service_stays_unassigned_when_two_programs_could_use_it() -> None:
    data = {"components": [_program("a"), _program("b"), {"name": "db", "layer": "backend", "runtime": "postgres"}]}
    assert [c.depends_on for c in Plan.model_validate(data).components] == [[], [], []]
    data["components"][0]["depends_on"] = ["db-backend"]
    a, b, _ = Plan.model_validate(data).components
    assert a.depends_on == ["db-backend"] and b.depends_on == []
    paths = [f.path for f in Plan.model_validate(data).files]
    assert paths == ["api/a/app.py", "api/b/app.py", "api/a/requirements.txt"]  # the user's client only


def test_a_command_gets_its_script_planned_only_when_the_component_plans_no_file() -> None:
    data = {"components": [_program("links", description="lists three links")], "files": []}
    assert [(f.path, f.purpose) for f in Plan.model_validate(data).files] == [("api/links/app.py", "lists three links")]
    data["files"] = [{"path": "api/links/notes.txt"}]  # a file of its own: the rules say what is missing
    assert [f.path for f in Plan.model_validate(data).files] == ["api/links/notes.txt"]
    data = {"components": [_program("x", command=["python3", "../../etc/evil.py"])], "files": []}
    assert Plan.model_validate(data).files == []  # leaving its folder: the rules refuse it


def test_a_dependency_file_already_planned_is_not_planned_twice() -> None:
    data = {
        "components": [_program("g", depends_on=["db"]), {"name": "db", "layer": "backend", "runtime": "postgres"}],
        "files": [{"path": "api/g/app.py"}, {"path": "api/g/requirements.txt", "purpose": "flask"}],
    }
    assert [(f.path, f.purpose) for f in Plan.model_validate(data).files] == [
        ("api/g/app.py", ""), ("api/g/requirements.txt", "flask")
    ]  # fmt: skip


def test_a_url_path_without_its_slash_is_from_the_root() -> None:
    # the real 0.5B's static-home plan: a page scenario with path ""
    scenarios = [
        {"name": "home", "kind": "page", "service": "home-frontend", "path": ""},
        {"name": "list", "kind": "http", "service": "home-frontend", "request": {"path": "links"}},
    ]
    data = {"components": [{"name": "home", "layer": "frontend", "runtime": "static"}], "scenarios": scenarios}
    home, listed = Plan.model_validate(data).scenarios
    assert home.path == "/" and listed.request.path == "/links"  # type: ignore[union-attr]
    scenarios[0]["path"] = "https://example.org/"  # a whole URL: not a path from the root, refused as written
    with pytest.raises(ValidationError, match="not a URL path"):
        Plan.model_validate(data)


def test_a_module_command_naming_the_planned_file_runs_that_file() -> None:
    # the real 1.5B's flask-counter plan (2026-12-07): `python3 -m flask app.py`, flask not installed
    component = _program("counter", command=["python3", "-m", "flask", "app.py"])
    data = {"components": [component], "files": [{"path": "api/counter/app.py"}]}
    assert Plan.model_validate(data).components[0].command == ["python3", "app.py"]
    unplanned = Plan.model_validate({"components": [component]})  # as it came: no files at all
    assert unplanned.components[0].command == ["python3", "app.py"] and unplanned.files[0].path == "api/counter/app.py"
    component["command"] = ["python3", "-m", "http.server", "8000"]  # a module run as it is: as written
    assert Plan.model_validate(data).components[0].command == ["python3", "-m", "http.server", "8000"]


def test_files_that_are_not_a_list_are_left_for_the_schema() -> None:
    data = {"components": [_program("a")], "files": {"a": "b"}}  # a mend must not turn it into a list
    with pytest.raises(ValidationError, match=r"files\n  Input should be a valid list"):
        Plan.model_validate(data)


def test_an_objects_text_in_body_contains_becomes_the_fields_it_names() -> None:
    # the real 1.5B's calc-api scenarios (2026-12-07): `{'result': 5}`, which no JSON body contains
    def scenario(*texts: str) -> dict[str, Any]:
        return {"name": "add", "kind": "http", "service": "calc-api", "request": {"path": "/add?a=2&b=3"},
                "expect": {"status": 200, "body_contains": list(texts)}}  # fmt: skip

    data = {"components": [_program("calc")], "scenarios": [scenario("{'result': 5}", '{"ok": true}', "sum")]}
    plan = Plan.model_validate(data)
    expect = plan.scenarios[0].expect  # type: ignore[union-attr]
    assert expect.json_fields == {"result": 5, "ok": True} and expect.body_contains == ["sum"]
    [route] = plan.outline().routes_of(plan.components[0])
    assert route.answers == '200, with "sum" in the body, JSON with {"result": 5, "ok": true}'  # what a stub says
    for kept in ('{"count": N}', '{"a": {"b": 1}}', "{}", "[1, 2]"):  # not a flat object of plain values
        data["scenarios"] = [scenario(kept)]
        assert Plan.model_validate(data).scenarios[0].expect.body_contains == [kept]  # type: ignore[union-attr]


def test_a_static_sites_health_check_names_a_file_it_has_or_none() -> None:
    # the real 1.5B's static-home (2026-12-07): `health: /health` on the page, copied from the API example: 404
    page = {"name": "home", "layer": "frontend", "runtime": "static", "health": "/health"}
    data = {"components": [page], "files": [{"path": "frontend/home/index.html"}, {"path": "frontend/home/ok.txt"}]}
    assert Plan.model_validate(data).components[0].health is None  # genlib's own check: `/`
    page["health"] = "/ok.txt"
    assert Plan.model_validate(data).components[0].health == "/ok.txt"  # a file it plans: as written


def test_a_placeholder_is_no_text_a_body_holds() -> None:
    # the real 1.5B's visits-redis (2026-12-07): its own scenario expected the body to contain `N+1`
    scenario = {"name": "add", "kind": "http", "service": "visits-api", "request": {"path": "/visits"},
                "expect": {"body_contains": ["N+1", "...", "<id>", "visits", "N/A"]}}  # fmt: skip
    plan = Plan.model_validate({"components": [_program("visits")], "scenarios": [scenario]})
    assert plan.scenarios[0].expect.body_contains == ["visits", "N/A"]  # type: ignore[union-attr]


def test_a_scenario_stating_no_status_expects_the_one_its_route_states() -> None:
    # the real 0.5B's todos-api plan (2026-12-07): `POST /todos` shaped `-> 201 {...}`, its scenario stating none
    interfaces = [{"kind": "route", "name": "POST /todos", "shape": '{"title": "..."} -> 201 {"id": 1}'},
                  {"kind": "route", "name": "GET /todos", "shape": '200 [{"id": 1, "title": "..."}]'},
                  {"kind": "route", "name": "DELETE /todos", "shape": "removes one"}]  # fmt: skip

    def scenario(method: str, expect: dict[str, Any] | None = None) -> dict[str, Any]:
        found = {"name": method, "kind": "http", "service": "todos-api", "request": {"method": method,
                 "path": "/todos?x=1"}}  # fmt: skip
        return found if expect is None else {**found, "expect": expect}

    scenarios = [scenario("POST"), scenario("POST", {"body_contains": ["New"]}), scenario("POST", {"status": 200}),
                 scenario("DELETE"), scenario("GET")]  # fmt: skip
    plan = Plan.model_validate({"components": [_program("todos")], "interfaces": interfaces, "scenarios": scenarios})
    statuses = [s.expect.status for s in plan.scenarios]  # type: ignore[union-attr]
    assert statuses == [201, 201, 200, 200, 200]  # a status stated in the scenario stays; a shape with none: 200
    assert plan.scenarios[1].expect.body_contains == ["New"]  # type: ignore[union-attr]


# The real 0.5B's guestbook-postgres plans (2026-12-07), refused three times: its API planned as a second postgres.
GUESTBOOK = {
    "summary": "A guestbook API",
    "components": [
        {"name": "guestbook", "layer": "backend", "runtime": "postgres", "description": "stores entries"},
        {"name": "db", "layer": "backend", "runtime": "postgres", "description": "the guestbook"}],
    "files": [
        {"path": "backend/db/001_schema.sql", "purpose": "CREATE TABLE guestbooks (id SERIAL PRIMARY KEY, text TEXT)"},
        {"path": "api/guestbook/app.py", "purpose": "HTTP server: GET /entries, POST /entries"}],
    "scenarios": [
        {"name": "add entry", "service": "guestbook-api", "kind": "http",
         "request": {"method": "POST", "path": "/entries", "json": {"name": "...", "text": "..."}}},
        {"name": "list entries", "service": "guestbook-api", "kind": "http", "request": {"path": "/entries"}}],
}  # fmt: skip


def test_a_database_that_http_scenarios_call_is_the_apps_program(workspace: Workspace) -> None:
    check = answer_rules(workspace, load_settings(workspace.root), rules.Baseline())
    plan = parse_plan(json.dumps(GUESTBOOK), check)  # every rule passes: it lands
    api, db = plan.components
    assert (api.service, api.runtime, api.port, api.command) == ("guestbook-api", "python", 8000, ["python3", "app.py"])
    assert api.depends_on == ["db-backend"] and db.runtime == "postgres"
    assert [f.path for f in plan.files][-1] == "api/guestbook/requirements.txt"  # psycopg's
    unplanned = {**GUESTBOOK, "files": GUESTBOOK["files"][:1]}  # its first attempt planned no program file
    api = Plan.model_validate(unplanned).components[0]
    assert (api.layer, api.command) == ("api", ["python3", "app.py"])
    assert "api/guestbook/app.py" in [f.path for f in Plan.model_validate(unplanned).files]
    kept = {**GUESTBOOK, "scenarios": []}  # nothing calls it: a database, as planned
    assert Plan.model_validate(kept).components[0].runtime == "postgres"


def test_a_scenario_sending_no_body_sends_what_its_route_takes() -> None:
    # the real 0.5B's hello-api (2026-12-07): `POST /hello` shaped `{"message": "hello"} -> 201 {...}`, its scenario
    # sending nothing to the function it wrote to answer 400 without a body
    interfaces = [{"kind": "route", "name": "POST /hello", "shape": '{"message": "hello"} -> 201 {"message": "hi"}'},
                  {"kind": "route", "name": "PUT /hello", "shape": '{"a": {"b": 1}} -> 200'}]  # fmt: skip

    def scenario(method: str, **request: Any) -> dict[str, Any]:
        return {"name": method, "kind": "http", "service": "hello-api",
                "request": {"method": method, "path": "/hello", **request}}  # fmt: skip

    scenarios = [scenario("POST"), scenario("POST", json={"message": "x"}), scenario("POST", body="raw"),
                 scenario("PUT")]  # fmt: skip
    plan = Plan.model_validate({"components": [_program("hello")], "interfaces": interfaces, "scenarios": scenarios})
    sent = [(s.request.json_body, s.request.body) for s in plan.scenarios]  # type: ignore[union-attr]
    assert sent == [({"message": "hello"}, None), ({"message": "x"}, None), (None, "raw"), (None, None)]
