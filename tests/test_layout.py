"""The folder layout draws the architecture: groups one level deep, imports run one way.

Every import counts, the lazy ones inside functions and those under TYPE_CHECKING too: a lazy import
upward is still a dependency upward.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "genlib"

# Lowest first: a group may import the base and any group before it, never one after it.
ORDER = ["documents", "answer", "app", "stack", "checks", "model", "deploy", "tasks", "loops", "commands"]
BASE = "(base)"
MAX_LINES = 500
MAX_ANY_DICTS = 40


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _group(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and (PACKAGE / parts[1]).is_dir()) else BASE


def _imports(path: Path, module: str, known: set[str]) -> set[str]:
    """Every genlib module `path` imports, anywhere in the file."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("genlib."))
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("genlib"):
            base = node.module or ""
            for alias in node.names:
                child = f"{base}.{alias.name}"
                found.add(child if child in known else base)
    return {name for name in found if name in known and name != module and name != "genlib"}


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(path, name, set(modules)) for name, path in modules.items()}


def _rank(group: str) -> int:
    return -1 if group == BASE else ORDER.index(group)


def test_genlib_has_at_least_six_groups_each_in_the_order() -> None:
    groups = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert len(groups) >= 6, groups
    assert groups <= set(ORDER), f"add {sorted(groups - set(ORDER))} to ORDER at its place"


def test_imports_never_run_upward() -> None:
    upward = [
        f"{importer} -> {imported}"
        for importer, imports in _graph().items()
        for imported in imports
        if _rank(_group(imported)) > _rank(_group(importer))
    ]
    assert not upward, "\n".join(upward)


def test_no_two_groups_import_each_other() -> None:
    edges: dict[str, set[str]] = defaultdict(set)
    for importer, imports in _graph().items():
        edges[_group(importer)].update(_group(i) for i in imports if _group(i) != _group(importer))
    mutual = sorted({tuple(sorted((a, b))) for a, targets in edges.items() for b in targets if a in edges[b]})
    assert not mutual, mutual


def test_no_module_cycle() -> None:
    graph = _graph()
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for start in graph:
        if state.get(start):
            continue
        path, stack = [start], [iter(sorted(graph[start]))]
        state[start] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                raise AssertionError("import cycle: " + " -> ".join([*path[path.index(nxt) :], nxt]))
            elif not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(sorted(graph[nxt])))


def test_no_module_is_over_500_lines() -> None:
    long = {name: n for name, p in _modules().items() if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, long


def test_untyped_dicts_are_few() -> None:
    count = sum(p.read_text().count("dict[str, Any]") for p in _modules().values())
    assert count <= MAX_ANY_DICTS, f"{count} dict[str, Any] in genlib/; cross module lines with typed models"
