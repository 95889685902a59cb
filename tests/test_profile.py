"""Profile small: chosen by the model's size or the setting; its short plan prompt with one worked example and no
printed schema, its starters, its heal prompt of one failure, one traceback and one numbered file, one file per
round. Against the scripted servers (the model's size as Ollama and llama.cpp say it) and real templates."""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import APPS
from ollama_server import ScriptedOllama
from openai_server import MODEL, ScriptedOpenAI
from test_gen import gen_in_process
from test_heal_prompt import SECRET_HEX, failing  # noqa: F401  (the fixture)
from test_routefill import serving

from genlib import prompts
from genlib.config import Settings, load_settings
from genlib.documents.llm_output import Answer, FileSpec
from genlib.errors import ConfigError, OutputError
from genlib.loops.gen import asks_for_page, example_for, store_for
from genlib.model import healsmall, profile, scaffold, starters
from genlib.model.healsmall import numbered, one_file, unnumbered
from genlib.model.ollama import OllamaLLM
from genlib.model.openai import OpenAILLM
from genlib.model.stepgen import Interface, Plan, file_messages
from genlib.text import CHARS_PER_TOKEN
from genlib.workspace import Workspace

NOTES = json.loads((APPS / "notes" / "llm_output.json").read_text())["answer"]
NOTES_TEXT = json.dumps(NOTES)


@dataclass
class Sized:
    model: str
    count: float | None = None

    def parameters(self) -> float | None:
        return self.count


@pytest.mark.parametrize(
    ("text", "count"), [("1.5B", 1.5e9), ("494.03M", 4.9403e8), ("7.6B", 7.6e9), ("", None), ("big", None)]
)
def test_parse_size_reads_ollamas_parameter_size(text: str, count: float | None) -> None:
    assert profile.parse_size(text) == count


@pytest.mark.parametrize(
    ("name", "count"),
    [("qwen2.5-coder:1.5b", 1.5e9), ("Qwen2.5-Coder-7B-Instruct", 7e9), ("llama3.2:3b", 3e9), ("gpt-4o-mini", None)],
)
def test_a_size_in_the_models_name(name: str, count: float | None) -> None:
    assert profile.size_in_name(name) == count


@pytest.mark.parametrize(
    ("setting", "llm", "chosen"),
    [
        ("auto", Sized("m", 1.8e9), "small"),
        ("auto", Sized("m", 7.6e9), "large"),
        ("auto", Sized("m"), "large"),  # nothing says: the long prompts, as before
        ("auto", Sized("coder-1.5b"), "small"),  # the server says nothing, the name does
        ("large", Sized("m", 1.8e9), "large"),
        ("small", Sized("m", 70e9), "small"),
    ],
)
def test_settle_goes_by_the_setting_then_the_size(setting: str, llm: Sized, chosen: str) -> None:
    settings, line = profile.settle(Settings(profile=setting, steps=False), llm)
    assert settings.profile == chosen and line.startswith(f"prompts: {chosen} (")
    assert settings.steps is (chosen == "small")  # small always asks in steps


def test_a_profile_that_does_not_exist_is_one_line(workspace: Workspace) -> None:
    with pytest.raises(ConfigError, match="profile='tiny' is not one of auto, small, large"):
        load_settings(workspace.root, {"profile": "tiny"})


def test_the_servers_say_the_models_size(ollama: ScriptedOllama, openai_api: ScriptedOpenAI) -> None:
    with OllamaLLM(Settings(ollama_host=ollama.url)) as llm:
        assert llm.parameters() == 7.6e9  # the scripted Ollama's parameter_size
    for n_params, said in ((1_777_088_000, 1_777_088_000), (0, None)):
        openai_api.n_params = n_params
        served = OpenAILLM(Settings(provider="openai", base_url=openai_api.url, model=MODEL))
        try:
            assert served.parameters() == said
        finally:
            served.close()


def test_gen_with_a_small_model_asks_short_with_one_example_and_starters(
    workspace: Workspace, openai_api: ScriptedOpenAI
) -> None:
    openai_api.n_params = 1_777_088_000
    openai_api.enqueue(NOTES_TEXT)
    code, out = gen_in_process(workspace, "a notes app", provider="openai", base_url=openai_api.url, model=MODEL)
    assert code == 0, out
    assert "prompts: small (1.8B parameters; profile=large for the large ones)" in out
    chats = openai_api.chats()
    plan = chats[0]["messages"][0]["content"]
    assert "Example answer:" in plan and "Request: a notes app" in plan
    assert '"$defs"' not in plan and "response_format" in chats[0]  # the server enforces the schema: not printed
    assert len(plan) / CHARS_PER_TOKEN < 1500
    server_file = next(c for c in chats if "## Now write api/notes/server.js" in c["messages"][-1]["content"])
    asked = server_file["messages"][-1]["content"]
    assert asked.index("## A working file to start from") < asked.index("## Now write api/notes/server.js")
    assert "Start from the working file above" in asked and "do not send it back as it is" in asked
    assert '"POST /notes": postNotes,' in server_file["messages"][-1]["content"]  # node-http.js.j2 with its routes
    assert "process.env.PORT || 3000" in server_file["messages"][-1]["content"]
    page = next(c for c in chats if "## Now write frontend/web/app.js" in c["messages"][-1]["content"])
    assert 'GENLIB_SERVICES || {})["notes-api"]' in page["messages"][-1]["content"]  # the api the page depends on


@pytest.mark.parametrize(
    ("request_text", "layers"),
    [
        ("A small JSON API, service hello-api, with GET /hello", {"api"}),
        ("A worker that prints tick every two seconds", {"workers"}),
        ("A worker polling the orders API every minute", {"api"}),  # an API named: the API's example
        ("A notes API and a web page that lists the notes", {"api", "frontend"}),
        ("A static home page with three links", {"frontend"}),  # no program named: a static site's example
        ("A page listing the notes the API stores", {"api", "frontend"}),
        ("A todo app with a form to add items", {"api", "frontend"}),
        ("A guestbook API storing entries in Postgres", {"api", "backend"}),  # the example's database too
        ("A visit counter counting in Redis, with a page", {"api", "backend", "frontend"}),
    ],
)
def test_the_small_plan_example_is_shaped_like_the_request(
    workspace: Workspace, request_text: str, layers: set[str]
) -> None:
    """A page only when the request mentions one, a worker's example for a worker: the 0.5B copied the example's
    page into an API-only request, and its bookmark routes into a worker that prints ticks."""
    context = {
        "description": request_text,
        "static_port": 8080,
        "app": None,
        "asks_for_page": asks_for_page(request_text),
        "example": example_for(request_text),
        "store": store_for(request_text),
    }
    text = prompts.render(workspace, "small/gen.md.j2", context)
    example = text.split("Example answer:\n", 1)[1].split("\n\n", 1)[0]
    plan = Plan.model_validate(json.loads(example))  # valid in every shape
    assert {c.layer for c in plan.components} == layers
    assert "\n\nExample request:" in text


def test_gen_with_profile_large_keeps_the_long_prompt(workspace: Workspace, openai_api: ScriptedOpenAI) -> None:
    openai_api.n_params = 1_777_088_000
    openai_api.enqueue(NOTES_TEXT)
    args = {"provider": "openai", "base_url": openai_api.url, "model": MODEL, "profile": "large"}
    code, out = gen_in_process(workspace, "a notes app", **args)
    assert code == 0, out
    plan = openai_api.chats()[0]["messages"][0]["content"]
    assert "## Answer schema" in plan and "Example answer:" not in plan
    assert all("working file" not in c["messages"][-1]["content"] for c in openai_api.chats())


def _plan(runtime: str, files: list[str], port: int | None = 8000, summary: str = "") -> Plan:
    command = ["python3", "app.py"] if runtime == "python" else ["node", "server.js"]
    component = {"name": "todos", "layer": "api", "runtime": runtime, "port": port, "command": command}
    return Plan.model_validate({"summary": summary, "components": [component], "files": [{"path": p} for p in files]})


@pytest.mark.parametrize(
    ("runtime", "files", "port", "summary", "path", "chosen"),
    [
        ("python", ["api/todos/app.py"], 8000, "", "api/todos/app.py", "python-http.py.j2"),
        ("python", ["api/todos/app.py", "api/todos/requirements.txt"], 8000, "Flask", "api/todos/app.py",
         "python-flask.py.j2"),
        ("python", ["api/todos/app.py"], 8000, "Flask", "api/todos/app.py", "python-http.py.j2"),  # no deps file
        ("python", ["api/todos/app.py"], None, "", "api/todos/app.py", "python-worker.py.j2"),
        ("python", ["api/todos/app.py", "api/todos/util.py"], 8000, "", "api/todos/util.py", None),
        ("node", ["api/todos/server.js", "api/todos/package.json"], 8000, "express", "api/todos/server.js",
         "node-express.js.j2"),
        ("node", ["api/todos/server.js", "api/todos/package.json"], 8000, "", "api/todos/package.json",
         "package.json.j2"),
    ],
)  # fmt: skip
def test_the_starter_fits_the_runtime_and_the_file(
    runtime: str, files: list[str], port: int | None, summary: str, path: str, chosen: str | None
) -> None:
    plan = _plan(runtime, files, port, summary)
    component = plan.component_of(path)
    assert component is not None
    assert starters.choose(component, path, plan.outline()) == chosen


def test_every_starter_renders_to_a_valid_file(workspace: Workspace, tmp_path: Path) -> None:
    folder = workspace.templates_dir / starters.FOLDER
    names = sorted(p.name for p in folder.glob("*.j2"))
    assert len(names) >= 10
    routes = [starters.Route("GET", "/todos"), starters.Route("POST", "/todos/done")]
    clients = {"psycopg[binary]": "3.2.3", "redis": "5.0.8"}
    pages = [starters.Page("todos", "/todos", "/todos", "title"), starters.Page("items", None, None, "text")]
    for name, with_routes, using, page in itertools.product(names, ([], routes), ([], ["postgres", "redis"]), pages):
        packages = clients if using else {}
        api = "x-api" if page.list_path else None
        collections = [scaffold.Collection("/todos", "TODOS", "todos")] if with_routes and not using else []
        context = {"name": "todos", "port": 8000, "api": api, "routes": with_routes, "clients": using,
                   "packages": packages, "page": page, "collections": collections}  # fmt: skip
        content = prompts.render(workspace, f"{starters.FOLDER}/{name}", context)
        if name.endswith(".py.j2"):
            compile(content, name, "exec")
        elif name.endswith(".json.j2"):
            json.loads(content)
        elif name.endswith(".js.j2") and shutil.which("node"):
            (tmp_path / "check.js").write_text(content)
            assert subprocess.run(["node", "--check", str(tmp_path / "check.js")], check=False).returncode == 0, name
    plan = _plan("python", ["api/todos/app.py"])
    rendered = starters.for_file(workspace, plan.outline(), plan.files[0].path)
    assert rendered is not None and 'os.environ.get("PORT", "8000")' in rendered.content


def test_a_program_using_data_services_starts_with_their_clients(workspace: Workspace) -> None:
    """A db() connection and a Redis client, their packages pinned: the 0.5B, given neither, planned the database
    as a component running `psql` and never connected to it."""
    program = {"name": "g", "layer": "api", "runtime": "python", "port": 8000, "command": ["python3", "app.py"],
               "depends_on": ["db-backend", "cache"]}  # fmt: skip
    data = [{"name": "db", "layer": "backend", "runtime": "postgres"}, {"name": "cache", "layer": "backend",
            "runtime": "redis"}]  # fmt: skip
    plan = Plan.model_validate(
        {"summary": "in Flask", "components": [program, *data], "files": [{"path": "api/g/app.py"}]}
    )
    assert [f.path for f in plan.files] == ["api/g/app.py", "api/g/requirements.txt"]  # planned for its clients
    app = starters.for_file(workspace, plan.outline(), "api/g/app.py")
    assert app is not None and app.name == "python-flask.py.j2"
    assert 'psycopg.connect(os.environ["DATABASE_URL"]' in app.content
    assert 'redis.Redis.from_url(os.environ["REDIS_URL"]' in app.content
    requirements = starters.for_file(workspace, plan.outline(), "api/g/requirements.txt")
    assert requirements is not None
    assert requirements.content.splitlines()[1:] == ["flask==3.0.3", "psycopg[binary]==3.2.3", "redis==5.0.8"]
    alone = starters.for_file(workspace, _plan("python", ["api/todos/app.py"]).outline(), "api/todos/app.py")
    assert alone is not None and "psycopg" not in alone.content and "redis" not in alone.content
    scenarios = [{"name": m, "kind": "http", "service": "g-api", "request": {"method": m, "path": "/notes"}}
                 for m in ("GET", "POST")]  # fmt: skip
    stored = plan.model_copy(update={"scenarios": Plan.model_validate({"scenarios": scenarios}).scenarios})
    app = starters.for_file(workspace, stored.outline(), "api/g/app.py")
    assert app is not None and "def post_notes():" in app.content
    assert "NOTES = []" not in app.content  # its notes live in the database, not in memory


def test_a_server_starter_holds_the_plans_routes_for_its_service(workspace: Workspace) -> None:
    plan = _plan("python", ["api/todos/app.py"])
    interfaces = [Interface(kind="route", name=n) for n in ("GET /todos/{id}", "GET /health", "x")]
    interfaces.append(Interface(kind="route", name="GET /todos", shape='200 [{"title": "milk"}]'))
    scenario = {"name": "add", "kind": "http", "service": "todos-api", "request": {"method": "POST", "path": "/todos/"},
                "expect": {"status": 201, "body_contains": ["milk"]}}  # fmt: skip
    other = {"name": "o", "kind": "http", "service": "other-api", "request": {"method": "GET", "path": "/other?q=1"}}
    plan = plan.model_copy(update={"interfaces": interfaces, "scenarios": plan.model_validate(
        {"scenarios": [scenario, other]}).scenarios})  # fmt: skip
    outline = plan.outline()
    component = plan.components[0]
    assert [(r.method, r.path) for r in outline.routes_of(component)] == [("GET", "/todos"), ("POST", "/todos")]
    starter = starters.for_file(workspace, outline, "api/todos/app.py")
    assert starter is not None and "each answers 501 until written" in starter.hint
    assert '("POST", "/todos"): post_todos,' in starter.content and "/other" not in starter.content
    assert '    # answers: 201, with "milk" in the body\n' in starter.content  # what its scenario expects
    assert '    # answers: 200 [{"title": "milk"}]\n' in starter.content  # the interface's shape
    assert "/items" not in starter.content  # the example routes only when the plan names none
    assert "\nTODOS = []  # what POST /todos adds to and GET /todos lists\n" in starter.content  # the routes share it
    assert "    TODOS.append(item)\n    return 201, item\n" in starter.content  # a collection's routes come written
    assert "GET and POST /todos (TODOS) are written already" in starter.hint


def test_a_collection_is_kept_in_memory_only_for_a_path_listed_and_added_to() -> None:
    """The real 1.5B's GET /todos, asked for alone, returned a list it made up; its POST added to nothing."""
    route = starters.Route
    routes = [route("GET", "/api/todo-items", answers="the list"), route("POST", "/api/todo-items"),
              route("POST", "/add"), route("GET", "/time"), route("GET", "/2fa", answers="[]"), route("POST", "/2fa"),
              route("GET", "/count", answers='200 {"count": 1}'), route("POST", "/count", answers="200")]  # fmt: skip
    assert scaffold.collections_of(routes) == [scaffold.Collection("/api/todo-items", "TODO_ITEMS", "todoItems")]
    taken = [route("GET", "/notes"), route("POST", "/notes", answers='{"text": "..."} -> 201 {"id": 1}')]
    assert scaffold.collections_of(taken) == [scaffold.Collection("/notes", "NOTES", "notes")]
    # the real 0.5B's time API: a POST taking an object it made up, beside the person's GET answering an object
    clock = [route("GET", "/time", answers='{"time": "<now>"}'), route("POST", "/time", answers='{"time": "."} -> 201')]
    assert scaffold.collections_of(clock) == []
    stated = [route("GET", "/notes", answers='200 {"notes": [{"id": 1}]}'), route("POST", "/notes", answers="200")]
    assert scaffold.collections_of(stated) == [scaffold.Collection("/notes", "NOTES", "notes", 200, "notes")]


def test_the_tables_a_plans_schema_file_creates_are_read_from_its_purpose() -> None:
    """What a Postgres collection reads and writes, and db()'s example names (the 0.5B queried the example's `t`)."""
    purpose = ("CREATE TABLE IF NOT EXISTS entries (id SERIAL PRIMARY KEY, name TEXT NOT NULL, price NUMERIC(10, 2), "
               "at TIMESTAMP DEFAULT now(), UNIQUE (name)); CREATE TABLE tags (tag TEXT)")  # fmt: skip
    assert scaffold.tables_in(purpose) == [
        scaffold.Table("entries", ["id", "name", "price", "at"], ["name", "price"],
                       ["id", "name", "price::text AS price", "at::text AS at"])
    ]  # fmt: skip  # a table with no id is no collection's


def test_the_persons_words_on_a_route_come_before_the_plans_shape() -> None:
    """The real 0.5B shaped the person's `GET /time answers {"time": ...}` as `200 [{"time": "..."}]`."""
    component = {"name": "time", "layer": "api", "runtime": "node", "port": 8000, "command": ["node", "app.js"]}
    interfaces = [{"kind": "route", "name": "GET /time", "shape": '200 [{"time": "..."}]'}]
    plan = Plan.model_validate({"components": [component], "interfaces": interfaces})
    request = 'A Node.js API, service time-api: GET /time answers {"time": "<the current time as an ISO string>"}.'
    [route] = plan.outline(request).routes_of(plan.components[0])
    assert route.answers == 'answers {"time": "<the current time as an ISO string>"}'
    [route] = plan.outline().routes_of(plan.components[0])  # no request said: the plan's shape
    assert route.answers == '200 [{"time": "..."}]'


def test_a_starters_routes_answer_501_until_written(workspace: Workspace, tmp_path: Path) -> None:
    """The stdlib starter with the plan's routes, run for real: each route says it is not written yet."""
    context = {"name": "x", "port": 8000, "api": "a", "routes": [starters.Route("GET", "/hello")], "clients": []}
    app = prompts.render(workspace, f"{starters.FOLDER}/python-http.py.j2", context)
    with serving(tmp_path, app) as url:
        with pytest.raises(urllib.error.HTTPError) as answered:
            urllib.request.urlopen(f"{url}/hello", timeout=10)
        assert answered.value.code == 501 and b"GET /hello is not written yet" in answered.value.read()
        with urllib.request.urlopen(f"{url}/health", timeout=10) as health:
            assert json.loads(health.read()) == {"status": "ok"}


def test_numbered_lines_round_trip() -> None:
    text = "import os\n\nprint(os.environ['PORT'])\n"
    shown = numbered(text)
    assert shown.splitlines()[0] == "1 | import os" and shown.splitlines()[2] == "3 | print(os.environ['PORT'])"
    assert unnumbered(shown) == text
    assert unnumbered(text) == text  # a file without them stays as it is
    assert unnumbered("1 | a\nb\n") == "1 | a\nb\n"  # only when every line has one


def test_one_file_per_round() -> None:
    seen: list[Answer] = []
    check = one_file(lambda answer, *, planned=False: seen.append(answer))
    check(Answer(files=[FileSpec(path="api/a/app.py", content="x")]))
    with pytest.raises(OutputError, match="this round changes ONE file"):
        check(Answer(files=[FileSpec(path="api/a/app.py", content="x")], deletions=["api/a/old.py"]))
    assert len(seen) == 1


def test_the_small_heal_prompt_shows_request_traceback_then_one_numbered_file(failing: Any) -> None:  # noqa: F811
    ws, report, reg = failing
    (ws.iterations_dir / "iter_001_notes" / "desc.txt").write_text("a notes app with GET /notes\n")
    prompt = healsmall.build(ws, results=report, registry=reg, rounds=[])
    text = prompt.text
    assert prompt.failing == ["list notes"] and prompt.files_shown == ["api/notes/server.js"]
    assert text.index("The app was asked for: a notes app with GET /notes") < text.index("## The failing test")
    request = text.index("GET /notes: status 500, expected 200")
    traceback = text.index("TypeError: notes.map is not a function")
    shown = text.index("## api/notes/server.js (line numbers added")
    assert request < traceback < shown  # the exact request and response first, then the one traceback, the file
    assert '"error": "boom"' in text and "s3cret" not in text and SECRET_HEX not in text  # redacted
    server = (ws.iterations_dir / "iter_001_notes" / "api/notes/server.js").read_text()
    assert numbered(server) in text  # whole, every line numbered
    assert "frontend/web/index.html" in text.split("Other files: ")[1]  # the rest by name only
    assert "## Answer in steps: name the one file you change" in text
    # the answer's example is this failure's (the 0.5B wrote a todos app after an example about /todos)
    assert '{"summary": "fix list notes", "files": [{"path": "api/notes/server.js"' in text and "todos" not in text
    assert len(text) < 8000  # the big log and the 90 KB body are cut to their telling part


def test_the_small_heal_fixes_the_persons_failure_first_with_its_own_file(failing: Any) -> None:  # noqa: F811
    ws, report, reg = failing
    page = report.failing[0].model_copy(
        update={
            "name": "notes page",
            "service": "web-frontend",
            "origin": "model",
            "reason": "uncaught TypeError: x is null at http://127.0.0.1:2876/app.js:26:8 (frontend/web/app.js line 2)",
        }
    )
    report = report.model_copy(update={"results": [page, *report.results]})  # the model's own failure listed first
    prompt = healsmall.build(ws, results=report, registry=reg, rounds=[])
    assert prompt.failing[0] == "list notes" and prompt.files_shown == ["api/notes/server.js"]
    assert "Also failing: notes page (web-frontend:" in prompt.text


def test_a_small_file_request_restates_the_plans_routes_last(workspace: Workspace) -> None:
    plan = _plan("python", ["api/todos/app.py"])
    plan = plan.model_copy(update={"interfaces": [Interface(kind="route", name="GET /todos", shape="200 [..]")]})
    starter = starters.for_file(workspace, plan.outline(), plan.files[0].path)
    asked = file_messages(workspace, [], "{}", [], plan.files[0], plan, (), "small/file.md.j2", starter)[-1]["content"]
    assert asked.index("ROUTES = {") < asked.index("## Now write api/todos/app.py")
    assert asked.rstrip().endswith("in ONE fenced block, and nothing else.")
    assert "Routes of the plan: GET /todos: 200 [..]." in asked
