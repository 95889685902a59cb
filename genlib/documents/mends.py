"""Plans mended where the model's meaning is certain, before the rules look (genlib.answer.rules).

Small models get the shape of a plan right and its details wrong in a few ways that have exactly one
meaning: a component named after its service, a path missing its layer, a command naming the example's
script, a data service given a port. Each mend here rewrites only what can mean one thing; anything
else is left as written, for the rules to refuse with a reason the model is told. Every mend takes and
returns the raw JSON data (a validator "before"), and never raises.

    mend_plan(data)   all of them, in order (genlib.model.stepgen.Plan)

The whole answer of a gen in one step gets only `scenarios_name_services` (genlib.documents.llm_output).
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from genlib.documents.llm_output import DATA_RUNTIMES, SCRIPT_SUFFIXES, scenarios_name_services
from genlib.workspace import LAYERS, service_name

Raw = dict[str, Any]  # a plan or one of its components, as the model wrote it: JSON not validated yet
_PROGRAM_RUNTIMES = ("python", "node")
_DEPENDENCY_FILES = {"python": "requirements.txt", "node": "package.json"}
_RUN_FROM_IMAGE = ("command", "port", "health", "depends_on")  # what genlib sets for a data service itself


def mend_plan(data: Any) -> Any:
    data = programs_planned_as_data(paths_under_their_layer(components_named_by_their_files(data)))
    data = module_commands_run_their_file(commands_have_their_files(commands_run_their_files(data)))
    data = clients_have_a_dependency_file(data_services_used(data_services_run_from_their_image(data)))
    data = static_health_is_a_page(data)
    data = url_paths_rooted(single_service_meant(scenarios_name_services(data)))
    return bodies_from_their_routes(statuses_from_their_routes(bodies_as_fields(placeholders_unexpected(data))))


def _components(data: Raw) -> Iterator[Raw]:
    """The components that name themselves and their layer (the rest is the rules' to refuse)."""
    for comp in data.get("components") or []:
        if isinstance(comp, dict) and isinstance(comp.get("name"), str) and isinstance(comp.get("layer"), str):
            yield comp


def _planned_too(data: Raw, planned: Raw) -> Raw:
    """`data` with one more file planned; as it is when its files are not a list (the schema's to refuse)."""
    files = data.get("files")
    return data if files is not None and not isinstance(files, list) else {**data, "files": [*(files or []), planned]}


def _paths(data: Raw) -> list[str]:
    return [str(f["path"]) for f in data.get("files") or [] if isinstance(f, dict) and isinstance(f.get("path"), str)]


def paths_under_their_layer(data: Any) -> Any:
    """A planned file whose path does not begin with a layer, but names exactly one planned component, goes
    under that component's layer: `db/001_schema.sql` is backend/db's, `front/home/index.html` frontend/home's
    (small models drop or clip the layer). Anything else is left for the rules to refuse."""
    if not isinstance(data, dict) or not isinstance(data.get("files"), list):
        return data
    layers: dict[str, list[str]] = {}
    for comp in _components(data):
        layers.setdefault(comp["name"], []).append(comp["layer"])
    files = [_under_its_layer(f, layers) for f in data["files"]]
    return {**data, "files": files}


def _under_its_layer(spec: Any, layers: dict[str, list[str]]) -> Any:
    path = spec.get("path") if isinstance(spec, dict) else None
    if not isinstance(path, str) or path.split("/")[0] in LAYERS:
        return spec
    parts = path.split("/")
    for rest in (parts, parts[1:]):  # `db/...`: the component first; `front/home/...`: the component second
        found = layers.get(rest[0], []) if len(rest) > 1 else []
        if len(found) == 1:
            return {**spec, "path": "/".join([found[0], *rest])}
    return spec


def single_service_meant(data: Any) -> Any:
    """In an app with one service a request can reach, a scenario naming a service the app does not have
    (`worker-tickers` for ticker-workers) means that one."""
    if not isinstance(data, dict) or not isinstance(data.get("scenarios"), list):
        return data
    services = [service_name(c["name"], c["layer"]) for c in _components(data) if c.get("runtime") not in DATA_RUNTIMES]
    if len(services) != 1:
        return data
    scenarios = [
        {**s, "service": services[0]} if isinstance(s, dict) and isinstance(s.get("service"), str)
        and s["service"] not in services else s
        for s in data["scenarios"]
    ]  # fmt: skip
    return {**data, "scenarios": scenarios}


def components_named_by_their_files(data: Any) -> Any:
    """A component named after its layer (`notes-api` in api) whose files the answer puts under the name
    without it (`api/notes/...`) is that component: `notes`, whose service is the `notes-api` its scenarios
    name. Small models mix the component, its folder and its service up so; nothing is renamed while a file
    sits under the name as written, and depends_on follows the rename."""
    if not isinstance(data, dict) or not isinstance(data.get("components"), list):
        return data
    paths = _paths(data)
    renamed: dict[str, str] = {}
    for comp in data["components"]:
        name, layer = (comp.get("name"), comp.get("layer")) if isinstance(comp, dict) else (None, None)
        if not (isinstance(name, str) and isinstance(layer, str) and name.endswith(f"-{layer}")):
            continue
        short = name.removesuffix(f"-{layer}")
        under = [p for p in paths if p.startswith(f"{layer}/{name}/")]
        if not under and any(p.startswith(f"{layer}/{short}/") for p in paths):
            renamed[name] = short
    if not renamed:
        return data
    components = [_renamed(comp, renamed) for comp in data["components"]]
    return {**data, "components": components}


def commands_run_their_files(data: Any) -> Any:
    """A command naming a script the component does not plan (`node server.js` beside api/time/app.js) runs the
    one script of that kind the component plans instead: small models name the example's file in the command
    and their own in the files. Two candidates, or none, are left for the rules to refuse."""
    if not isinstance(data, dict) or not isinstance(data.get("components"), list):
        return data
    paths = _paths(data)
    return {**data, "components": [_running_its_file(comp, paths) for comp in data["components"]]}


def _running_its_file(comp: Any, paths: list[str]) -> Any:
    if not isinstance(comp, dict) or not isinstance(comp.get("command"), list):
        return comp
    folder = f"{comp.get('layer')}/{comp.get('name')}/"
    mine = [p.removeprefix(folder) for p in paths if p.startswith(folder)]
    command = []
    for arg in comp["command"]:
        if isinstance(arg, str) and arg.endswith(SCRIPT_SUFFIXES) and arg.removeprefix("./") not in mine:
            same_kind = [rel for rel in mine if rel.endswith(Path(arg).suffix)]
            arg = same_kind[0] if len(same_kind) == 1 else arg
        command.append(arg)
    return {**comp, "command": command}


def module_commands_run_their_file(data: Any) -> Any:
    """After the files a command needs are planned: see _module_running_its_file."""
    if not isinstance(data, dict) or not isinstance(data.get("components"), list):
        return data
    paths = _paths(data)
    return {**data, "components": [_module_running_its_file(c, paths) for c in data["components"]]}


def _module_running_its_file(comp: Any, paths: list[str]) -> Any:
    """`python3 -m flask app.py` (the 1.5B's Flask counter: a module that is not installed, given the file)
    runs the planned file it names: `python3 app.py` (the Flask starter runs itself under `__main__`)."""
    command = comp.get("command") if isinstance(comp, dict) else None
    if (
        not isinstance(command, list)
        or len(command) < 3
        or command[0] not in ("python", "python3")
        or command[1] != "-m"
    ):
        return comp
    folder = f"{comp.get('layer')}/{comp.get('name')}/"
    named = [a for a in command[2:] if isinstance(a, str) and a.endswith(".py") and f"{folder}{a}" in paths]
    return {**comp, "command": [command[0], named[0]]} if len(named) == 1 else comp


def _renamed(comp: Any, renamed: dict[str, str]) -> Any:
    if not isinstance(comp, dict):
        return comp
    name, depends = comp.get("name"), comp.get("depends_on")
    comp = {**comp, "name": renamed.get(name, name)} if isinstance(name, str) else comp
    return {**comp, "depends_on": [renamed.get(d, d) for d in depends]} if isinstance(depends, list) else comp


def commands_have_their_files(data: Any) -> Any:
    """A program planning no file at all gets the script its command runs (`python3 app.py`: `app.py`), for the
    purpose the component says: the 0.5B plans the component and forgets its file. A component with files of
    its own, or a script path leaving its folder, is left for the rules."""
    if not isinstance(data, dict) or not isinstance(data.get("components"), list):
        return data
    for comp in _components(data):
        command, folder = comp.get("command"), f"{comp['layer']}/{comp['name']}/"
        if comp.get("runtime") not in _PROGRAM_RUNTIMES or not isinstance(command, list):
            continue
        scripts = [a.removeprefix("./") for a in command if isinstance(a, str) and a.endswith(SCRIPT_SUFFIXES)]
        if not scripts or ".." in scripts[0] or scripts[0].startswith("/"):
            continue
        if not any(p.startswith(folder) for p in _paths(data)):
            purpose = comp.get("description") if isinstance(comp.get("description"), str) else ""
            data = _planned_too(data, {"path": folder + scripts[0], "purpose": purpose})
    return data


_STARTED = {"python": ["python3", "app.py"], "node": ["node", "server.js"]}  # the starters' own file names


def programs_planned_as_data(data: Any) -> Any:
    """A postgres or redis component that http scenarios send requests to, and that plans no file of its own, is
    the app's program: the 0.5B's guestbook plan made its API (`guestbook`, whose scenarios name `guestbook-api`)
    a second postgres beside the database `db`, three attempts running. It becomes a program in the layer the
    scenarios name, of the runtime its files elsewhere say (node for .js, else python), run as a starter runs
    (port 8000, /health) with the script it plans, else app.py / server.js."""
    if not isinstance(data, dict) or not isinstance(data.get("components"), list):
        return data
    paths, requested = _paths(data), _http_services(data)
    components = [_as_program(comp, paths, requested) for comp in data["components"]]
    return {**data, "components": components}


def _http_services(data: Raw) -> set[str]:
    scenarios = data.get("scenarios")
    return {s["service"] for s in scenarios if isinstance(s, dict) and s.get("kind") == "http"
            and isinstance(s.get("service"), str)} if isinstance(scenarios, list) else set()  # fmt: skip


def _as_program(comp: Any, paths: list[str], requested: set[str]) -> Any:
    if not isinstance(comp, dict) or comp.get("runtime") not in DATA_RUNTIMES or not isinstance(comp.get("name"), str):
        return comp
    name = comp["name"]
    layers = [layer for layer in LAYERS if service_name(name, layer) in requested]
    if len(layers) != 1 or any(p.startswith(f"{comp.get('layer')}/{name}/") for p in paths):
        return comp
    elsewhere = [p.split("/", 2)[2] for p in paths if p.count("/") >= 2 and p.split("/")[1] == name]
    runtime = "node" if any(p.endswith(".js") for p in elsewhere) else "python"
    scripts = [p for p in elsewhere if p.endswith(".js" if runtime == "node" else ".py") and "/" not in p]
    command = [_STARTED[runtime][0], scripts[0]] if scripts else _STARTED[runtime]
    return {**comp, "layer": layers[0], "runtime": runtime, "port": 8000, "command": command, "health": "/health"}


def data_services_run_from_their_image(data: Any) -> Any:
    """A postgres or redis component loses the command, port, health and depends_on given it: genlib runs it
    from its image and sets all four itself (small models give the database `psql …` as its command, port 5432)."""
    if not isinstance(data, dict) or not isinstance(data.get("components"), list):
        return data
    components = [
        {k: v for k, v in comp.items() if k not in _RUN_FROM_IMAGE}
        if isinstance(comp, dict) and comp.get("runtime") in DATA_RUNTIMES else comp
        for comp in data["components"]
    ]  # fmt: skip
    return {**data, "components": components}


def static_health_is_a_page(data: Any) -> Any:
    """A static site's health check that names no file it plans (`/health`, copied from an API) is dropped:
    genlib's static server answers only files, and checks `/` (its index.html) by default. The 1.5B's static-home
    page was never healthy for it (404 on /health) through three heal rounds."""
    if not isinstance(data, dict) or not isinstance(data.get("components"), list):
        return data
    paths = _paths(data)
    return {**data, "components": [_static_health(c, paths) for c in data["components"]]}


def _static_health(comp: Any, paths: list[str]) -> Any:
    health = comp.get("health") if isinstance(comp, dict) and comp.get("runtime") == "static" else None
    if not isinstance(health, str) or health.strip() in ("", "/"):
        return comp
    planned = f"{comp.get('layer')}/{comp.get('name')}/{health.split('?')[0].strip().lstrip('/')}"
    return comp if planned in paths else {k: v for k, v in comp.items() if k != "health"}


def data_services_used(data: Any) -> Any:
    """A data service no component depends on, in an app with one program, is that program's: it is listed in
    its depends_on, which is what tells the program where to find it (DATABASE_URL, REDIS_URL). With two
    programs it could be either's, and stays as written."""
    if not isinstance(data, dict) or not isinstance(data.get("components"), list):
        return data
    comps = list(_components(data))
    programs = [c for c in comps if c.get("runtime") in _PROGRAM_RUNTIMES and c.get("command")]
    used = {d for c in comps for d in _depends_on(c)}
    unused = [
        _service(c) for c in comps if c.get("runtime") in DATA_RUNTIMES and not {c["name"], _service(c)} & used
    ]  # fmt: skip
    if len(programs) != 1 or not unused:
        return data
    program = programs[0]
    mended = {**program, "depends_on": [*_depends_on(program), *unused]}
    return {**data, "components": [mended if c is program else c for c in data["components"]]}


def url_paths_rooted(data: Any) -> Any:
    """A scenario's URL path without its leading `/` (`""` for a page's root, `todos`) is that path from the
    root: the only thing it can mean."""
    return _each_scenario(data, _rooted)


def _rooted(scenario: Any) -> Any:
    if not isinstance(scenario, dict):
        return scenario
    request = scenario.get("request")
    if isinstance(request, dict) and _unrooted(request.get("path")):
        scenario = {**scenario, "request": {**request, "path": f"/{request['path'].strip()}"}}
    if scenario.get("kind") == "page" and _unrooted(scenario.get("path")):
        scenario = {**scenario, "path": f"/{scenario['path'].strip()}"}
    return scenario


def _unrooted(path: Any) -> bool:
    return isinstance(path, str) and not path.strip().startswith(("/", "{")) and "://" not in path


def clients_have_a_dependency_file(data: Any) -> Any:
    """A python or node program using a data service plans its dependency file: neither standard library has a
    Postgres or Redis client, so the program cannot run without one (the 0.5B plans `app.py` alone)."""
    if not isinstance(data, dict) or not isinstance(data.get("components"), list):
        return data
    comps = list(_components(data))
    data_services = {n for c in comps if c.get("runtime") in DATA_RUNTIMES for n in (c["name"], _service(c))}
    for comp in comps:
        depends = set(_depends_on(comp))
        file = _DEPENDENCY_FILES.get(str(comp.get("runtime")))
        path = f"{comp['layer']}/{comp['name']}/{file}"
        if file and comp.get("command") and data_services & depends and path not in _paths(data):
            data = _planned_too(
                data, {"path": path, "purpose": "the client library of the data service it uses, pinned"}
            )
    return data


def _service(comp: Raw) -> str:
    return service_name(comp["name"], comp["layer"])


def _depends_on(comp: Raw) -> list[str]:
    depends = comp.get("depends_on")
    return [d for d in depends if isinstance(d, str)] if isinstance(depends, list) else []


_PLACEHOLDER = re.compile(r"^\s*(\.\.\.|…|N|N\s*[+-]\s*1|<[^<>]{1,40}>)\s*$")


def placeholders_unexpected(data: Any) -> Any:
    """An http scenario's body text that is a placeholder (`...`, `N`, `N+1`, `<id>`, copied from a shape) is no
    text a body holds: it is dropped from body_contains. The 1.5B's visits-redis did what was asked, and stayed
    red on its own scenario expecting the text `N+1`."""
    return _each_scenario(data, _without_placeholders)


def _each_scenario(data: Any, mend: Callable[[Any], Any]) -> Any:
    if not isinstance(data, dict) or not isinstance(data.get("scenarios"), list):
        return data
    return {**data, "scenarios": [mend(s) for s in data["scenarios"]]}


def _body_texts(scenario: Any) -> tuple[Raw, list[Any]] | None:
    """An http scenario's `expect` and its body_contains, when both are what the schema wants."""
    expect = scenario.get("expect") if isinstance(scenario, dict) and scenario.get("kind") == "http" else None
    texts = expect.get("body_contains") if isinstance(expect, dict) else None
    return (expect, texts) if isinstance(expect, dict) and isinstance(texts, list) else None


def _without_placeholders(scenario: Any) -> Any:
    body = _body_texts(scenario)
    if body is None:
        return scenario
    expect, texts = body
    kept = [t for t in texts if not (isinstance(t, str) and _PLACEHOLDER.match(t))]
    return scenario if len(kept) == len(texts) else {**scenario, "expect": {**expect, "body_contains": kept}}


def bodies_as_fields(data: Any) -> Any:
    """An http scenario expecting the body to contain an object's text (`{'result': 5}`, `{"count": 1}`) expects
    those fields: the text depends on how the server writes JSON (quotes, spaces), the fields do not. The 1.5B's
    calc-api expected `{'result': 5}`, Python's spelling, which no JSON body contains: heal then "fixed" two
    correct routes. Only flat objects of plain values move; anything else stays as written."""
    return _each_scenario(data, _fields_for_objects)


def _fields_for_objects(scenario: Any) -> Any:
    body = _body_texts(scenario)
    if body is None or not isinstance(body[0].get("json", {}), dict):
        return scenario
    expect, texts = body
    fields, kept = dict(expect.get("json") or {}), []
    for text in texts:
        found = _flat_object(text)
        if found is None or any(key in fields and fields[key] != value for key, value in found.items()):
            kept.append(text)
        else:
            fields.update(found)
    if len(kept) == len(texts):
        return scenario
    return {**scenario, "expect": {**expect, "body_contains": kept, "json": fields}}


def _flat_object(text: Any) -> Raw | None:
    if not isinstance(text, str) or not text.strip().startswith("{"):
        return None
    for parse in (json.loads, ast.literal_eval):
        try:
            found = parse(text.strip())
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            continue
        plain = (str, int, float, bool, type(None))
        if (
            isinstance(found, dict)
            and found
            and all(isinstance(k, str) and isinstance(v, plain) for k, v in found.items())
        ):
            return found
    return None


# `201 {...}`, `{"title": "..."} -> 201 {...}`, "adds one and answers 201 with it"
_SHAPE_STATUS = re.compile(r"(?:^|->|\b(?:answers|answering|returns|status))\s*([1-5]\d\d)\b", re.IGNORECASE)


def stated_status(shape: str) -> int | None:
    """The status a route's shape (or a stub's `answers`) states first, if any: `201, with "milk" in the body`."""
    found = _SHAPE_STATUS.search(shape)
    return int(found.group(1)) if found else None


def statuses_from_their_routes(data: Any) -> Any:
    """An http scenario that states no status expects the one its route's interface states: the 0.5B's todos plan
    said `POST /todos` answers `-> 201 {...}`, and its own scenario, stating none, expected 200, so no server could
    pass both it and the person's check of the 201 the request asked for."""
    stated = _by_route(data, stated_status)
    return _each_scenario(data, lambda scenario: _with_stated_status(scenario, stated)) if stated else data


def _with_stated_status(scenario: Any, stated: dict[str, int]) -> Any:
    request = _http_request(scenario)
    expect = scenario.get("expect", {}) if request is not None else None
    if request is None or not isinstance(expect, dict) or "status" in expect:
        return scenario
    status = stated.get(_route_of(request))
    return scenario if status is None else {**scenario, "expect": {**expect, "status": status}}


T = TypeVar("T")


def _by_route(data: Any, read: Callable[[str], T | None]) -> dict[str, T]:
    """ "METHOD /path" -> what `read` finds in that route interface's shape (the first interface that says)."""
    found: dict[str, T] = {}
    interfaces = data.get("interfaces") if isinstance(data, dict) else None
    for interface in interfaces if isinstance(interfaces, list) else []:
        if isinstance(interface, dict) and isinstance(interface.get("name"), str):
            value = read(str(interface.get("shape") or ""))
            if value is not None:
                method, _, path = interface["name"].strip().partition(" ")
                found.setdefault(f"{method.upper()} {path.strip()}", value)
    return found


def _http_request(scenario: Any) -> Raw | None:
    request = scenario.get("request") if isinstance(scenario, dict) and scenario.get("kind") == "http" else None
    return request if isinstance(request, dict) else None


def _route_of(request: Raw) -> str:
    """An http scenario's request as its route: "POST /todos" (no query)."""
    return f"{str(request.get('method') or 'GET').upper()} {str(request.get('path') or '').split('?')[0]}"


_TAKES = re.compile(r"^\s*(\{.*\})\s*->")  # `{"title": "..."} -> 201 {...}`: what the route takes


def bodies_from_their_routes(data: Any) -> Any:
    """An http scenario that sends no body to a route whose interface says it takes one (`{"message": "hello"} ->
    201 {...}`) sends that one: the 0.5B's own POST /hello scenario sent nothing to the function it had written to
    answer 400 without a body, and stayed red through three heal rounds. Only a flat object of plain values."""
    takes = _by_route(data, _taken)
    return _each_scenario(data, lambda scenario: _sending_what_it_takes(scenario, takes)) if takes else data


def _taken(shape: str) -> Raw | None:
    found = _TAKES.match(shape)
    return _flat_object(found.group(1)) if found else None


def _sending_what_it_takes(scenario: Any, takes: dict[str, Raw]) -> Any:
    request = _http_request(scenario)
    if request is None or request.get("json") is not None or request.get("body") is not None:
        return scenario
    route = _route_of(request)
    body = takes.get(route)
    return scenario if body is None or route.startswith("GET ") else {**scenario, "request": {**request, "json": body}}
