"""Each route a server's starter left unwritten, asked for as one function (profile small).

    stubs(content, routes)                    the routes whose stub is still in the file
    shown_part(content, unwritten, path)      what the model is shown of the file
    fill(content, routes, path, ask, check)   the file with each stub replaced by the model's function
    fix(content, failures, path, ask, check)  the file with each failing route's function rewritten (heal)
    routes_table(content, path)               (method, path) -> function, from the file's ROUTES
    with_stub(content, route, path)           the file with a stub added for a route it lacks (heal)
    on_scaffold(answer, starter)              the model's app part under the starter's own server part (gen)

A small model given a whole server file with route stubs sends it back as it was: the 0.5B copied the starter
in the gen, and copied it again when heal showed it the 501 the stub answers. Asked for one function (its
name, its route, what it answers, the file around it), it writes that function. genlib puts it in place of the
stub and checks the whole file as any arriving file is checked; a reason goes back with that function alone.

The stdlib and Flask starters (templates/starters/python-http.py.j2, python-flask.py.j2, node-http.js.j2) are
filled so: their stubs have one known shape, `def get_x(query, body):` (Flask: `def get_x():` under its
`@app.route`) / `function getX(query, body) {`, ending where the next top-level statement begins (Python, by its
ast) or at the first `}` at the start of a line (JavaScript). Express's route handlers have no names: left whole.
A worker's work(step) and a static page's content are stubs of the same kind: genlib.model.stubfill.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from genlib import prompts
from genlib.answer import imports
from genlib.errors import OutputError
from genlib.model.fenced import read_fenced
from genlib.model.starters import Route
from genlib.workspace import Workspace

TEMPLATE = "small/route.md.j2"
DATA_COMMENT = "the data the routes share goes here"  # where a starter's app part begins
STARTERS = ("python-http.py.j2", "python-flask.py.j2", "node-http.js.j2")  # stubs of the shape above
AGAIN = "Answer again with the whole corrected function in one fenced block, and nothing else."

# (prompt, parse, label) -> the parsed answer, or None when the model gave none that parses (the stub stays)
Ask = Callable[[str, Callable[[str], str], str], str | None]


def marker(route: Route) -> str:
    """What a stub answers: the starters' own words, so a stub is found by them."""
    return f"{route.method} {route.path} is not written yet"


def stubs(content: str, routes: list[Route]) -> list[Route]:
    return [r for r in routes if marker(r) in content]


def fill(
    ws: Workspace,
    content: str,
    routes: list[Route],
    path: str,
    request: str,
    ask: Ask,
    check: Callable[[str], None],
) -> str:
    """`content` with each of `routes` still a stub written by the model, one request per route; `check` is
    every rule the file obeys (a refusal goes back with that function)."""
    left = stubs(content, routes)
    wanted = [Wanted(r, _name(r, path), f"route {n} of {len(left)} {r.method} {r.path} in {path}") for n, r in
              enumerate(left, 1)]  # fmt: skip
    return _write_each(ws, content, wanted, path, request, ask, check)


@dataclass(frozen=True)
class Failure:
    """A written route that answered its scenario wrong (a heal round): what the model is shown with it."""

    route: Route  # its `answers`: what the scenario expects
    function: str  # its function in the file's ROUTES table
    sent: str  # the request the scenario sent and the response it got, fenced as untrusted
    error: str = ""  # the traceback in the service's log, fenced as untrusted; "" when there is none


def fix(
    ws: Workspace,
    content: str,
    failures: list[Failure],
    path: str,
    request: str,
    ask: Ask,
    check: Callable[[str], None],
) -> str:
    """`content` with the function of each failing route rewritten by the model alone, shown its failure (the
    0.5B, shown a whole file and a 500 of one route, rewrote the file and broke names elsewhere)."""
    wanted = [Wanted(f.route, f.function, f"fix {n} of {len(failures)} {f.route.method} {f.route.path} in {path}", f)
              for n, f in enumerate(failures, 1)]  # fmt: skip
    return _write_each(ws, content, wanted, path, request, ask, check)


@dataclass(frozen=True)
class Wanted:
    """One function to ask for: its route, its name, the step's label, and the failure it is to fix (if any)."""

    route: Route
    function: str
    label: str
    failure: Failure | None = None


def _write_each(
    ws: Workspace,
    content: str,
    wanted: list[Wanted],
    path: str,
    request: str,
    ask: Ask,
    check: Callable[[str], None],
) -> str:
    for item in wanted:
        shown = shown_part(content, stubs(content, [w.route for w in wanted]), path)
        context = {"path": path, "content": shown, "function": item.function, "route": item.route,
                   "request": request, "failure": item.failure, "python": path.endswith(".py"),
                   "flask": _FLASK_IMPORT in content}  # fmt: skip
        prompt = prompts.render(ws, TEMPLATE, context)

        def parse(raw: str, name: str = item.function, before: str = content) -> str:
            filled = splice(before, name, read_fenced(raw), path)
            filled = imports.completed(filled, before) if path.endswith(".py") else filled  # `datetime` used, say
            check(filled)
            return filled

        filled = ask(prompt, parse, item.label)
        content = content if filled is None else filled
    return content


_FLASK_IMPORT = "from flask import"
_FLASK_ROUTE = re.compile(
    r"""^@app\.(route|get|post|put|patch|delete)\(\s*["'](/[^"']*)["']\s*(?:,\s*methods\s*=\s*\[([^\]]*)\])?[^\n]*\n"""
    r"(?:@[^\n]*\n)*def ([A-Za-z_]\w*)\(",
    re.MULTILINE,
)
_PY_TABLE = re.compile(
    r"""\(\s*["'](GET|POST|PUT|PATCH|DELETE)["']\s*,\s*["'](/[^"']*)["']\s*\)\s*:\s*([A-Za-z_]\w*)"""
)
_JS_TABLE = re.compile(r"""["'](GET|POST|PUT|PATCH|DELETE) (/[^"']*)["']\s*:\s*([A-Za-z_$][\w$]*)""")


def routes_table(content: str, path: str) -> dict[tuple[str, str], str]:
    """(method, path) -> the function a starter-shaped file's ROUTES table sends it to; {} for any other file."""
    if path.endswith(".py") and _FLASK_IMPORT in content:
        return _flask_table(content)
    table = _PY_TABLE if path.endswith(".py") else _JS_TABLE
    start = content.find("ROUTES = {")
    if start < 0:
        return {}
    return {(m.group(1), m.group(2)): m.group(3) for m in table.finditer(content, start)}


def with_stub(content: str, route: Route, path: str) -> str | None:
    """`content` with a stub for `route` added the way its starter holds one (a function answering 501 "not
    written yet", and its ROUTES entry or `@app.route`), for a route the file lacks; None when the file is not
    starter-shaped, or already has a function of that name."""
    python = path.endswith(".py")
    name = _name(route, path)
    if name in _functions(content, python):
        return None
    error = marker(route)
    if python and _FLASK_IMPORT in content and 'if __name__ == "__main__":' in content:
        stub = f'@app.route("{route.path}", methods=["{route.method}"])\ndef {name}():\n'
        stub += f'    return jsonify(error="{error}"), 501\n\n\n'
        return content.replace('if __name__ == "__main__":', stub + 'if __name__ == "__main__":', 1)
    table, entry, stub = (
        ("ROUTES = {", f'    ("{route.method}", "{route.path}"): {name},', f"def {name}(query, body):\n"
         f'    return 501, {{"error": "{error}"}}\n\n\n')
        if python else
        ("const ROUTES = {", f'  "{route.method} {route.path}": {name},', f"async function {name}(query, body) {{\n"
         f'  return [501, {{ error: "{error}" }}];\n}}\n\n')
    )  # fmt: skip
    lines = content.split("\n")
    at = next((i for i, line in enumerate(lines) if line.rstrip() == table), None)  # the starter's shape only
    if at is None:
        return None
    return "\n".join([*lines[:at], *stub.split("\n")[:-1], lines[at], entry, *lines[at + 1 :]])


def _flask_table(content: str) -> dict[tuple[str, str], str]:
    """Flask's routes are its decorators: `@app.route("/x", methods=["POST"])` or `@app.post("/x")`."""
    found: dict[tuple[str, str], str] = {}
    for m in _FLASK_ROUTE.finditer(content):
        kind, route_path, methods, function = m.groups()
        named = re.findall(r"[A-Za-z]+", methods or "") if kind == "route" else [kind]
        for method in named or ["GET"]:
            found[(method.upper(), route_path.rstrip("/") or "/")] = function
    return found


_IMPORT = re.compile(r"^(import \w|from \S+ import |const (\w+|\{[^}]*\}) = require\(|import .* from )")
_DEFINITION = re.compile(r"^(async def |def |class |function |const |let |var |[A-Za-z_]\w* *=)")


def on_scaffold(answer: str, starter: str) -> str:
    """The answer's app part (from the data comment on) under its starter's own server part: that part is genlib's,
    known good (the 1.5B rewrote the starter's `/health` to `/hello`, and the service never got healthy). Import
    lines the answer added above are kept, after the starter's. An answer without the comment, or one that defines
    something of its own up there (a helper its routes call), stays as it is."""
    at, start = answer.find(DATA_COMMENT), starter.find(DATA_COMMENT)
    if at < 0 or start < 0:
        return answer
    at, start = answer.rfind("\n", 0, at) + 1, starter.rfind("\n", 0, start) + 1
    head, ours = answer[:at].split("\n"), starter[:start].split("\n")
    new = [line for line in head if line not in ours]
    if any(_DEFINITION.match(line) and not _IMPORT.match(line) for line in new):
        return answer  # a helper of its own up there: its routes may call it
    added = [line for line in new if _IMPORT.match(line)]
    last_import = max((i for i, line in enumerate(ours) if _IMPORT.match(line)), default=-1)
    return "\n".join([*ours[: last_import + 1], *added, *ours[last_import + 1 :]]) + answer[at:]


def shown_part(content: str, unwritten: list[Route], path: str) -> str:
    """What the model is shown: the app part of the starter (from its data comment on; the server above it is
    not the model's to write) with each unwritten stub's body left out: shown the whole file, the 0.5B sent the
    whole file back; shown the stub's 501, it kept the 501."""
    start = content.find(DATA_COMMENT)
    if start >= 0:
        content = content[content.rfind("\n", 0, start) + 1 :]
    elided = "    ...  # to write" if path.endswith(".py") else "  // to write"
    lines = [elided if any(marker(r) in line for r in unwritten) else line for line in content.split("\n")]
    return "\n".join(lines)


def _name(route: Route, path: str) -> str:
    return route.function if path.endswith(".py") else route.function_js


def splice(content: str, name: str, function: str, path: str) -> str:
    """`content` with the stub of function `name` replaced by `function` (which must define it)."""
    python = Path(path).suffix == ".py"
    lines = content.split("\n")
    start, end = _python_span(content, name) if python else _javascript_span(lines, name)
    if not _defines(function, name, python):
        header = f"def {name}(query, body):" if python else f"async function {name}(query, body) {{"
        raise OutputError(f"the answer does not define {name}: send the function, `{header}` and its body")
    function = _without_known_functions(function, name, content, python)
    _only_the_function(function, name, content, python)
    if python:
        _as_the_file_calls_it(function, name, content)
        function = _under_its_decorators(function, name, lines[start : _def_line(content, name)])
    if "is not written yet" in function:
        raise OutputError(f"{name} still answers that it is not written: write what it does and returns")
    return "\n".join([*lines[:start], function.strip("\n"), *lines[end:]])


def _python_span(content: str, name: str) -> tuple[int, int]:
    """The function's lines, 0-based and end-exclusive: its first decorator (else its def) to its last line."""
    node = _python_function(content, name)
    return min([node.lineno, *(d.lineno for d in node.decorator_list)]) - 1, node.end_lineno or node.lineno


def _def_line(content: str, name: str) -> int:
    return _python_function(content, name).lineno - 1


def _python_function(source: str, name: str) -> ast.FunctionDef | ast.AsyncFunctionDef:
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name:
            return node
    raise OutputError(f"no function {name} in the file to fill in")


def _as_the_file_calls_it(function: str, name: str, content: str) -> None:
    """The answer's function takes the parameters its stub takes, and brings no decorator where the stub has none:
    the file calls it so. The 0.5B wrote a Flask view (`@app.route`, `def get_entries():`) into the standard
    library's starter, whose ROUTES table calls `get_entries(query, body)`."""
    stub, answer = _python_function(content, name), _python_function(function, name)
    wanted = [a.arg for a in stub.args.args]
    if len(answer.args.args) != len(wanted) or (answer.decorator_list and not stub.decorator_list):
        raise OutputError(
            f"{name} is called as `{name}({', '.join(wanted)})` by the file, with no decorator: send "
            f"`def {name}({', '.join(wanted)}):` and its body, in the file's own style (no other framework)"
        )


def _under_its_decorators(function: str, name: str, decorators: list[str]) -> str:
    """A Flask route's `@app.route` is the file's: put back above the answer's def, unless the answer brings its
    own (then the file's would register the route twice)."""
    node = _python_function(function, name)
    if node.decorator_list or not decorators:
        return function
    lines = function.split("\n")
    return "\n".join([*lines[: node.lineno - 1], *decorators, *lines[node.lineno - 1 :]])


def _javascript_span(lines: list[str], name: str) -> tuple[int, int]:
    heads = (f"function {name}(", f"async function {name}(")
    start = next((i for i, line in enumerate(lines) if line.startswith(heads)), None)
    end = next((j for j in range(start, len(lines)) if lines[j].rstrip() == "}"), None) if start is not None else None
    if start is None or end is None:
        raise OutputError(f"no function {name} in the file to fill in")
    return start, end + 1


def _without_known_functions(function: str, name: str, content: str, python: bool) -> str:
    """The answer less what the file has already: the other functions (the 0.5B asked for post_hello sent get_hello,
    written the step before, with it), every other top-level statement binding a name the file binds (its
    imports, CACHE, ROUTES, a collection such as TODOS; in JavaScript, a `const`/`let`/`var` the file declares)
    and Python's `if __name__` block (the 1.5B sent get_visits with the starter's CACHE three times). The file's
    own stay, and a stub among them is asked for in its turn."""
    lines = function.split("\n")
    known = _functions(content, python) - {name}
    spans = [_span(function, lines, other, python) for other in _functions(function, python) & known]
    spans += _python_echoes(function, content, name) if python else _javascript_echoes(lines, content)
    drop = {i for start, end in spans for i in range(start, end)}
    drop |= {i for i, line in enumerate(lines) if DATA_COMMENT in line.lower()}  # the 0.5B sent it with each function
    return "\n".join(line for i, line in enumerate(lines) if i not in drop)


def _python_echoes(function: str, content: str, name: str) -> list[tuple[int, int]]:
    """The lines (0-based, end-exclusive) of the answer's top-level statements that echo the file: binding only
    names the file binds already, or its `if __name__` block."""
    try:
        tree = ast.parse(function)
    except SyntaxError:
        return []
    file_names = _top_level_names(content) - {name}
    spans = []
    for node in tree.body:
        bound = _bound_names(node)
        main_block = isinstance(node, ast.If) and "__name__" in ast.unparse(node.test)
        if main_block or (bound and bound <= file_names):
            first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
            spans.append((first - 1, node.end_lineno or node.lineno))
    return spans


_JS_DECLARATION = re.compile(r"^(?:const|let|var) +([A-Za-z_$][\w$]*) *=")


def _javascript_echoes(lines: list[str], content: str) -> list[tuple[int, int]]:
    """The lines (0-based, end-exclusive) of the answer's top-level declarations of a name the file declares
    already (`const todos = [];` sent again with the function is a redeclaration, and node refuses the file), and
    its top-level calls the file makes word for word (the 0.5B sent getTime with the file's `server.listen(...)`
    three times running)."""
    file_lines = content.split("\n")
    declared = {m.group(1) for line in file_lines if (m := _JS_DECLARATION.match(line))}
    calls = {line for line in file_lines if _TOP_LEVEL_CALL.match(line)}
    spans, at = [], 0
    while at < len(lines):
        found = _JS_DECLARATION.match(lines[at])
        if found and found.group(1) in declared:
            spans.append((at, _statement_end(lines, at)))
            at = spans[-1][1]
        else:
            if lines[at].rstrip() in calls:
                spans.append((at, at + 1))
            at += 1
    return spans


_TOP_LEVEL_CALL = re.compile(r"^[A-Za-z_$][\w$.]*\(.*\);\s*$")  # `server.listen(port, ...);` on one line


def _statement_end(lines: list[str], start: int) -> int:
    """Where a statement starting at `start` ends: the line after its brackets close (strings are not parsed)."""
    depth = 0
    for at in range(start, len(lines)):
        depth += sum(lines[at].count(c) for c in "([{") - sum(lines[at].count(c) for c in ")]}")
        if depth <= 0:
            return at + 1
    return len(lines)


def _bound_names(node: ast.stmt) -> set[str]:
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return {node.name}
    if isinstance(node, ast.Assign):
        return {t.id for t in node.targets if isinstance(t, ast.Name)}
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return {node.target.id}
    if isinstance(node, ast.Import | ast.ImportFrom):
        return {(alias.asname or alias.name).split(".")[0] for alias in node.names}
    return set()


def _functions(source: str, python: bool) -> set[str]:
    if not python:
        return set(re.findall(r"^(?:async )?function (\w+)\(", source, re.MULTILINE))
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    return {node.name for node in tree.body if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)}


def _span(source: str, lines: list[str], name: str, python: bool) -> tuple[int, int]:
    return _python_span(source, name) if python else _javascript_span(lines, name)


def _only_the_function(function: str, name: str, content: str, python: bool) -> None:
    """The answer holds the function (and maybe data it needs), not the file again: the 0.5B copies. (Python's
    echoes of the file are dropped before this: _python_echoes; what is left must be a body, not `...`.)"""
    if python:
        if not _has_body(function, name):
            raise OutputError(f"{name} has no body yet (`...` or `pass`): write what it does and returns")
        return
    again = {part for part in ("createServer(", "const ROUTES", ".listen(", "setInterval(") if part in function}
    if again:
        raise OutputError(
            f"send only the function {name} (and any data it needs): the answer also holds "
            f"{', '.join(sorted(again)[:3])}, which the file has already"
        )
    if not _has_javascript_body(function, name):
        raise OutputError(f"{name} has no body yet (only comments): write what it does and returns")


def _has_body(function: str, name: str) -> bool:
    """Whether `name` does something: a statement besides its docstring, `...` and `pass`."""
    node = _python_function(function, name)
    real = [
        stmt for stmt in node.body
        if not isinstance(stmt, ast.Pass) and not (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant))
    ]  # fmt: skip
    return bool(real)


_JS_COMMENTS = re.compile(r"//[^\n]*|/\*.*?\*/", re.DOTALL)


def _has_javascript_body(function: str, name: str) -> bool:
    """Whether `name`'s braces hold code, not only comments (the 0.5B sent `// to write` as getTime's body, and
    the route answered 200 with no body at all). A function it cannot find is the syntax check's to judge."""
    found = re.search(rf"function {re.escape(name)}\s*\([^)]*\)\s*{{", function)
    if found is None:
        return True
    inside = function[found.end() : function.rfind("}")]
    return bool(_JS_COMMENTS.sub("", inside).strip())


def _top_level_names(source: str) -> set[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    return {bound for node in tree.body for bound in _bound_names(node)}


def _defines(function: str, name: str, python: bool) -> bool:
    if not python:
        return f"function {name}(" in function or f"{name} = " in function
    try:
        tree = ast.parse(function)
    except SyntaxError as exc:
        raise OutputError(f"the function does not parse: line {exc.lineno}: {exc.msg}") from exc
    return any(isinstance(node, ast.FunctionDef) and node.name == name for node in tree.body)
