"""A program's imports against what its component installs.

    check(path, content, files)   raises OutputError for a package no dependency file of the component installs
    completed(content, known)     a Python file with the imports it forgot added, when each one is certain

A component without a dependency file gets nothing installed: only the runtime's own modules and the component's
own files can be imported. A Python file importing flask, or a Node file requiring express, with no
requirements.txt / package.json beside it parses, builds and then dies at start with "No module named 'flask'"
(what the small models wrote most often). Said on arrival, the model rewrites the file with the standard library
instead. With a dependency file the check is left to the build: import names and package names differ
(`yaml` is PyYAML), so genlib does not guess. Imports guarded by `try` are optional and pass.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Collection, Iterator

from pyflakes import checker, messages

from genlib.answer.depfiles import NODE_FILES, PYTHON_FILES
from genlib.errors import OutputError

# node's require("module").builtinModules (node 18-20), without the internal `_…` ones
# fmt: off
NODE_BUILTINS = frozenset({
    "assert", "async_hooks", "buffer", "child_process", "cluster", "console", "constants", "crypto", "dgram",
    "diagnostics_channel", "dns", "domain", "events", "fs", "http", "http2", "https", "inspector", "module", "net",
    "os", "path", "perf_hooks", "process", "punycode", "querystring", "readline", "repl", "stream", "string_decoder",
    "sys", "test", "timers", "tls", "trace_events", "tty", "url", "util", "v8", "vm", "wasi", "worker_threads",
    "zlib",
})
# fmt: on
_NODE_SUFFIXES = (".js", ".cjs", ".mjs")
# require("x"), import … from "x", import "x", import("x"): the specifier
_NODE_IMPORT = re.compile(
    r"""\brequire\s*\(\s*(['"])([^'"\n]+)\1\s*\)|\bimport\s*\(\s*(['"])([^'"\n]+)\3\s*\)"""
    r"""|^\s*import\s+(?:[^'";]*?\s+from\s+)?(['"])([^'"\n]+)\5|^\s*export\s+[^'";]*?\s+from\s+(['"])([^'"\n]+)\7""",
    re.MULTILINE,
)
_STDLIB_HINT = {"python": "http.server, json, urllib, sqlite3", "node": "http, fs, url"}


def check(path: str, content: str, files: Collection[str], runtime: str) -> None:
    """`files`: every path of the app as it will be (the plan's in steps); `runtime`: the component's."""
    parts = path.split("/")
    if len(parts) < 3:
        return
    folder = "/".join(parts[:2])
    if runtime == "python" and path.endswith(".py"):
        dependency_file, found = PYTHON_FILES[0], _foreign_python(content, _local_names(folder, files))
    elif runtime == "node" and path.endswith(_NODE_SUFFIXES):
        dependency_file, found = NODE_FILES[0], _foreign_node(content)
    else:
        return
    if not found or any(f"{folder}/{name}" in files for name in (PYTHON_FILES if runtime == "python" else NODE_FILES)):
        return
    names = ", ".join(sorted(found)[:3])
    raise OutputError(
        f"{path} imports {names}, which {runtime}'s standard library does not have, and {folder} has no "
        f"{dependency_file}, so nothing is installed for it: write it with the standard library only "
        f"({_STDLIB_HINT[runtime]}, …)"
    )


def _local_names(folder: str, files: Collection[str]) -> set[str]:
    """Module names the component's own files provide: `helpers.py`, `models/…` anywhere below its folder."""
    names = set()
    for path in files:
        if path.startswith(folder + "/"):
            for part in path[len(folder) + 1 :].split("/"):
                names.add(part.removesuffix(".py"))
    return names


def _foreign_python(content: str, local: set[str]) -> set[str]:
    try:
        tree = ast.parse(content)
    except SyntaxError:
        return set()  # the syntax check says why
    known = set(sys.stdlib_module_names) | local | {"__future__"}
    return {name for name in _python_imports(tree) if name not in known}


def _python_imports(node: ast.AST) -> Iterator[str]:
    """Top-level module names of absolute imports, except those under a `try` (optional ones)."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.Try | ast.TryStar):
            continue
        if isinstance(child, ast.Import):
            yield from (alias.name.split(".")[0] for alias in child.names)
        elif isinstance(child, ast.ImportFrom) and child.level == 0 and child.module:
            yield child.module.split(".")[0]
        else:
            yield from _python_imports(child)


def _foreign_node(content: str) -> set[str]:
    found = set()
    code = "\n".join(line for line in content.splitlines() if not line.lstrip().startswith(("//", "*", "/*")))
    for match in _NODE_IMPORT.finditer(code):
        spec = next(group for group in match.groups()[1::2] if group)
        if spec.startswith((".", "/", "node:")):
            continue
        package = "/".join(spec.split("/")[:2]) if spec.startswith("@") else spec.split("/")[0]
        if package not in NODE_BUILTINS:
            found.add(package)
    return found


def completed(content: str, known: str = "") -> str:
    """`content` with an import added for each name it uses and nothing defines, when every such name is a
    standard-library module (`os` -> `import os`) or imported by `known` (the file it was started from: its
    `from urllib.parse import parse_qsl` line); else as it was, for the rule to refuse. The 0.5B dropped its
    starter's first lines, imports and all, three times running: the fix is certain, so genlib makes it."""
    try:
        tree = ast.parse(content)
    except SyntaxError:
        return content
    missing = list(dict.fromkeys(str(m.message_args[0]) for m in undefined(tree)))
    if not missing:
        return content
    offered = _imports_of(known)
    lines = [offered.get(name) or (f"import {name}" if name in sys.stdlib_module_names else "") for name in missing]
    if not all(lines):
        return content
    at = _after_imports(tree)
    body = content.split("\n")
    return "\n".join([*body[:at], *dict.fromkeys(lines), *body[at:]])


def undefined(tree: ast.Module) -> list[messages.UndefinedName]:
    """Each use of a name nothing defines (pyflakes): the one place genlib asks it, for the rule and the fix."""
    return [m for m in checker.Checker(tree).messages if isinstance(m, messages.UndefinedName)]


def _imports_of(source: str) -> dict[str, str]:
    """Name -> the import line that binds it, for each top-level import of `source`."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {}
    found: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom) and getattr(node, "level", 0) == 0:
            for alias in node.names:
                bound = alias.asname or alias.name.split(".")[0]
                found[bound] = ast.unparse(ast.Import([alias]) if isinstance(node, ast.Import) else
                                           ast.ImportFrom(node.module, [alias], 0))  # fmt: skip
    return found


def _after_imports(tree: ast.Module) -> int:
    """The line (0-based) new imports go before: after the docstring, `from __future__` and the top imports."""
    at = 0
    for node in tree.body:
        is_docstring = isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and node is tree.body[0]
        if not (is_docstring or isinstance(node, ast.Import | ast.ImportFrom)):
            break
        at = node.end_lineno or at
    return at
