"""Known-good starting files for small models (templates/starters/*.j2): the model fills in the routes and the logic
instead of writing a server from nothing.

    for_file(ws, outline, path)   the starter for a new file of a gen (profile small), or None

An HTTP server's starter holds the plan's routes for its service, each answering 501 "not written yet" until the
model writes it: the model fills in bodies rather than inventing names, and a route left as it was fails its
scenario with a reason that says which function to write.

A starter is chosen by the component's runtime and the file's role: the program its command runs (an HTTP server
when it has a port, a worker when it has none), a static page's index.html and script, a dependency file. Flask or
Express only when the component plans a dependency file and the plan names the package (without one, the import
would fail); else the standard library. The files are Jinja templates a person can read and edit like the
prompts (a workspace's templates/starters/ wins), rendered with the component's `port`, the `api` service a page
calls, and the data services it uses (a `db()` connection, a Redis client, their packages pinned in the dependency
file).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from genlib import prompts
from genlib.documents.llm_output import DATA_RUNTIMES, ComponentSpec
from genlib.documents.scenarios import HttpScenario
from genlib.model import scaffold
from genlib.workspace import Workspace

FOLDER = "starters"
_DEPENDENCY_FILES = {"python": "requirements.txt", "node": "package.json"}
_FRAMEWORKS = {"python": ("flask", "python-flask.py.j2"), "node": ("express", "node-express.js.j2")}
# Known-good pins a dependency file starts with: the framework the plan names, the clients of its data services.
_PINS = {
    "python": {"flask": ("flask", "3.0.3"), "postgres": ("psycopg[binary]", "3.2.3"), "redis": ("redis", "5.0.8")},
    "node": {"express": ("express", "5.1.0"), "postgres": ("pg", "8.12.0"), "redis": ("redis", "4.7.0")},
}
_SERVERS = {"python": "python-http.py.j2", "node": "node-http.js.j2"}
_WORKERS = {"python": "python-worker.py.j2", "node": "node-worker.js.j2"}
_ROUTES_HINT = "at the end: the data, a function per route, each route in ROUTES; GET /health is answered already"
_HINTS = {
    "python-http.py.j2": _ROUTES_HINT,
    "node-http.js.j2": _ROUTES_HINT,
    "python-flask.py.j2": "a function per route, before the `if __name__` block",
    "node-express.js.j2": "a handler per route, before app.listen",
    "python-worker.py.j2": "the work goes in work(); keep the loop",
    "node-worker.js.j2": "the work goes in work(); keep the interval",
    "static-index.html.j2": "the page's elements; keep the two scripts at the end, genlib-env.js first",
    "static-app.js.j2": "the page's logic; keep API and call()",
    "requirements.txt.j2": "only the packages the code imports",
    "package.json.j2": "only the packages the code requires; known good: express 5.1.0, pg 8.12.0, redis 4.7.0",
}

_FILL_IN = "write the body of each route's function (each answers 501 until written) and the data they share"
_ROUTES_HINTS = {name: _FILL_IN for name in (*_SERVERS.values(), *(f for _, f in _FRAMEWORKS.values()))}
_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
_PARAMETER = re.compile(r"[{}<>:*]")
MAX_ROUTES = 12


@dataclass(frozen=True)
class Starter:
    name: str  # the template under templates/starters/
    content: str
    hint: str  # where the model's part goes
    routes: list[Route] = field(default_factory=list)  # the plan's routes it holds as stubs
    looks_for: list[str] = field(default_factory=list)  # a page's: the texts and selectors its tests look for


@dataclass(frozen=True)
class Route:
    method: str  # GET, POST, …
    path: str  # /notes (no query, no parameters)
    service: str = ""  # the service a scenario sends it to; "" when the plan does not say
    answers: str = ""  # what it should answer, one line: the interface's shape, or what a scenario expects

    @classmethod
    def named(cls, name: str, service: str = "", answers: str = "") -> Route | None:
        """From an interface's name ("GET /notes") or a scenario's request; None for what a starter cannot
        route by exact path (`/notes/{id}`, `/files/*`) and for /health, which every starter answers."""
        method, _, path = name.strip().partition(" ")
        path = path.strip().split("?")[0].rstrip("/") or "/"
        if method.upper() not in _METHODS or not path.startswith("/") or _PARAMETER.search(path) or path == "/health":
            return None
        return cls(method.upper(), path, service, " ".join(answers.split())[:200])

    @property
    def function(self) -> str:
        """`get_quotes_random`: a name for its handler (python; the node starters use function_js)."""
        return "_".join([self.method.lower(), *re.findall(r"[a-z0-9]+", self.path.lower())])

    @property
    def function_js(self) -> str:
        first, *rest = self.function.split("_")
        return first + "".join(word.capitalize() for word in rest)


_ASKED_ROUTE = re.compile(r"\b(GET|POST|PUT|PATCH|DELETE) (/[^\s,;:()]*)")
_ASKED_SERVICE = re.compile(r"\bservice ([a-z][a-z0-9-]*)")
_TRAILING = re.compile(r"[\s,]*\b(and|or|with)$")


def routes_in(request: str) -> list[Route]:
    """The routes a person's request names (`GET /hello answering {"message": "hello"}`), each with what the
    request says of it (up to the next route) and the service last named before it: routes a plan must not lose
    (the 1.5B planned a hello API with no interface and no scenario, and its starter served /items)."""
    found = list(_ASKED_ROUTE.finditer(request))
    routes = []
    for i, m in enumerate(found):
        end = found[i + 1].start() if i + 1 < len(found) else len(request)
        said = request[m.end() : end].split(";")[0]
        said = _TRAILING.sub("", said.strip(" ,."))
        said = f"for {m.group(1)} {m.group(2)}: {said}" if "?" in m.group(2) else said  # its query's names
        services = _ASKED_SERVICE.findall(request, 0, m.start())
        route = Route.named(f"{m.group(1)} {m.group(2)}", services[-1] if services else "", said)
        if route is not None:
            routes.append(route)
    return routes


def expected(scenario: HttpScenario) -> str:
    """What an http scenario expects, in a line a starter's route can show: `200, with "hello" in the body`."""
    said = [f'"{text}"' for text in scenario.expect.body_contains[:3]]
    fields = json.dumps(scenario.expect.json_fields)[:120] if scenario.expect.json_fields else ""
    return (
        f"{scenario.expect.status}"
        + (f", with {' and '.join(said)} in the body" if said else "")
        + (f", JSON with {fields}" if fields else "")
    )


@dataclass(frozen=True)
class Outline:
    """What of a plan chooses a starter: its components, the paths it plans, its words (lower case) and
    the routes its interfaces and http scenarios name."""

    components: list[ComponentSpec]
    paths: set[str]
    words: str
    routes: list[Route] = field(default_factory=list)
    selectors: dict[str, list[str]] = field(default_factory=dict)  # service -> what its page scenarios look for
    shows: dict[str, list[str]] = field(default_factory=dict)  # service -> the texts its log or page must show
    tables: list[scaffold.Table] = field(default_factory=list)  # what the plan's .sql files say they create

    def routes_of(self, component: ComponentSpec) -> list[Route]:
        """The routes `component` answers: those its scenarios send it, and those the plan leaves unassigned
        when it is the plan's only server."""
        servers = [c for c in self.components if c.port and c.runtime in _SERVERS]
        alone = servers == [component]
        found = [r for r in self.routes if r.service == component.service or (alone and not r.service)]
        unique: dict[tuple[str, str], Route] = {}
        for r in found:  # one per route; what it answers from the first source that says
            kept = unique.get((r.method, r.path))
            unique[(r.method, r.path)] = Route(
                r.method, r.path, "", kept.answers if kept and kept.answers else r.answers
            )
        return list(unique.values())[:MAX_ROUTES]

    def component_of(self, path: str) -> ComponentSpec | None:
        return next((c for c in self.components if path.startswith(f"{c.layer}/{c.name}/")), None)

    def data_services_of(self, component: ComponentSpec) -> list[str]:
        """The data runtimes (postgres, redis) of the services `component` depends on."""
        found = {c.runtime for c in self.components if c.runtime in DATA_RUNTIMES and _needs(component, c)}
        return sorted(found)


def _needs(component: ComponentSpec, other: ComponentSpec) -> bool:
    return any(dep in (other.name, other.service) for dep in component.depends_on)


def _packages(runtime: str, clients: list[str], words: str) -> dict[str, str]:
    """name -> version: the framework when the plan names it, then the clients of the data services."""
    pins = _PINS.get(runtime, {})
    framework = _FRAMEWORKS.get(runtime, ("", ""))[0]
    wanted = ([framework] if framework and framework in words else []) + clients
    return dict(pins[w] for w in wanted if w in pins)


def for_file(ws: Workspace, outline: Outline, path: str) -> Starter | None:
    component = outline.component_of(path)
    name = choose(component, path, outline) if component else None
    if component is None or name is None:
        return None
    routes = outline.routes_of(component) if component.port else []
    clients = outline.data_services_of(component)
    api = _api_of(component, outline.components)
    collections = scaffold.collections_for(routes, clients, outline.tables)
    context = {
        "name": component.name,
        "port": component.port,
        "api": api.service if api else None,
        "routes": routes,
        "clients": clients,
        "collections": collections,
        "scaffolded": scaffold.scaffolded(collections),
        "table": outline.tables[0] if "postgres" in clients and outline.tables else None,  # db()'s example
        "packages": _packages(component.runtime, clients, outline.words),
        "page": _page_of(component, api, outline) if component.runtime == "static" else None,
        "shows": outline.shows.get(component.service, [])[:3],  # what its log or its page must show
    }
    hint = _ROUTES_HINTS.get(name, "") if routes else _HINTS.get(name, "")
    if hint and collections:
        kept = ", ".join(f"{c.path} ({c.table.name if c.table else c.python if name.endswith('.py.j2') else c.js})"
                         for c in collections)  # fmt: skip
        hint += f"; GET and POST {kept} are written already: change them only if the request differs"
    looks_for = [*outline.shows.get(component.service, []), *outline.selectors.get(component.service, [])]
    return Starter(name, prompts.render(ws, f"{FOLDER}/{name}", context), hint, routes, looks_for[:6])


def choose(component: ComponentSpec, path: str, outline: Outline) -> str | None:
    """The starter template for `path` of `component`, or None when none fits."""
    file = path.rsplit("/", 1)[-1]
    runtime = component.runtime
    if runtime == "static":
        return "static-index.html.j2" if file == "index.html" else "static-app.js.j2" if file.endswith(".js") else None
    if file == _DEPENDENCY_FILES.get(runtime):
        return "requirements.txt.j2" if runtime == "python" else "package.json.j2"
    if runtime not in _SERVERS or not component.command or file != component.command[-1].rsplit("/", 1)[-1]:
        return None  # only the program the command runs: its other files are the model's own
    if not component.port:
        return _WORKERS[runtime]
    package, framework = _FRAMEWORKS[runtime]
    prefix = f"{component.layer}/{component.name}/"
    if f"{prefix}{_DEPENDENCY_FILES[runtime]}" in outline.paths and package in outline.words:
        return framework
    return _SERVERS[runtime]


def _api_of(component: ComponentSpec, components: list[ComponentSpec]) -> ComponentSpec | None:
    """The program a page calls: its first dependency that is a program with a port (a name or a service), else
    the app's first server; None when the app has none (a static site: its script calls nothing)."""
    for dep in component.depends_on:
        found = next((c for c in components if dep in (c.name, c.service)), None)
        if found is not None and found.port:
            return found
    return next((c for c in components if c.port and c.runtime in _SERVERS), None)


@dataclass(frozen=True)
class Page:
    """What a page's starter shows and calls: a list loaded from the API, and a form that adds to it."""

    list_id: str  # the element the list goes in: the id the plan's page scenarios look for, else the route's name
    list_path: str | None  # the API's GET route that lists, or None
    add_path: str | None  # the API's POST route that adds, or None
    field: str  # the one field the form sends ({"text": "..."}: text)
    script: str | None = "app.js"  # the page's own script, as the plan names it; None when it plans none


_FIELD = re.compile(r'\{\s*"(\w+)"')
_ID_SELECTOR = re.compile(r"^#([A-Za-z][\w-]*)$")


def _page_of(component: ComponentSpec, api: ComponentSpec | None, outline: Outline) -> Page:
    routes = outline.routes_of(api) if api else []
    listing = next((r for r in routes if r.method == "GET"), None)
    adding = next((r for r in routes if r.method == "POST" and (not listing or r.path == listing.path)), None)
    ids = [m.group(1) for sel in outline.selectors.get(component.service, []) if (m := _ID_SELECTOR.match(sel))]
    named = re.sub(r"[^a-z0-9]+", "-", listing.path.lower()).strip("-") if listing else ""
    field = _FIELD.search(adding.answers) if adding else None
    folder = f"{component.layer}/{component.name}/"
    scripts = sorted(p.removeprefix(folder) for p in outline.paths if p.startswith(folder) and p.endswith(".js"))
    return Page(
        ids[0] if ids else named or "items",
        listing.path if listing else None,
        adding.path if adding else None,
        field.group(1) if field else "text",
        next((s for s in scripts if s != "genlib-env.js"), None),
    )
