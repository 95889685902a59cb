"""Known-good starting files for small models (templates/starters/*.j2): the model fills in the routes and the logic
instead of writing a server from nothing.

    for_file(ws, outline, path)   the starter for a new file of a gen (profile small), or None

A starter is chosen by the component's runtime and the file's role: the program its command runs (an HTTP server
when it has a port, a worker when it has none), a static page's index.html and script, a dependency file. Flask or
Express only when the component plans a dependency file and the plan names the package (without one, the import
would fail); else the standard library. The files are Jinja templates a person can read and edit like the prompts
(a workspace's templates/starters/ wins), rendered with the component's `port` and the `api` service a page calls.
"""

from __future__ import annotations

from dataclasses import dataclass

from genlib import prompts
from genlib.documents.llm_output import ComponentSpec
from genlib.workspace import Workspace

FOLDER = "starters"
_DEPENDENCY_FILES = {"python": "requirements.txt", "node": "package.json"}
_FRAMEWORKS = {"python": ("flask", "python-flask.py.j2"), "node": ("express", "node-express.js.j2")}
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
    "package.json.j2": "only the packages the code requires; known good: express 4.19.2, pg 8.12.0, redis 4.7.0",
}


@dataclass(frozen=True)
class Starter:
    name: str  # the template under templates/starters/
    content: str
    hint: str  # where the model's part goes


@dataclass(frozen=True)
class Outline:
    """What of a plan chooses a starter: its components, the paths it plans, and its words (lower case)."""

    components: list[ComponentSpec]
    paths: set[str]
    words: str

    def component_of(self, path: str) -> ComponentSpec | None:
        return next((c for c in self.components if path.startswith(f"{c.layer}/{c.name}/")), None)


def for_file(ws: Workspace, outline: Outline, path: str) -> Starter | None:
    component = outline.component_of(path)
    name = choose(component, path, outline) if component else None
    if component is None or name is None:
        return None
    context = {"name": component.name, "port": component.port, "api": _api_of(component, outline.components)}
    return Starter(name, prompts.render(ws, f"{FOLDER}/{name}", context), _HINTS.get(name, ""))


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


def _api_of(component: ComponentSpec, components: list[ComponentSpec]) -> str:
    """The service a page calls: its first dependency that is a program with a port (a name or a service)."""
    for dep in component.depends_on:
        found = next((c for c in components if dep in (c.name, c.service)), None)
        if found is not None and found.port:
            return found.service
    return next((c.service for c in components if c.port and c.runtime in _SERVERS), "api")
