"""Start-up: a no-op `doit` pays only for the graph. doit.cfg's commands are loaded on every call, so
they must not bring the model clients, the browser driver or the chart library with them (style 17).
Structural, not timed: bench/noop.py measures the time."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import add_iteration, run_doit

from genlib.workspace import Workspace

# pydantic too: building its models (genlib has ~80) costs about half of doit's own start-up
HEAVY = ("ollama", "httpx", "xllamacpp", "playwright", "pygal", "pydantic")
GENLIB_HEAVY = ("genlib.model", "genlib.loops")  # the model clients and everything that asks a model
GRAPH = ("materialize", "registry", "compose")

# What `python -m doit materialize registry compose` does, then what it left in sys.modules.
PROBE = f"""
import json, sys
from doit.doit_cmd import DoitMain
main = DoitMain()  # reads doit.cfg as `doit` does
main.get_cmds()  # loads every command doit.cfg names (genlib.commands:Run, Gen, Heal, ...), as each call does
code = main.run({list(GRAPH)!r})  # loads dodo.py, then finds every task up to date
print(json.dumps({{"code": code, "modules": sorted(sys.modules)}}))
"""


def test_a_no_op_doit_loads_no_model_client_browser_or_chart_library(workspace: Workspace) -> None:
    add_iteration(workspace, "iter_001_notes", "notes")
    assert run_doit(workspace, *GRAPH).returncode == 0  # built: the probe's run is the no-op
    proc = subprocess.run([sys.executable, "-c", PROBE], cwd=workspace.root, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    found = json.loads(proc.stdout.splitlines()[-1])
    assert found["code"] == 0
    modules = found["modules"]
    assert "genlib.commands.doit_commands" in modules and "genlib.tasks.graph" in modules  # the probe loaded both
    loaded = [m for m in modules if m.split(".")[0] in HEAVY or m.startswith(GENLIB_HEAVY)]
    assert loaded == []
