"""Start-up: a no-op `doit` pays only for the graph. doit.cfg's commands are loaded on every call, so
they must not bring the model clients, the browser driver or the chart library with them (style 17).
Structural, not timed: bench/noop.py measures the time."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import add_iteration, run_doit

from genlib.workspace import Workspace

# pydantic too: building its models (genlib has ~80) costs about half of doit's own start-up. Nor what only
# other commands use: YAML, TOML (no genlib.toml here: `isolated` points XDG_CONFIG_HOME away), Jinja2, the
# Docker SDK, unicodedata (slugs for gen).
HEAVY = ("ollama", "httpx", "xllamacpp", "playwright", "pygal", "pydantic", "yaml", "tomllib", "jinja2", "docker")
LIGHT_BUT_UNUSED = ("unicodedata",)
GENLIB_HEAVY = (
    "genlib.model",  # the model clients
    "genlib.loops",  # everything that asks a model
    "genlib.documents",  # pydantic's documents: the graph reads the index (app.snapshot) instead
    "genlib.logscan",  # only a failed build's log is scanned (stack.images)
    "genlib.stack.engine",  # the Docker SDK: up's check asks the engine's socket itself (stack.engine_api)
    "genlib.stack.stack_actions",
    "genlib.stack.compose",
    "genlib.app.registry",
    "genlib.templating",
)
GRAPH = ("materialize", "registry", "compose")

# What `python -m doit ARGS` does, then what it left in sys.modules.
PROBE = """
import json, sys
compiled = []  # source compiled from strings (not files): what dataclasses and NamedTuples generate, mostly


def count(event, args):
    if event == "compile" and str(args[1]).startswith("<"):
        compiled.append(len(args[0] or ""))


sys.addaudithook(count)
from doit.doit_cmd import DoitMain
main = DoitMain()  # reads doit.cfg as `doit` does
main.get_cmds()  # loads every command doit.cfg names (genlib.commands:Run, Gen, Heal, ...), as each call does
code = main.run(sys.argv[1:])  # loads dodo.py, then finds every task up to date
print(json.dumps({"code": code, "modules": sorted(sys.modules), "compiled": sum(compiled)}))
"""
# Every `doit` defines genlib's classes again, and a dataclass compiles its methods from generated source each
# time: Settings as a frozen dataclass of ~70 fields was 18.6 KB of it, ~3 ms. A no-op stays well below.
COMPILED_MAX = 16_000


def test_a_no_op_doit_loads_no_model_client_browser_or_chart_library(workspace: Workspace) -> None:
    add_iteration(workspace, "iter_001_notes", "notes")
    assert run_doit(workspace, *GRAPH).returncode == 0  # built: the probe's run is the no-op
    modules, compiled = _no_op(workspace, *GRAPH)
    assert "genlib.commands.doit_commands" in modules and "genlib.tasks.graph" in modules  # the probe loaded both
    assert _heavy(modules) == []
    assert compiled < COMPILED_MAX


@pytest.mark.docker
def test_a_plain_no_op_doit_with_its_stack_running_asks_the_engine_without_the_sdk(engine: Workspace) -> None:
    """The no-op a person waits for (bench/noop.py's headline): up's and test's checks included."""
    add_iteration(engine, "iter_001_notes", "notes")
    first = run_doit(engine)
    assert first.returncode == 0, first.output
    modules, compiled = _no_op(engine)
    assert "genlib.stack.engine_api" in modules  # up's check asked the engine
    assert _heavy(modules) == []
    assert compiled < COMPILED_MAX


def _no_op(ws: Workspace, *args: str) -> tuple[list[str], int]:
    """sys.modules after `doit ARGS` in `ws`, which must find every task up to date, and the characters of
    source it compiled on the way."""
    proc = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=ws.root, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    *output, last = proc.stdout.splitlines()
    found = json.loads(last)
    assert found["code"] == 0
    ran = [line for line in output if line.startswith(".  ")]
    assert ran == [], proc.stdout  # a no-op: every task up to date
    return list(found["modules"]), int(found["compiled"])


def _heavy(modules: list[str]) -> list[str]:
    """The modules of `modules` a no-op must not load."""
    unused = (*HEAVY, *LIGHT_BUT_UNUSED)
    return [m for m in modules if m.split(".")[0] in unused or _genlib_heavy(m)]


def _genlib_heavy(module: str) -> bool:
    """genlib.stack.engine is heavy, genlib.stack.engine_api is not: a package and its modules only."""
    return any(module == g or module.startswith(f"{g}.") for g in GENLIB_HEAVY)
