"""An app at the caps of what an answer may hold (issue 11, class 9): the prompts about it must stay bounded.

`app()` is a whole answer with max_components (30) components, max_files (200) files of ~1.6 KB, and every
string the rules let run long at max_text_chars (4,000): descriptions, a command argument, the depends_on
lists (each component depends on every earlier one). `plan()` is a gen-in-steps plan on top of it, as long:
every component declared again, 200 files each with a 4,000-char purpose, 10 of them 100 KB interface files.
"""

from __future__ import annotations

import json
from typing import Any

COMPONENTS = 30
FILES = 200
TEXT = 4000
WORDS = "notes tags search export archive "  # the request's words, so every file and component is "relevant"
LOG_LINE = (WORDS * 100)[:2000]  # a scenario's must_contain line: at most 2,000 (genlib.documents.scenarios)


def text(tag: str) -> str:
    return (f"{tag}: " + WORDS * TEXT)[:TEXT]


def name(i: int) -> str:
    return f"part{i:02d}-" + "x" * 20  # 27 chars, within COMPONENT_PATTERN's 31


def components() -> list[dict[str, Any]]:
    return [
        {
            "name": name(i),
            "layer": "workers",
            "runtime": "python",
            "description": text(f"component {i}"),
            "command": ["python3", "main.py", text(f"argument {i}")],
            "depends_on": [name(j) for j in range(i)],
        }
        for i in range(COMPONENTS)
    ]


def paths() -> list[str]:
    """FILES paths spread over the components, main.py first in each."""
    return [
        f"workers/{name(i % COMPONENTS)}/" + ("main.py" if i < COMPONENTS else f"mod{i:03d}.py") for i in range(FILES)
    ]


def content(path: str) -> str:
    return f'"""{path}"""\n' + "".join(f"NOTE_{n} = '{WORDS.strip()}'\n" for n in range(40))


def app() -> dict[str, Any]:
    return {
        "summary": text("summary"),
        "components": components(),
        "files": [{"path": p, "content": content(p)} for p in paths()],
        "scenarios": [
            {"name": f"part {i} runs", "kind": "logs", "service": f"{name(i)}-workers", "must_contain": [LOG_LINE]}
            for i in range(3)
        ],
    }


INTERFACES = 10


def interface(path: str) -> str:
    return f"# {path}\n" + f"{WORDS}\n" * (100_000 // (len(WORDS) + 1))


def plan() -> dict[str, Any]:
    """The plan of a gen in steps over the app: its files rewritten as .txt (the first INTERFACES interfaces)."""
    files = [
        {"path": f"{p.rsplit('.', 1)[0]}.txt", "purpose": text(f"purpose {i}"), "interface": i < INTERFACES}
        for i, p in enumerate(paths())
    ]
    return {
        "summary": text("summary"),
        "components": components(),
        "files": files,
        "interfaces": [{"kind": "route", "name": text("route"), "shape": text("shape")} for _ in range(20)],
        "scenarios": app()["scenarios"],
    }


def answers() -> tuple[str, list[str]]:
    """The plan and each file's fenced answer, in the order genlib asks for them (interfaces first)."""
    files = plan()["files"]
    order = [f for f in files if f["interface"]] + [f for f in files if not f["interface"]]
    fenced = ["```\n" + (interface(f["path"]) if f["interface"] else "notes\n") + "```\n" for f in order]
    return json.dumps(plan()), fenced
