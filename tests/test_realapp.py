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

from genlib.config import OFFLINE_DATA_IMAGES
from genlib.documents.scenarios import TestFile, load_tests, parse_scenarios, save_tests
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
