"""An app of N files for a gen in steps: its plan and each file's answer, in the order genlib asks for them.

Four components share the files: a node API (with a JSON contract every other file is written against),
a static frontend, python workers and shell/JSON deployment files. Each file is ~1 KB of real code that
passes genlib's syntax checks, so 40 files are ~10,000 tokens: far more than one completion holds.
"""

from __future__ import annotations

import json
from typing import Any

CONTRACT = "api/notes/contract.json"
_COMPONENTS = [
    {
        "name": "notes",
        "layer": "api",
        "runtime": "node",
        "port": 3000,
        "command": ["node", "server.js"],
        "health": "/health",
    },
    {"name": "web", "layer": "frontend", "runtime": "static"},
    {
        "name": "digest",
        "layer": "workers",
        "runtime": "python",
        "command": ["python3", "worker.py"],
        "depends_on": ["notes"],
    },
    {"name": "ops", "layer": "deployment", "runtime": "shell"},
]
_ENTRY = {"api/notes": "server.js", "frontend/web": "index.html", "workers/digest": "worker.py"}
_SUFFIX = {"api/notes": ".js", "frontend/web": ".js", "workers/digest": ".py", "deployment/ops": ".sh"}


def paths(count: int) -> list[str]:
    """`count` file paths (the contract first), spread over the four components."""
    found = [CONTRACT]
    folders = list(_SUFFIX)
    n = 0
    while len(found) < count:
        folder = folders[n % 4]
        index = n // 4
        name = _ENTRY[folder] if index == 0 and folder in _ENTRY else f"part{index}{_SUFFIX[folder]}"
        found.append(f"{folder}/{name}")
        n += 1
    return found


def content(path: str) -> str:
    """~1 KB of valid code for `path` (each file different)."""
    tag = path.replace("/", "_").replace(".", "_")
    if path == CONTRACT:
        return json.dumps({"GET /notes": {"returns": [{"id": "number", "text": "string"}]}}, indent=2) + "\n"
    if path.endswith(".py"):
        body = "".join(f"def {tag}_{i}(notes):\n    return [n for n in notes if len(n) > {i}]\n\n\n" for i in range(12))
        return f'"""{path}"""\n\n\n{body}'
    if path.endswith(".js"):
        body = "".join(
            f"function {tag}_{i}(notes) {{\n  return notes.filter((n) => n.length > {i});\n}}\n" for i in range(12)
        )
        return f"// {path}\n'use strict';\n{body}module.exports = {{ {tag}_0 }};\n"
    if path.endswith(".html"):
        return '<!doctype html>\n<title>Notes</title>\n<ul id="notes"></ul>\n' + "<!-- filler -->\n" * 40
    return f"#!/bin/sh\n# {path}\n" + "".join(f"echo 'step {i} of {tag}'\n" for i in range(30))


def plan(count: int) -> dict[str, Any]:
    files = [{"path": p, "purpose": f"part of {p.rsplit('/', 1)[0]}", "interface": p == CONTRACT} for p in paths(count)]
    return {
        "summary": f"a notes app in {count} files",
        "components": _COMPONENTS,
        "files": files,
        "interfaces": [
            {"kind": "route", "name": "GET /notes", "shape": "[{id, text}]"},
            {"kind": "env", "name": "NOTES_API_URL", "shape": "the API's base URL"},
        ],
        "scenarios": [
            {
                "name": "api health",
                "kind": "http",
                "service": "notes-api",
                "request": {"path": "/health"},
                "expect": {"status": 200},
            }
        ],
    }


def fenced(text: str) -> str:
    return f"```\n{text}```\n"
