"""A real app end to end on the real engine, written by the scripted model.

Notes in Postgres through a Flask API (psycopg), a worker taking jobs from Redis (redis-py), and an
Express page (npm): `doit gen` then `doit` is green, and a note written first is still there after a
recreate of every service, a heal round, and `doit down` + `doit`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from conftest import APPS, run_doit, wait_for_base_image
from ollama_server import ScriptedOllama
from openai_server import MODEL, ScriptedOpenAI
from test_gen import gen_in_process

from genlib.config import OFFLINE_DATA_IMAGES
from genlib.documents.scenarios import TestFile, load_tests, parse_scenarios, save_tests
from genlib.model import starters
from genlib.model.stepgen import Plan
from genlib.stack import ports
from genlib.stack.engine import Stack
from genlib.workspace import Workspace

pytestmark = pytest.mark.docker

APP = APPS / "notesdb"
API = "api/notes/app.py"
COUNT = """

@app.get("/count")
def count_notes():
    with db() as conn:
        (n,) = conn.execute("SELECT count(*) FROM notes").fetchone()
    return jsonify(count=n)
"""
NEEDS_COUNT = {"name": "note count", "kind": "http", "service": "notes-api", "request": {"path": "/count"},
               "expect": {"status": 200, "body_contains": ["count"]}}  # fmt: skip


def notes(ws: Workspace) -> list[str]:
    answer = httpx.get(f"http://127.0.0.1:{ports.load(ws)['notes-api']}/notes", timeout=10)
    assert answer.status_code == 200, answer.text
    return [note["text"] for note in answer.json()]


@pytest.fixture
def data_engine(engine: Workspace) -> Iterator[Workspace]:
    """The engine with the offline data images; the data volumes are deleted afterwards."""
    for image in OFFLINE_DATA_IMAGES.values():
        wait_for_base_image(image=image)
    yield engine
    Stack(engine).down(volumes=True)


def test_notes_in_postgres_survive_recreates_heal_and_down(data_engine: Workspace, ollama: ScriptedOllama) -> None:
    engine = data_engine
    answer = json.loads((APP / "llm_output.json").read_text())["answer"]
    source = (APP / "src" / API).read_text()
    fix = {"summary": "add GET /count", "files": [{"path": API, "content": source.replace(
        '\n\nif __name__ == "__main__":', COUNT + '\n\nif __name__ == "__main__":')}]}  # fmt: skip
    ollama.enqueue(json.dumps(answer), json.dumps(fix))

    made = run_doit(engine, "gen", "desc=notes in postgres, a redis worker, an express page", timeout=900)
    assert made.returncode == 0, made.output
    green = run_doit(engine, timeout=1800)  # builds the api's, the worker's and the page's images
    assert green.returncode == 0, green.output
    httpx.post(f"http://127.0.0.1:{ports.load(engine)['notes-api']}/notes", json={"text": "persist-me"}, timeout=10)
    assert "persist-me" in notes(engine)

    Stack(engine).force_recreate()  # every container replaced, the database's too
    assert "persist-me" in notes(engine)

    scenarios = [*load_tests(engine.tests_path).scenarios, *parse_scenarios([NEEDS_COUNT])]
    save_tests(engine.tests_path, TestFile(scenarios=scenarios))  # a person asks for more
    assert run_doit(engine).returncode == 1
    healed = run_doit(engine, "heal", timeout=1800)
    assert healed.returncode == 0, healed.output
    assert "persist-me" in notes(engine)

    assert run_doit(engine, "down").returncode == 0
    again = run_doit(engine, timeout=900)
    assert again.returncode == 0, again.output
    assert "persist-me" in notes(engine)


# The real 0.5B's plan of a Postgres guestbook, as it plans one: the database given a port, the API not using it,
# no dependency file. genlib's mends make the API use it and plan its dependency file; the starters hand it db().
def guestbook_plan(runtime: str) -> dict[str, object]:
    program = "app.py" if runtime == "python" else "server.js"
    return {
        "summary": "A guestbook API",
        "components": [
            {"name": "guestbook", "layer": "api", "runtime": runtime, "port": 8000,
             "command": ["python3" if runtime == "python" else "node", program], "health": "/health"},
            {"name": "db", "layer": "backend", "runtime": "postgres", "port": 5432},
        ],
        "files": [{"path": f"api/guestbook/{program}", "purpose": "GET /entries, POST /entries"},
                  {"path": "backend/db/001_schema.sql", "purpose": "the table entries"}],
        "scenarios": [
            {"name": "sign", "kind": "http", "service": "guestbook-api",
             "request": {"method": "POST", "path": "/entries", "json": {"name": "ann", "text": "hi there"}},
             "expect": {"status": 201, "body_contains": ["hi there"]}},
            {"name": "entries", "kind": "http", "service": "guestbook-api", "request": {"path": "/entries"},
             "expect": {"status": 200}},
        ],
    }  # fmt: skip


ROUTE_BODIES = {
    "get_entries": """def get_entries(query, body):
    with db() as conn:
        rows = conn.execute("SELECT name, text FROM entries ORDER BY id").fetchall()
    return 200, [{"name": name, "text": text} for name, text in rows]
""",
    "post_entries": """def post_entries(query, body):
    with db() as conn:
        conn.execute("INSERT INTO entries (name, text) VALUES (%s, %s)", (body["name"], body["text"]))
    return 201, body
""",
    "getEntries": """async function getEntries(query, body) {
  const { rows } = await db.query("SELECT name, text FROM entries ORDER BY id");
  return [200, rows];
}
""",
    "postEntries": """async function postEntries(query, body) {
  await db.query("INSERT INTO entries (name, text) VALUES ($1, $2)", [body.name, body.text]);
  return [201, body];
}
""",
}


@pytest.mark.parametrize(("runtime", "dependencies"), [("python", "requirements.txt"), ("node", "package.json")])
def test_a_small_models_postgres_app_uses_the_starters_client_and_ends_green(
    data_engine: Workspace, openai_api: ScriptedOpenAI, runtime: str, dependencies: str
) -> None:
    """The small profile end to end on the real engine: the plan mended, the starter sent back as it is (the 0.5B's
    habit), each route asked for alone and written against db(), psycopg or pg installed from the pinned starter."""
    data = guestbook_plan(runtime)
    plan = Plan.model_validate(data)
    program, _, deps = (f.path for f in plan.files)
    assert deps == f"api/guestbook/{dependencies}"
    starter = starters.for_file(data_engine, plan.outline(), program)
    pinned = starters.for_file(data_engine, plan.outline(), deps)
    assert starter is not None and pinned is not None
    function = (lambda r: r.function) if runtime == "python" else (lambda r: r.function_js)
    routes = [f"```\n{ROUTE_BODIES[function(r)]}```" for r in starter.routes]
    schema = "CREATE TABLE entries (id SERIAL PRIMARY KEY, name TEXT NOT NULL, text TEXT NOT NULL);\n"
    openai_api.n_params = 494_000_000  # a 0.5B: the small profile
    openai_api.enqueue(
        json.dumps(data), f"```\n{starter.content}```", *routes, f"```sql\n{schema}```", f"```\n{pinned.content}```"
    )
    code, out = gen_in_process(data_engine, "a guestbook in Postgres", provider="openai", base_url=openai_api.url,
                               model=MODEL)  # fmt: skip
    assert code == 0, out
    run = run_doit(data_engine)
    assert run.returncode == 0, run.output
    kept = httpx.get(f"http://127.0.0.1:{ports.load(data_engine)['guestbook-api']}/entries", timeout=10).json()
    assert kept == [{"name": "ann", "text": "hi there"}]  # the scenario's entry, read back from Postgres


@pytest.mark.parametrize("runtime", ["python", "node"])
def test_a_small_models_postgres_collection_comes_written_and_ends_green(
    data_engine: Workspace, openai_api: ScriptedOpenAI, runtime: str
) -> None:
    """A plan whose schema file says what it creates: the collection's two routes come written against that table
    (the 0.5B queried db()'s example table `t`, and wrote Flask views into the standard library's starter), a
    date read back as text. Every starter sent back as it is; real Postgres, real psycopg and pg."""
    data = guestbook_plan(runtime)
    schema = "CREATE TABLE entries (id SERIAL PRIMARY KEY, name TEXT NOT NULL, text TEXT, at TIMESTAMP DEFAULT now())"
    data["files"][1]["purpose"] = schema  # type: ignore[index]
    plan = Plan.model_validate(data)
    program, _, deps = (f.path for f in plan.files)
    request = "A guestbook API in Postgres: GET /entries lists them, POST /entries adds one."
    starter, pinned = (starters.for_file(data_engine, plan.outline(request), path) for path in (program, deps))
    assert starter is not None and pinned is not None and "INSERT INTO entries (name, text)" in starter.content
    assert "not written yet" not in starter.content
    openai_api.n_params = 494_000_000  # a 0.5B: the small profile
    openai_api.enqueue(json.dumps(data), f"```\n{starter.content}```", f"```sql\n{schema};\n```",
                       f"```\n{pinned.content}```")  # fmt: skip
    code, out = gen_in_process(data_engine, request, provider="openai", base_url=openai_api.url, model=MODEL)
    assert code == 0, out
    run = run_doit(data_engine)
    assert run.returncode == 0, run.output
    [kept] = httpx.get(f"http://127.0.0.1:{ports.load(data_engine)['guestbook-api']}/entries", timeout=10).json()
    assert (kept["id"], kept["name"], kept["text"]) == (1, "ann", "hi there") and kept["at"].startswith("20")
