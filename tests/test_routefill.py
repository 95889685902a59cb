"""A route a server's starter left a stub is asked for alone and put in its place (genlib.model.routefill)."""

from __future__ import annotations

import io
import json
import shutil
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from conftest import BASE_IMAGE, run_doit, wait_for_base_image
from openai_server import MODEL, ScriptedOpenAI
from test_gen import gen_in_process

from genlib import prompts
from genlib.documents.llm_output import load_output
from genlib.documents.results import Result, RunReport
from genlib.documents.scenarios import load_tests
from genlib.errors import OutputError
from genlib.loops import heal
from genlib.model import routefill, scaffold, starters, stubfill
from genlib.model.openai import OpenAILLM
from genlib.model.stepgen import Plan
from genlib.stack import migrations
from genlib.stack.engine import run_once
from genlib.workspace import Workspace

HELLO = starters.Route("GET", "/hello", answers='200 {"message": "hello"}')
ADD = starters.Route("POST", "/notes")
GET_HELLO = 'def get_hello(query, body):\n    return 200, {"message": "hello"}\n'


def starter(ws: Workspace, name: str, routes: list[starters.Route]) -> str:
    return prompts.render(
        ws, f"{starters.FOLDER}/{name}", {"name": "x", "port": 8000, "api": "a", "routes": routes, "clients": []}
    )


def test_a_python_stub_is_replaced_by_the_function(workspace: Workspace) -> None:
    content = starter(workspace, "python-http.py.j2", [HELLO, ADD])
    assert routefill.stubs(content, [HELLO, ADD]) == [HELLO, ADD]
    notes = "NOTES = []\n\n\ndef post_notes(query, body):\n    NOTES.append(body)\n    return 201, body\n"
    filled = routefill.splice(routefill.splice(content, "get_hello", GET_HELLO, "a.py"), "post_notes", notes, "a.py")
    assert routefill.stubs(filled, [HELLO, ADD]) == []
    compile(filled, "a.py", "exec")
    assert filled.count("def get_hello(") == 1 and '("POST", "/notes"): post_notes,' in filled


TODOS = [starters.Route("GET", "/todos", answers="the list"), starters.Route("POST", "/todos")]


def test_routes_filled_one_at_a_time_share_their_collection(workspace: Workspace, tmp_path: Path) -> None:
    """The starter declares the list GET /todos shows and POST /todos adds to; a function sent with its own copy
    of it (node: a redeclaration, a file that does not run) keeps the file's."""
    context = {"name": "x", "port": 8000, "api": "a", "routes": TODOS, "clients": [],
               "collections": scaffold.collections_of(TODOS)}  # fmt: skip
    app = prompts.render(workspace, f"{starters.FOLDER}/python-http.py.j2", context)
    post = "TODOS = []\n\n\ndef post_todos(query, body):\n    TODOS.append(body)\n    return 201, body\n"
    app = routefill.splice(app, "post_todos", post, "a.py")
    app = routefill.splice(app, "get_todos", "def get_todos(query, body):\n    return TODOS\n", "a.py")
    assert app.count("TODOS = []") == 1
    with serving(tmp_path, app) as url:
        urllib.request.urlopen(urllib.request.Request(url + "/todos", data=b'{"title": "milk"}', method="POST"))
        with urllib.request.urlopen(url + "/todos", timeout=10) as answer:
            assert json.loads(answer.read()) == [{"title": "milk"}]
    node = prompts.render(workspace, f"{starters.FOLDER}/node-http.js.j2", context)
    post = "const todos = [\n  { title: 'seed' },\n];\n\nasync function postTodos(query, body) {\n  todos.push(body);\n"
    filled = routefill.splice(node, "postTodos", post + "  return [201, body];\n}\n", "server.js")
    assert filled.count("const todos = ") == 1 and "seed" not in filled and "todos.push(body);" in filled
    listen = next(line for line in node.split("\n") if line.startswith("server.listen("))
    with_listen = "async function getTodos(query, body) {\n  return [200, todos];\n}\n\n" + listen + "\n"
    filled = routefill.splice(node, "getTodos", with_listen, "server.js")  # the 0.5B's getTime, 2026-12-07
    assert filled.count("server.listen(") == 1 and "return [200, todos];" in filled


def _scaffolded(workspace: Workspace, name: str, routes: list[starters.Route]) -> str:
    collections = scaffold.collections_of(routes)
    context = {"name": "x", "port": 8000, "api": "a", "routes": routes, "clients": [], "collections": collections,
               "scaffolded": scaffold.scaffolded(collections)}  # fmt: skip
    return prompts.render(workspace, f"{starters.FOLDER}/{name}", context)


def test_a_collections_routes_come_written_and_keep_what_is_added(workspace: Workspace, tmp_path: Path) -> None:
    """The stdlib starter of a to-do API, run for real with nothing filled in: POST answers 201 with the item and
    its id, GET lists it (the 0.5B answered `{"title": "..."}` for POST /todos through three heal rounds)."""
    routes = [starters.Route("GET", "/todos", answers="[]"), starters.Route("POST", "/todos", answers="201")]
    app = _scaffolded(workspace, "python-http.py.j2", routes)
    assert routefill.stubs(app, routes) == []  # nothing for the model to write
    with serving(tmp_path, app) as url:
        added = urllib.request.Request(url + "/todos", data=b'{"title": "milk"}', method="POST")
        with urllib.request.urlopen(added, timeout=10) as answer:
            assert answer.status == 201 and json.loads(answer.read()) == {"id": 1, "title": "milk"}
        with urllib.request.urlopen(url + "/todos", timeout=10) as answer:
            assert json.loads(answer.read()) == [{"id": 1, "title": "milk"}]


def test_a_function_is_sent_as_the_file_calls_it(workspace: Workspace) -> None:
    """The real 0.5B's guestbook (2026-12-07) wrote Flask views into the standard library's starter: the ROUTES
    table calls `get_entries(query, body)`, and `@app.route` named an app the file never made."""
    content = starter(workspace, "python-http.py.j2", [HELLO])
    flask = "from flask import jsonify\n\n\n@app.route('/hello')\ndef get_hello():\n    return jsonify(a=1)\n"
    with pytest.raises(OutputError, match=r"get_hello is called as `get_hello\(query, body\)` by the file"):
        routefill.splice(content, "get_hello", flask, "a.py")
    own_names = "def get_hello(q, b):\n    return {'message': 'hello'}\n"  # its own names: called the same
    assert "def get_hello(q, b):" in routefill.splice(content, "get_hello", own_names, "a.py")


def test_a_javascript_stub_is_replaced_by_the_function(workspace: Workspace) -> None:
    content = starter(workspace, "node-http.js.j2", [HELLO])
    function = 'function getHello(query, body) {\n  return [200, { message: "hello" }];\n}\n'
    filled = routefill.splice(content, "getHello", function, "api/x/server.js")
    assert "is not written yet" not in filled and filled.count("function getHello(") == 1
    assert '"GET /hello": getHello,' in filled
    empty = "function getHello(query, body) {\n  // answers: 200 [...]\n  /* to write */\n}\n"  # the real 0.5B's
    with pytest.raises(OutputError, match="getHello has no body yet"):
        routefill.splice(content, "getHello", empty, "api/x/server.js")


def test_the_model_sees_the_routes_with_the_unwritten_bodies_left_out(workspace: Workspace) -> None:
    content = starter(workspace, "python-http.py.j2", [HELLO, ADD])
    shown = routefill.shown_part(content, [ADD], "api/x/app.py")
    assert shown.startswith("# the data the routes share") and "class Handler" not in shown
    assert "def post_notes(query, body):\n    ...  # to write\n" in shown and "POST /notes is not" not in shown
    assert "GET /hello is not written yet" in shown  # only the one asked for is left out
    js = routefill.shown_part(starter(workspace, "node-http.js.j2", [HELLO]), [HELLO], "api/x/server.js")
    assert "function getHello(query, body) {\n  // answers: 200" in js and "  // to write\n}" in js


def test_a_function_the_file_has_already_is_left_out_of_the_answer(workspace: Workspace) -> None:
    """Asked for post_notes, the 0.5B sent get_hello (written the step before) with it: the file's stays."""
    content = routefill.splice(starter(workspace, "python-http.py.j2", [HELLO, ADD]), "get_hello", GET_HELLO, "a.py")
    answer = "def get_hello(query, body):\n    return 500, {}\n\n\ndef post_notes(query, body):\n    return 201, body\n"
    filled = routefill.splice(content, "post_notes", answer, "api/x/app.py")
    assert filled.count("def get_hello(") == 1 and 'return 200, {"message": "hello"}' in filled
    assert "return 500, {}" not in filled and "    return 201, body" in filled
    compile(filled, "app.py", "exec")


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ("def hello(query, body):\n    return 200, {}\n", "the answer does not define get_hello"),
        ("def get_hello(query, body):\n  return 200, {\n", "the function does not parse"),
        ("def get_hello(query, body):\n    # answers: 200\n    ...  # to write\n", "get_hello has no body yet"),
        ('def get_hello(query, body):\n    return 200, {"error": "GET /hello is not written yet"}\n', "still answers"),
    ],
    ids=["other-name", "broken", "the-elided-stub-back", "still-a-stub"],
)
def test_an_answer_that_is_not_the_function_is_refused(workspace: Workspace, answer: str, reason: str) -> None:
    content = starter(workspace, "python-http.py.j2", [HELLO])
    with pytest.raises(OutputError, match=reason):
        routefill.splice(content, "get_hello", answer, "api/x/app.py")


def test_a_gen_asks_for_each_route_left_a_stub_and_the_app_answers(
    workspace: Workspace, openai_api: ScriptedOpenAI, tmp_path: Path
) -> None:
    """The 0.5B sent the starter back as it was; each stub is then asked for alone, and the app works."""
    component = {"name": "hello", "layer": "api", "runtime": "python", "port": 8000, "command": ["python3", "app.py"],
                 "health": "/health"}  # fmt: skip
    scenario = {"name": "hello", "kind": "http", "service": "hello-api", "request": {"path": "/hello"},
                "expect": {"status": 200, "body_contains": ["hello"]}}  # fmt: skip
    plan = Plan.model_validate({"components": [component], "files": [{"path": "api/hello/app.py"}],
                                "scenarios": [scenario]})  # fmt: skip
    found = starters.for_file(workspace, plan.outline(), "api/hello/app.py")
    assert found is not None and [r.path for r in found.routes] == ["/hello"]
    unchanged = {"components": [component], "scenarios": [scenario],
                 "files": [{"path": "api/hello/app.py", "content": found.content}]}  # fmt: skip
    openai_api.n_params = 494_000_000
    no_body = "def get_hello(query, body):\n    ...  # to write\n"  # the shown stub sent back
    openai_api.enqueue(json.dumps(unchanged), f"```python\n{no_body}```", f"```python\n{GET_HELLO}ROUTES = {{}}\n```")
    code, out = gen_in_process(workspace, "a hello API", provider="openai", base_url=openai_api.url, model=MODEL)
    assert code == 0, out
    asked = openai_api.chats()[-1]["messages"]
    assert "## Now write the function get_hello" in asked[0]["content"]
    assert 'It answers GET /hello: 200, with "hello" in the body.' in asked[0]["content"]
    assert "get_hello has no body yet" in asked[-1]["content"]  # the refused first answer, with its reason
    it = workspace.iterations_dir / "iter_001_a_hello_api"
    steps = [s.name for s in load_output(it / "llm_output.json").steps]
    assert steps == ["plan", "api/hello/app.py", "route 1 of 1 GET /hello in api/hello/app.py"]
    app = (it / "api/hello/app.py").read_text()
    assert "not written yet" not in app
    assert _get(tmp_path, app, "/hello") == {"message": "hello"}  # the filled file, run for real


@contextmanager
def serving(folder: Path, app: str) -> Iterator[str]:
    """`app` (a Python server reading PORT) run for real from `folder`: its base URL while it runs."""
    (folder / "app.py").write_text(app)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, "app.py"], cwd=folder, env={"PORT": str(port)}, stdout=subprocess.PIPE)
    try:
        assert server.stdout is not None and b"listening" in server.stdout.readline()
        yield f"http://127.0.0.1:{port}"
    finally:
        server.kill()
        server.communicate()


def test_a_route_the_model_cannot_write_stays_a_stub_and_the_gen_lands(
    workspace: Workspace, openai_api: ScriptedOpenAI
) -> None:
    component = {"name": "hello", "layer": "api", "runtime": "python", "port": 8000, "command": ["python3", "app.py"],
                 "health": "/health"}  # fmt: skip
    scenario = {"name": "hello", "kind": "http", "service": "hello-api", "request": {"path": "/hello"}}
    plan = Plan.model_validate({"components": [component], "files": [{"path": "api/hello/app.py"}],
                                "scenarios": [scenario]})  # fmt: skip
    found = starters.for_file(workspace, plan.outline(), "api/hello/app.py")
    assert found is not None
    unchanged = {"components": [component], "scenarios": [scenario],
                 "files": [{"path": "api/hello/app.py", "content": found.content}]}  # fmt: skip
    openai_api.n_params = 494_000_000
    openai_api.enqueue(json.dumps(unchanged), *["```python\ndef hello():\n    pass\n```"] * 3)
    code, out = gen_in_process(workspace, "a hello API", provider="openai", base_url=openai_api.url, model=MODEL)
    assert code == 0, out  # landed: its scenario will fail on the 501, for heal
    assert "route 1 of 1 GET /hello in api/hello/app.py: left as it was (the model's answer was still invalid" in out
    app = (workspace.iterations_dir / "iter_001_a_hello_api" / "api/hello/app.py").read_text()
    assert app == found.content


def test_heal_writes_a_route_still_a_stub_alone(workspace: Workspace, openai_api: ScriptedOpenAI) -> None:
    """A scenario's 501 "GET /hello is not written yet": a small model's heal round asks for that function alone
    (shown the whole file, the 0.5B rewrote it and broke it)."""
    test_a_route_the_model_cannot_write_stays_a_stub_and_the_gen_lands(workspace, openai_api)
    it = workspace.iterations_dir / "iter_001_a_hello_api"
    failed = {"name": "hello", "kind": "http", "service": "hello-api", "origin": "user", "status": "failed",
              "reason": "status 501, expected 200",
              "evidence": {"status": 501, "body_head": '{"error": "GET /hello is not written yet"}'}}  # fmt: skip
    report = RunReport.of(it.name, datetime.now(UTC), 1.0, [Result.model_validate(failed)])
    scenario = {"name": "hello", "kind": "http", "service": "hello-api", "request": {"path": "/hello"},
                "expect": {"status": 200, "body_contains": ["hello"]}}  # fmt: skip
    workspace.tests_path.write_text(yaml.safe_dump({"version": 1, "scenarios": [scenario]}))
    settings = workspace.settings(
        {"provider": "openai", "base_url": openai_api.url, "model": MODEL, "profile": "small"}
    )
    openai_api.enqueue(f"```python\n{GET_HELLO}```")
    out = io.StringIO()
    llm = OpenAILLM(settings)
    try:
        current = migrations.baseline(workspace, load_tests(workspace.tests_path))
        accepted = heal.write_unwritten_routes(workspace, heal.State(report), settings, llm, current, out, 1)
    finally:
        llm.close()
    assert accepted is not None and accepted.answer.summary == "write GET /hello"
    assert (
        "heal: round 1: writing GET /hello of api/hello/app.py alone (still the starter's stub: 501)" in out.getvalue()
    )
    [written] = accepted.answer.files
    assert written.path == "api/hello/app.py" and 'return 200, {"message": "hello"}' in written.content
    assert [s.name for s in accepted.steps] == ["route 1 of 1 GET /hello in api/hello/app.py"]
    assert accepted.request(openai_api.url, []).model == MODEL  # what record() keeps of the request
    asked = openai_api.history[-1].body["messages"][-1]["content"]
    assert 'It answers GET /hello: 200, with "hello" in the body.' in asked  # what its scenario expects


def _get(tmp_path: Path, app: str, path: str) -> object:
    with serving(tmp_path, app) as url, urllib.request.urlopen(url + path, timeout=10) as answer:
        return json.loads(answer.read())


def test_the_stdlib_starter_takes_a_route_returning_its_data_and_reports_a_crash(
    workspace: Workspace, tmp_path: Path
) -> None:
    """A route may return only its data (200); one that raises answers 500 naming the error, and the log gets
    the traceback (it was a 400 'the body is not JSON' for any ValueError, and a dropped connection else)."""
    app = starter(workspace, "python-http.py.j2", [HELLO, ADD])
    app = routefill.splice(app, "get_hello", 'def get_hello(query, body):\n    return {"message": "hello"}\n', "a.py")
    app = routefill.splice(app, "post_notes", "def post_notes(query, body):\n    return 201, int(body['n'])\n", "a.py")
    with serving(tmp_path, app) as url:
        with urllib.request.urlopen(url + "/hello", timeout=10) as answer:
            assert answer.status == 200 and json.loads(answer.read()) == {"message": "hello"}
        crash = urllib.request.Request(url + "/notes", data=b'{"n": "x"}', method="POST")
        with pytest.raises(urllib.error.HTTPError) as answered:
            urllib.request.urlopen(crash, timeout=10)
        assert answered.value.code == 500 and "invalid literal for int()" in answered.value.read().decode()


def test_the_stdlib_starter_answers_a_status_given_as_text_and_data_that_is_not_json(
    workspace: Workspace, tmp_path: Path
) -> None:
    """The real 0.5B's POST /hello returned `("400", {...})`: the server part raised on the text status after the
    route, and the client got a dropped connection, no status and nothing for heal to point at."""
    app = starter(workspace, "python-http.py.j2", [HELLO, ADD])
    app = routefill.splice(app, "get_hello", 'def get_hello(query, body):\n    return "400", {"error": "no"}\n', "a.py")
    app = routefill.splice(app, "post_notes", "def post_notes(query, body):\n    return 201, {1, 2}\n", "a.py")
    with serving(tmp_path, app) as url:
        with pytest.raises(urllib.error.HTTPError) as answered:
            urllib.request.urlopen(url + "/hello", timeout=10)
        assert answered.value.code == 400 and json.loads(answered.value.read()) == {"error": "no"}
        with pytest.raises(urllib.error.HTTPError) as answered:
            urllib.request.urlopen(urllib.request.Request(url + "/notes", data=b"{}", method="POST"), timeout=10)
        assert answered.value.code == 500 and "not JSON serializable" in answered.value.read().decode()


# Asks the node starter's own server for each route, then ends: run where node is (the base image).
_NODE_PROBE = """
const ask = (method, path) => new Promise((done) => {
  const req = http.request({ port, method, path }, (res) => {
    let text = "";
    res.on("data", (chunk) => (text += chunk));
    res.on("end", () => done(`${method} ${path} ${res.statusCode} ${text}`));
  });
  req.end("{}");
});
server.on("listening", async () => {
  console.log(await ask("GET", "/hello"));
  console.log(await ask("POST", "/notes"));
  process.exit(0);
});
"""


@pytest.mark.docker
def test_the_node_starters_collection_routes_come_written(workspace: Workspace) -> None:
    wait_for_base_image()
    routes = [starters.Route("GET", "/notes", answers='200 {"notes": []}'), starters.Route("POST", "/notes")]
    app = _scaffolded(workspace, "node-http.js.j2", routes)
    probe = _NODE_PROBE.replace('ask("GET", "/hello")', 'ask("POST", "/notes")').replace(
        'console.log(await ask("POST", "/notes"));\n  process', 'console.log(await ask("GET", "/notes"));\n  process'
    )  # fmt: skip
    code, output = run_once(BASE_IMAGE, ["node", "-e", app + probe])
    assert code == 0, output
    assert 'POST /notes 201 {"id":1}' in output and 'GET /notes 200 {"notes":[{"id":1}]}' in output, output


@pytest.mark.docker
def test_the_node_starter_answers_a_status_given_as_text_and_data_that_is_not_json(workspace: Workspace) -> None:
    """As the stdlib starter: a status given as text is that status; data JSON cannot hold is a 500 naming the
    error. The server part wrote the response after its try: either one ended node, and every scenario failed."""
    wait_for_base_image()
    app = starter(workspace, "node-http.js.j2", [HELLO, ADD])
    text_status = 'async function getHello(query, body) {\n  return ["400", { error: "no" }];\n}\n'
    bigint = "async function postNotes(query, body) {\n  return [201, { n: 1n }];\n}\n"
    app = routefill.splice(routefill.splice(app, "getHello", text_status, "a.js"), "postNotes", bigint, "a.js")
    code, output = run_once(BASE_IMAGE, ["node", "-e", app + _NODE_PROBE])
    assert code == 0, output
    assert 'GET /hello 400 {"error":"no"}' in output
    assert "POST /notes 500" in output and "BigInt" in output


def test_the_routes_table_names_each_routes_function(workspace: Workspace) -> None:
    python = starter(workspace, "python-http.py.j2", [HELLO, ADD])
    assert routefill.routes_table(python, "a.py") == {("GET", "/hello"): "get_hello", ("POST", "/notes"): "post_notes"}
    node = starter(workspace, "node-http.js.j2", [HELLO])
    assert routefill.routes_table(node, "server.js") == {("GET", "/hello"): "getHello"}
    assert routefill.routes_table("print('no table')\n", "a.py") == {}  # not a starter's file: a whole-file fix


# The 0.5B's own scenario beside the person's (bench/requests.yaml hello-api, 2026-12-06): POST /hello, whose
# function crashed; three heal rounds rewrote the whole file and left undefined names each time.
POST_HELLO = {"name": "post hello", "kind": "http", "service": "hello-api",
              "request": {"method": "POST", "path": "/hello", "json": {}},
              "expect": {"status": 201, "body_contains": ["hello"]}}  # fmt: skip
CRASHING = 'def post_hello(query, body):\n    return 201, {"message": "hello " + body["name"]}\n'
FIXED = 'def post_hello(query, body):\n    return 201, {"message": "hello " + body.get("name", "you")}\n'


@pytest.mark.docker
def test_heal_fixes_a_routes_function_alone_shown_its_failure(engine: Workspace, openai_api: ScriptedOpenAI) -> None:
    """On the real engine: a written route answers 500; a small model's heal round asks for that function alone,
    with the request, the response and the traceback, and the app ends green with its other route untouched."""
    component = {"name": "hello", "layer": "api", "runtime": "python", "port": 8000, "command": ["python3", "app.py"],
                 "health": "/health"}  # fmt: skip
    hello = {"name": "hello", "kind": "http", "service": "hello-api", "request": {"path": "/hello"},
             "expect": {"status": 200, "body_contains": ["hello"]}}  # fmt: skip
    data = {"components": [component], "files": [{"path": "api/hello/app.py"}], "scenarios": [hello, POST_HELLO]}
    found = starters.for_file(engine, Plan.model_validate(data).outline(), "api/hello/app.py")
    assert found is not None and [r.function for r in found.routes] == ["get_hello", "post_hello"]
    openai_api.n_params = 494_000_000  # a 0.5B: the small profile
    openai_api.enqueue(json.dumps(data), f"```python\n{found.content}```", f"```python\n{GET_HELLO}```",
                       f"```python\n{CRASHING}```")  # fmt: skip
    provider = {"provider": "openai", "base_url": openai_api.url, "model": MODEL}
    code, out = gen_in_process(engine, "a hello API", **provider)
    assert code == 0, out
    first = run_doit(engine)
    assert first.returncode == 1 and "status 500, expected 201" in first.output, first.output
    openai_api.enqueue(f"```python\n{FIXED}```")
    healed = run_doit(engine, "heal", "max_iter=2", *(f"{k}={v}" for k, v in provider.items()), timeout=900)
    assert healed.returncode == 0, healed.output
    assert "heal: round 1: fixing POST /hello of api/hello/app.py alone" in healed.output
    asked = openai_api.chats()[-1]["messages"][0]["content"]
    assert "## Now fix the function post_hello" in asked and CRASHING.strip() in asked  # shown as it is
    assert 'It should answer POST /hello: 201, with "hello" in the body.' in asked
    assert "status: 500" in asked and "KeyError: 'name'" in asked  # the response, and the traceback in the log
    app = (engine.iterations_dir / "iter_002_patch" / "api/hello/app.py").read_text()
    assert FIXED.strip() in app and GET_HELLO.strip() in app and "KeyError" not in app


def test_a_flask_stub_is_replaced_under_its_own_route_and_its_table_is_the_decorators(workspace: Workspace) -> None:
    content = starter(workspace, "python-flask.py.j2", [HELLO, ADD])
    table = {("GET", "/health"): "health", ("GET", "/hello"): "get_hello", ("POST", "/notes"): "post_notes"}
    assert routefill.routes_table(content, "app.py") == table
    plain = 'def get_hello():\n    return jsonify(message="hello"), 200\n'
    filled = routefill.splice(content, "get_hello", plain, "app.py")
    assert '@app.route("/hello", methods=["GET"])\ndef get_hello():\n    return jsonify(message="hello")' in filled
    decorated = '@app.get("/hello")\ndef get_hello():\n    return jsonify(message="hi")\n'  # its own decorator
    filled = routefill.splice(content, "get_hello", decorated, "app.py")
    assert filled.count("def get_hello(") == 1 and filled.count('"/hello"') == 1 and '@app.get("/hello")' in filled
    compile(filled, "app.py", "exec")
    shown = routefill.shown_part(content, [HELLO, ADD], "app.py")
    assert shown.startswith("# the data the routes share goes here") and "def allow_browsers" not in shown


def _framework_plan(
    ws: Workspace, name: str, runtime: str, framework: str, scenarios: list[dict[str, object]]
) -> tuple[dict[str, object], starters.Starter, starters.Starter]:
    """A one-service API plan in Flask or Express (its program, its dependency file), and their two starters."""
    program, deps = ("app.py", "requirements.txt") if runtime == "python" else ("server.js", "package.json")
    command = ["python3" if runtime == "python" else "node", program]
    component = {"name": name, "layer": "api", "runtime": runtime, "port": 8000, "command": command,
                 "health": "/health"}  # fmt: skip
    data = {"summary": f"A {name} API in {framework}", "components": [component], "scenarios": scenarios,
            "files": [{"path": f"api/{name}/{program}"}, {"path": f"api/{name}/{deps}"}]}  # fmt: skip
    plan = Plan.model_validate(data)
    found, dependencies = (starters.for_file(ws, plan.outline(), f.path) for f in plan.files)
    assert found is not None and dependencies is not None
    return data, found, dependencies


@pytest.mark.docker
def test_a_flask_starters_routes_are_written_one_at_a_time_and_the_app_is_green(
    engine: Workspace, openai_api: ScriptedOpenAI
) -> None:
    """bench/requests.yaml's flask-counter as a small model answers it: the starter back as it was, then each
    route's function alone (Flask's stubs were left for heal, which the 0.5B never got past). Real pip, real
    Flask, real scenarios."""
    scenarios = [
        {"name": "add", "kind": "http", "service": "counter-api", "request": {"method": "POST", "path": "/count"},
         "expect": {"status": 200, "body_contains": ["1"]}},
        {"name": "count", "kind": "http", "service": "counter-api", "request": {"path": "/count"},
         "expect": {"status": 200, "body_contains": ["count"]}},
    ]  # fmt: skip
    data, app, requirements = _framework_plan(engine, "counter", "python", "Flask", scenarios)
    assert app.name == "python-flask.py.j2"
    assert [r.function for r in app.routes] == ["post_count", "get_count"]
    post = "COUNT = {'n': 0}\n\n\ndef post_count():\n    COUNT['n'] += 1\n    return jsonify(count=COUNT['n'])\n"
    get = "def get_count():\n    return jsonify(count=COUNT['n'])\n"
    openai_api.n_params = 494_000_000  # a 0.5B: the small profile
    openai_api.enqueue(json.dumps(data), f"```python\n{app.content}```", f"```python\n{post}```",
                       f"```python\n{get}```", f"```\n{requirements.content}```")  # fmt: skip
    code, out = gen_in_process(
        engine, "a counter API in Flask", provider="openai", base_url=openai_api.url, model=MODEL
    )
    assert code == 0, out
    assert "flask==3.0.3" in requirements.content  # the starter pins the framework the plan names
    run = run_doit(engine)
    assert run.returncode == 0, run.output
    written = (engine.iterations_dir / "iter_001_a_counter_api_in_flask" / "api/counter/app.py").read_text()
    assert "is not written yet" not in written and written.count('@app.route("/count"') == 2


@pytest.mark.docker
def test_an_express_route_that_throws_answers_500_and_the_server_keeps_serving(
    engine: Workspace, openai_api: ScriptedOpenAI
) -> None:
    """The Express starter's handlers are async (a route may await its database): under Express 4 a handler that
    threw was a rejected promise nobody handled, and node ended, so every scenario failed with the service gone.
    Its pinned Express (5) answers 500, and the next request is served. Real npm, real Express."""
    scenarios = [
        {"name": "quote", "kind": "http", "service": "quotes-api", "request": {"path": "/quote"}},
        {"name": "still up", "kind": "http", "service": "quotes-api", "request": {"path": "/health"}},
    ]  # fmt: skip
    data, server, package = _framework_plan(engine, "quotes", "node", "Express", scenarios)
    assert server.name == "node-express.js.j2"
    throws = server.content.replace(
        'res.status(501).json({ error: "GET /quote is not written yet" });', "res.json({ quote: req.body.x.y });"
    )  # fmt: skip  # a GET sends no body: req.body is {} (the starter's), so .x.y throws
    assert throws != server.content
    openai_api.n_params = 494_000_000  # a 0.5B: the small profile
    openai_api.enqueue(json.dumps(data), f"```js\n{throws}```", f"```json\n{package.content}```")
    code, out = gen_in_process(engine, "a quotes API in Express", provider="openai", base_url=openai_api.url,
                               model=MODEL)  # fmt: skip
    assert code == 0, out
    run = run_doit(engine)
    assert run.returncode == 1, run.output
    results = json.loads(next(engine.iterations_dir.glob("iter_001_*/results.json")).read_text())
    outcome = {r["name"]: (r["status"], r["reason"]) for r in results["results"]}
    assert outcome["quote"][0] == "failed" and "status 500" in outcome["quote"][1], outcome
    assert outcome["still up"][0] == "passed", outcome


def _ticker_plan(ws: Workspace) -> tuple[dict[str, object], starters.Starter]:
    """bench/requests.yaml's ticker-worker as a plan, and its worker's starter."""
    component = {"name": "ticker", "layer": "workers", "runtime": "python", "command": ["python3", "main.py"]}
    ticks = {"name": "ticks", "kind": "logs", "service": "ticker-workers", "must_contain": ["tick"]}
    plan = {"components": [component], "files": [{"path": "workers/ticker/main.py", "purpose": "prints ticks"}],
            "scenarios": [ticks]}  # fmt: skip
    found = starters.for_file(ws, Plan.model_validate(plan).outline(), "workers/ticker/main.py")
    assert found is not None
    return plan, found


def test_heal_writes_a_workers_work_still_a_stub_alone(workspace: Workspace, openai_api: ScriptedOpenAI) -> None:
    """A gen whose work() answers were all refused lands with the stub; heal asks for that function alone."""
    plan, found = _ticker_plan(workspace)
    echoed = "def work(step):\n    print('work is not written yet', step, flush=True)\n"
    openai_api.n_params = 494_000_000
    openai_api.enqueue(json.dumps(plan), f"```python\n{found.content}```", *[f"```python\n{echoed}```"] * 3)
    code, out = gen_in_process(workspace, "a ticker worker", provider="openai", base_url=openai_api.url, model=MODEL)
    assert code == 0 and "work() in workers/ticker/main.py: left as it was" in out, out
    [it] = workspace.iterations_dir.iterdir()
    failed = {"name": "ticks", "kind": "logs", "service": "ticker-workers", "origin": "model", "status": "failed",
              "reason": "log lacks 'tick'", "evidence": {"log_tail": "work is not written yet 3"}}  # fmt: skip
    report = RunReport.of(it.name, datetime.now(UTC), 1.0, [Result.model_validate(failed)])
    settings = workspace.settings({"provider": "openai", "base_url": openai_api.url, "model": MODEL,
                                   "profile": "small"})  # fmt: skip
    openai_api.enqueue("```python\ndef work(step):\n    print('tick', step, flush=True)\n```")
    out_heal, llm = io.StringIO(), OpenAILLM(settings)
    try:
        current = migrations.baseline(workspace, load_tests(workspace.tests_path))
        accepted = heal.write_unwritten_work(workspace, heal.State(report), settings, llm, current, out_heal, 1)
    finally:
        llm.close()
    assert "heal: round 1: writing work() of workers/ticker/main.py alone" in out_heal.getvalue()
    assert accepted is not None and accepted.answer.summary == "write work()"
    [written] = accepted.answer.files
    assert "print('tick', step, flush=True)" in written.content and stubfill.WORK_STUB not in written.content


def test_a_workers_starter_sent_back_as_it_was_gets_its_work_written_alone(
    workspace: Workspace, openai_api: ScriptedOpenAI, tmp_path: Path
) -> None:
    """The real 0.5B's ticker (bench/requests.yaml, 2026-12-07) sent the worker's starter back as it was: it logged
    "working 1" forever. Its work() is asked for alone, shown what the log must show, and the file runs."""
    plan, found = _ticker_plan(workspace)
    assert found.name == "python-worker.py.j2"
    assert '# its log shows: "tick"' in found.content and stubfill.WORK_STUB in found.content
    echoed = "def work(step):\n    print('work is not written yet', step, flush=True)\n"  # the stub again: refused
    work = "def work(step):\n    print(f'tick {step}', flush=True)\n"
    openai_api.n_params = 494_000_000
    openai_api.enqueue(json.dumps(plan), f"```python\n{found.content}```", f"```python\n{echoed}```",
                       f"```python\n{work}```")  # fmt: skip
    code, out = gen_in_process(workspace, "a ticker worker", provider="openai", base_url=openai_api.url, model=MODEL)
    assert code == 0, out
    asked = openai_api.chats()[-1]["messages"]
    assert "## Now write the function work" in asked[0]["content"] and "prints ticks" in asked[0]["content"]
    assert "work still answers that it is not written" in asked[-1]["content"]
    [it] = workspace.iterations_dir.iterdir()
    (tmp_path / "main.py").write_text((it / "workers/ticker/main.py").read_text())
    worker = subprocess.Popen([sys.executable, "main.py"], cwd=tmp_path, stdout=subprocess.PIPE)
    try:
        assert worker.stdout is not None and worker.stdout.readline() == b"tick 1\n"
    finally:
        worker.kill()
        worker.communicate()


def test_the_routes_a_request_names_are_read_with_what_it_says_of_each() -> None:
    request = (
        "A to-do API, service todos-api (python), keeping to-dos in memory: GET /todos returns the list as JSON, "
        'POST /todos with {"title": "..."} adds one and answers 201 with it; and a page, service web.'
    )
    assert starters.routes_in(request) == [
        starters.Route("GET", "/todos", "todos-api", "returns the list as JSON"),
        starters.Route("POST", "/todos", "todos-api", 'with {"title": "..."} adds one and answers 201 with it'),
    ]
    [add] = starters.routes_in('GET /add?a=2&b=3 answers {"result": 5}.')
    assert (add.path, add.answers) == ("/add", 'for GET /add?a=2&b=3: answers {"result": 5}')  # its query's names
    assert starters.routes_in("a notes app with a page") == []


def test_a_route_the_request_names_is_written_though_the_plan_forgot_it(
    workspace: Workspace, openai_api: ScriptedOpenAI, tmp_path: Path
) -> None:
    """The real 1.5B's hello-api plan (2026-12-06): one component, no interface, no scenario. Its starter served the
    example's /items and the person's GET /hello was a 404 through three heal rounds; the request names the route."""
    component = {"name": "hello", "layer": "api", "runtime": "python", "description": "JSON API", "port": 8000,
                 "command": ["python3", "app.py"], "health": "/health", "depends_on": []}  # fmt: skip
    plan = {"summary": "A small JSON API", "components": [component], "files": [{"path": "api/hello/app.py"}]}
    request = 'A small JSON API, service hello-api (python), with GET /hello answering {"message": "hello"}.'
    found = starters.for_file(workspace, Plan.model_validate(plan).outline(request), "api/hello/app.py")
    assert found is not None and [r.function for r in found.routes] == ["get_hello"] and "/items" not in found.content
    assert '# answers: answering {"message": "hello"}' in found.content
    openai_api.n_params = 1_540_000_000  # a 1.5B: the small profile
    its_health = found.content.replace('if url.path == "/health":', 'if url.path == "/hello":')  # as it answered
    openai_api.enqueue(json.dumps(plan), f"```python\n{its_health}```", f"```python\n{GET_HELLO}```")
    code, out = gen_in_process(workspace, request, provider="openai", base_url=openai_api.url, model=MODEL)
    assert code == 0, out
    [it] = workspace.iterations_dir.iterdir()
    app = (it / "api/hello/app.py").read_text()
    assert 'if url.path == "/health":' in app  # the starter's server part, kept
    assert _get(tmp_path, app, "/hello") == {"message": "hello"} and _get(tmp_path, app, "/health") == {"status": "ok"}


@pytest.mark.parametrize("name", ["python-http.py.j2", "python-flask.py.j2", "node-http.js.j2"])
def test_a_stub_is_added_for_a_route_the_file_lacks_the_way_its_starter_holds_one(
    workspace: Workspace, tmp_path: Path, name: str
) -> None:
    path = "api/x/server.js" if name.endswith(".js.j2") else "api/x/app.py"
    content = starter(workspace, name, [HELLO])
    added = routefill.with_stub(content, ADD, path)
    assert added is not None and routefill.stubs(added, [HELLO, ADD]) == [HELLO, ADD]
    function = "postNotes" if path.endswith(".js") else "post_notes"
    assert routefill.routes_table(added, path)[("POST", "/notes")] == function
    if path.endswith(".py"):
        compile(added, path, "exec")
    elif shutil.which("node"):
        (tmp_path / "check.js").write_text(added)
        assert subprocess.run(["node", "--check", str(tmp_path / "check.js")], check=False).returncode == 0
    assert routefill.with_stub(added, ADD, path) is None  # its function is there already
    assert routefill.with_stub("print('hello')\n", ADD, "app.py") is None  # not a starter's file


@pytest.mark.docker
def test_heal_adds_a_route_the_app_answers_404_for_and_writes_it_alone(
    engine: Workspace, openai_api: ScriptedOpenAI
) -> None:
    """The real 1.5B's hello-api, when nothing names the route at gen: its starter serves the example's /items,
    the person's GET /hello is a 404; a heal round adds the stub and asks for the function alone."""
    component = {"name": "hello", "layer": "api", "runtime": "python", "port": 8000, "command": ["python3", "app.py"],
                 "health": "/health"}  # fmt: skip
    plan = {"components": [component], "files": [{"path": "api/hello/app.py"}]}
    found = starters.for_file(engine, Plan.model_validate(plan).outline(), "api/hello/app.py")
    assert found is not None and "/items" in found.content
    openai_api.n_params = 1_540_000_000  # a 1.5B: the small profile
    openai_api.enqueue(json.dumps(plan), f"```python\n{found.content}```")
    provider = {"provider": "openai", "base_url": openai_api.url, "model": MODEL}
    code, out = gen_in_process(engine, "a small JSON API", **provider)
    assert code == 0, out
    hello = {"name": "hello", "kind": "http", "service": "hello-api", "request": {"path": "/hello"},
             "expect": {"status": 200, "body_contains": ["hello"]}, "origin": "user"}  # fmt: skip
    engine.tests_path.write_text(yaml.safe_dump({"version": 1, "scenarios": [hello]}))  # the person's own
    openai_api.enqueue(f"```python\n{GET_HELLO}```")
    healed = run_doit(engine, "heal", "max_iter=2", *(f"{k}={v}" for k, v in provider.items()), timeout=900)
    assert healed.returncode == 0, healed.output
    assert "heal: round 1: writing GET /hello of api/hello/app.py alone (the file has no such route: 404)" in (
        healed.output
    )
    app = (engine.iterations_dir / "iter_002_patch" / "api/hello/app.py").read_text()
    assert '("GET", "/hello"): get_hello,' in app and GET_HELLO.strip() in app and "def list_items(" in app
    asked = [r.body["messages"][-1]["content"] for r in openai_api.history if "Now write the function" in
             json.dumps(r.body)]  # fmt: skip
    assert 'It answers GET /hello: 200, with "hello" in the body.' in asked[-1]  # the stub added knows its shape


def test_the_starters_server_part_is_kept_under_the_models_app_part(workspace: Workspace) -> None:
    """The real 1.5B's hello-api file (2026-12-06): its routes right, the starter's `/health` turned into `/hello`
    above them, so the service was never healthy. The part above the app is genlib's."""
    ours = starter(workspace, "python-http.py.j2", [HELLO])
    app = routefill.splice(ours, "get_hello", GET_HELLO, "a.py")
    broken = app.replace('if url.path == "/health":', 'if url.path == "/hello":').replace(
        "import os\n", "import os\nimport datetime\n"
    )  # fmt: skip
    kept = routefill.on_scaffold(broken, ours)
    assert kept == app.replace("from urllib.parse import parse_qsl, urlparse\n", "from urllib.parse import "
                               "parse_qsl, urlparse\nimport datetime\n")  # fmt: skip  # its import kept, after ours
    helper = broken.replace("class Handler(", "def greeting():\n    return 'hello'\n\n\nclass Handler(")
    assert routefill.on_scaffold(helper, ours) == helper  # a helper of its own up there: as the model wrote it
    assert routefill.on_scaffold(GET_HELLO, ours) == GET_HELLO  # no app part to put under it: the rules judge it


def _page_plan(scenarios: list[dict[str, object]], api: bool = True) -> Plan:
    components: list[dict[str, object]] = [{"name": "web", "layer": "frontend", "runtime": "static"}]
    if api:
        components.append({"name": "notes", "layer": "api", "runtime": "python", "port": 8000,
                           "command": ["python3", "app.py"], "health": "/health"})  # fmt: skip
    files = [{"path": "frontend/web/index.html"}, {"path": "frontend/web/app.js"}]
    return Plan.model_validate({"components": components, "files": files, "scenarios": scenarios})


def test_a_static_pages_starter_sent_back_as_it_was_gets_its_content_written_alone(
    workspace: Workspace, openai_api: ScriptedOpenAI
) -> None:
    """The real 0.5B's static-home (bench, 2026-12-07) sent the page's starter back as it was: titled "App", empty.
    Its content is asked for alone, shown what its tests look for; a whole page sent back gives its body."""
    page = {"name": "home", "kind": "page", "service": "home-frontend", "expect_text": ["My Home"],
            "expect_selectors": ["#links li"]}  # fmt: skip
    plan = {"components": [{"name": "home", "layer": "frontend", "runtime": "static"}],
            "files": [{"path": "frontend/home/index.html"}], "scenarios": [page]}  # fmt: skip
    found = starters.for_file(workspace, Plan.model_validate(plan).outline(), "frontend/home/index.html")
    assert found is not None and stubfill.PAGE_STUB in found.content
    # no id on the list, as both real models wrote it
    whole = ('<html><head><title>x</title></head><body>\n<h1>My Home</h1>\n<ul class="x"><li><a href="https://a.b">'
             'A</a></li></ul>\n<script src="genlib-env.js"></script>\n</body></html>')  # fmt: skip
    openai_api.n_params = 494_000_000
    openai_api.enqueue(json.dumps(plan), f"```html\n{found.content}```", f"```html\n{whole}\n```")
    code, out = gen_in_process(workspace, "a static home page", provider="openai", base_url=openai_api.url,
                               model=MODEL)  # fmt: skip
    assert code == 0, out
    asked = openai_api.chats()[-1]["messages"][0]["content"]
    assert "## Now write the page's content" in asked and 'Its tests look for: "My Home", "#links li"' in asked
    [it] = workspace.iterations_dir.iterdir()
    written = (it / "frontend/home/index.html").read_text()
    assert '<body>\n  <h1>My Home</h1>\n  <ul id="links" class="x">' in written and "not written yet" not in written
    assert written.count("genlib-env.js") == 1 and "<title>x</title>" not in written  # the starter's own head


def test_a_static_page_written_whole_gets_its_list_named_as_its_tests_look_for_it(
    workspace: Workspace, openai_api: ScriptedOpenAI
) -> None:
    """The real 1.5B wrote "a static home page" whole in its file (b8975f8): its links in a list with no id, and
    its own scenario looking for `#links li` stayed red through heal."""
    page = {"name": "home", "kind": "page", "service": "home-frontend", "expect_selectors": ["#links li"]}
    plan = {"components": [{"name": "home", "layer": "frontend", "runtime": "static"}],
            "files": [{"path": "frontend/home/index.html"}], "scenarios": [page]}  # fmt: skip
    written = "<!doctype html>\n<html>\n<body>\n  <h1>My Home</h1>\n  <ul>\n    <li>A</li>\n  </ul>\n</body>\n</html>\n"
    openai_api.n_params = 1_540_000_000
    openai_api.enqueue(json.dumps(plan), f"```html\n{written}```")
    code, out = gen_in_process(workspace, "a static home page", provider="openai", base_url=openai_api.url,
                               model=MODEL)  # fmt: skip
    assert code == 0, out
    [it] = workspace.iterations_dir.iterdir()
    assert (it / "frontend/home/index.html").read_text() == written.replace("<ul>", '<ul id="links">')


def test_a_page_script_refused_three_times_starts_as_its_starter_and_the_gen_lands(
    workspace: Workspace, openai_api: ScriptedOpenAI
) -> None:
    """The real 0.5B's notes page (2026-12-07): its script came back three times with an `await` outside an async
    function, and the whole gen failed; the page's starter is known good."""
    data = json.loads(_page_plan([]).model_dump_json())
    data["components"][0]["depends_on"] = ["notes-api"]
    request = 'Notes: service notes-api with GET /notes (a JSON list) and POST /notes with {"text": "..."}; a page.'
    outline = Plan.model_validate(data).outline(request)
    html, script, api = (starters.for_file(workspace, outline, f["path"]) for f in data["files"])
    assert html is not None and script is not None and api is not None
    broken = script.content.replace("list.innerHTML", "\x07list.innerHTML")  # refused without node on PATH too
    openai_api.n_params = 494_000_000
    openai_api.enqueue(json.dumps(data), f"```\n{html.content}```", *[f"```js\n{broken}```"] * 3,
                       f"```\n{api.content}```")  # fmt: skip
    code, out = gen_in_process(workspace, request, provider="openai", base_url=openai_api.url, model=MODEL)
    assert code == 0, out
    assert "frontend/web/app.js: the model's answer was still invalid" in out and "starts as its starter" in out
    [it] = workspace.iterations_dir.iterdir()
    assert (it / "frontend/web/app.js").read_text() == script.content


def test_a_pages_starter_lists_and_adds_through_the_apis_routes_with_the_ids_its_tests_look_for(
    workspace: Workspace,
) -> None:
    """The 0.5B's notes page kept the starter's example: it loaded /items into #items, which neither the API nor the
    page scenario had ("#notes" not on the page; GET /items 404)."""
    page = {"name": "page", "kind": "page", "service": "web-frontend", "expect_selectors": ["#notes"]}
    request = 'Notes: service notes-api with GET /notes (a JSON list) and POST /notes with {"text": "..."}; a page.'
    outline = _page_plan([page]).outline(request)
    html = starters.for_file(workspace, outline, "frontend/web/index.html")
    script = starters.for_file(workspace, outline, "frontend/web/app.js")
    assert html is not None and script is not None
    assert '<ul id="notes"></ul>' in html.content and '<input id="text" name="text"' in html.content
    assert (
        'call("GET", "/notes")' in script.content and 'call("POST", "/notes", { text: input.value })' in script.content
    )
    assert '["notes-api"]' in script.content and "/items" not in script.content
    alone = _page_plan([], api=False).outline("A static home page with three links")
    static = starters.for_file(workspace, alone, "frontend/web/app.js")
    assert static is not None and "fetch(" not in static.content  # no API: nothing to call, nothing to fail
    # the 1.5B's static-home planned index.html alone: its page loaded the starter's app.js, a 404 on the page
    bare = Plan.model_validate({"components": [{"name": "web", "layer": "frontend", "runtime": "static"}],
                                "files": [{"path": "frontend/web/index.html"}]})  # fmt: skip
    page = starters.for_file(workspace, bare.outline(), "frontend/web/index.html")
    assert page is not None and "app.js" not in page.content and '<script src="genlib-env.js">' in page.content


@pytest.mark.docker
@pytest.mark.browser
def test_a_small_models_notes_page_from_the_starters_lists_and_adds_in_a_real_browser(
    engine: Workspace, openai_api: ScriptedOpenAI
) -> None:
    """The notes-page request as a small model answers it (every starter sent back as it was): the API's collection
    comes written, answering the list under the key its shape names, and the page lists the notes and its form
    adds one, in Chromium, against the real API."""
    adds = {"name": "adds", "kind": "page", "service": "web-frontend", "expect_selectors": ["#notes"],
            "steps": [{"fill": "#text", "value": "milk"}, {"click": "button"}, {"wait_for_text": "milk"}]}  # fmt: skip
    plan = _page_plan([adds])
    data = json.loads(plan.model_dump_json())
    data["components"][0]["depends_on"] = ["notes-api"]
    data["interfaces"] = [
        {"kind": "route", "name": "GET /notes", "shape": '200 {"notes": [{"id": 1, "text": "..."}]}'},
        {"kind": "route", "name": "POST /notes", "shape": '{"text": "..."} -> 201 {"id": 1, "text": "..."}'},
    ]  # fmt: skip
    assert [f["path"] for f in data["files"]][-1] == "api/notes/app.py"  # the API's file: planned by the mends
    request = 'A notes app: service notes-api with GET /notes and POST /notes with {"text": "..."}; a page.'
    outline = Plan.model_validate(data).outline(request)
    html, script, api = (starters.for_file(engine, outline, f["path"]) for f in data["files"])
    assert html is not None and script is not None and api is not None
    assert 'return 200, {"notes": NOTES}' in api.content and routefill.stubs(api.content, api.routes) == []
    openai_api.n_params = 494_000_000  # a 0.5B: the small profile
    openai_api.enqueue(json.dumps(data), *[f"```\n{f.content}```" for f in (html, script, api)])
    code, out = gen_in_process(engine, request, provider="openai", base_url=openai_api.url, model=MODEL)
    assert code == 0, out
    run = run_doit(engine)
    assert run.returncode == 0, run.output
    assert "pass    adds" in run.output


def test_a_failing_routes_function_is_asked_for_alone_in_two_rounds_at_most(
    workspace: Workspace, openai_api: ScriptedOpenAI
) -> None:
    """The 1.5B's first fix of POST /todos raised a TypeError: a second round sees it; a third is a whole file."""
    component = {"name": "hello", "layer": "api", "runtime": "python", "port": 8000, "command": ["python3", "app.py"],
                 "health": "/health"}  # fmt: skip
    data = {"components": [component], "files": [{"path": "api/hello/app.py"}], "scenarios": [POST_HELLO]}
    found = starters.for_file(workspace, Plan.model_validate(data).outline(), "api/hello/app.py")
    assert found is not None
    openai_api.n_params = 494_000_000
    openai_api.enqueue(json.dumps(data), f"```python\n{found.content}```", f"```python\n{CRASHING}```")
    code, out = gen_in_process(workspace, "a hello API", provider="openai", base_url=openai_api.url, model=MODEL)
    assert code == 0, out
    [it] = workspace.iterations_dir.iterdir()
    evidence = {"request": {"method": "POST", "url": "http://127.0.0.1:1/hello"}, "status": 500,
                "body_head": "{\"error\": \"KeyError('name')\"}"}  # fmt: skip
    failed = {"name": "post hello", "kind": "http", "service": "hello-api", "origin": "model", "status": "failed",
              "reason": "status 500, expected 201", "evidence": evidence}  # fmt: skip
    state = heal.State(RunReport.of(it.name, datetime.now(UTC), 1.0, [Result.model_validate(failed)]))
    settings = workspace.settings({"provider": "openai", "base_url": openai_api.url, "model": MODEL,
                                   "profile": "small"})  # fmt: skip
    current = migrations.baseline(workspace, load_tests(workspace.tests_path))
    llm = OpenAILLM(settings)
    try:
        rounds = []
        for number in (1, 2, 3):
            openai_api.enqueue(f"```python\n{FIXED}```")
            rounds.append(heal.fix_failing_routes(workspace, state, settings, llm, current, io.StringIO(), number))
    finally:
        llm.close()
    first, second, third = rounds
    assert first is not None and second is not None and third is None  # then a whole-file round
    assert [f.path for f in first.answer.files] == ["api/hello/app.py"] and first.answer.summary.startswith("fix POST")


def test_what_an_answer_echoes_of_the_file_is_dropped_and_its_function_kept(workspace: Workspace) -> None:
    """The 1.5B sent get_visits with the starter's CACHE three times, and the 0.5B the file's ROUTES and main block:
    the file's own stay, the function goes in."""
    content = starter(workspace, "python-http.py.j2", [HELLO, ADD])
    echo = (
        "import json\nimport os\nGREETING = 'hello'\n\n\n" + GET_HELLO.replace("\"hello\"", "GREETING")
        + "\n\nROUTES = {('GET', '/hello'): get_hello}\n\nif __name__ == '__main__':\n    print('again')\n"
    )  # fmt: skip
    comment = f"# {routefill.DATA_COMMENT.capitalize()} (kept in memory)\n"  # as the 0.5B wrote it back
    filled = routefill.splice(content, "get_hello", comment + echo, "app.py")
    assert filled.count(routefill.DATA_COMMENT) == 1  # the 0.5B sent the starter's comment with every function
    assert "GREETING = 'hello'" in filled and 'return 200, {"message": GREETING}' in filled  # its own data kept
    assert filled.count("ROUTES = {") == 1 and '("POST", "/notes"): post_notes,' in filled  # the file's table
    assert filled.count("__main__") == 1 and "print('again')" not in filled
    compile(filled, "app.py", "exec")


HELLO_REQUEST = 'A small JSON API, service hello-api, with GET /hello answering {"message": "hello"}.'


def _hello_plan(ws: Workspace) -> tuple[dict[str, object], starters.Starter]:
    """bench/requests.yaml's hello-api as a plan naming no route (the request does), and its server's starter."""
    component = {"name": "hello", "layer": "api", "runtime": "python", "port": 8000, "command": ["python3", "app.py"],
                 "health": "/health"}  # fmt: skip
    plan = {"components": [component], "files": [{"path": "api/hello/app.py"}]}
    found = starters.for_file(ws, Plan.model_validate(plan).outline(HELLO_REQUEST), "api/hello/app.py")
    assert found is not None
    return plan, found


def test_a_server_file_refused_three_times_starts_as_its_starter_and_the_gen_lands(
    workspace: Workspace, openai_api: ScriptedOpenAI, tmp_path: Path
) -> None:
    """The real 1.5B's notes API (2026-12-07) came back three times with a typo or a syntax error in its routes,
    and the whole gen failed for it: the starter is known good, and its routes can be asked for one at a time."""
    plan, found = _hello_plan(workspace)
    typo = found.content.replace('return 501, {"error": "GET /hello is not written yet"}', "return 200, mesage")
    openai_api.n_params = 1_540_000_000
    openai_api.enqueue(json.dumps(plan), *[f"```python\n{typo}```"] * 3, f"```python\n{GET_HELLO}```")
    code, out = gen_in_process(workspace, HELLO_REQUEST, provider="openai", base_url=openai_api.url, model=MODEL)
    assert code == 0, out
    assert "undefined name(s) mesage" in out and "it starts as its starter instead" in out
    [it] = workspace.iterations_dir.iterdir()
    assert _get(tmp_path, (it / "api/hello/app.py").read_text(), "/hello") == {"message": "hello"}


def test_a_server_file_answered_as_a_fragment_of_its_starter_is_refused(
    workspace: Workspace, openai_api: ScriptedOpenAI
) -> None:
    """The real 1.5B's guestbook (2026-12-07), told of an undefined name in its server, answered ```json {}```: the
    gen kept a two-character server, and the service exited at start through three heal rounds."""
    plan, found = _hello_plan(workspace)
    openai_api.n_params = 1_540_000_000
    openai_api.enqueue(json.dumps(plan), "```json\n{}\n```", f"```python\n{found.content}```",
                       f"```python\n{GET_HELLO}```")  # fmt: skip
    code, out = gen_in_process(workspace, HELLO_REQUEST, provider="openai", base_url=openai_api.url, model=MODEL)
    assert code == 0, out
    told = [m["content"] for chat in openai_api.chats() for m in chat["messages"] if m["role"] == "user"]
    assert any("api/hello/app.py, the program hello-api runs, came back 1 line(s) long, from" in t for t in told)
    [it] = workspace.iterations_dir.iterdir()
    assert GET_HELLO.strip() in (it / "api/hello/app.py").read_text()
