"""Run a workspace's doit graph in-process (for `doit gen` and each round of `doit heal`).

The workspace's own dodo.py is loaded afresh each time under a private module
name: doit's DodoTaskLoader imports it as `dodo`, which Python caches, so a
second workspace in the same process would silently get the first one's tasks.
"""

from __future__ import annotations

import hashlib
import importlib.util
from types import ModuleType

from doit.cmd_base import ModuleTaskLoader
from doit.doit_cmd import DoitMain

from genlib.errors import WorkspaceError
from genlib.workspace import Workspace

BUILD_TASKS = ("materialize", "registry", "compose")


def load_dodo(ws: Workspace) -> ModuleType:
    path = ws.root / "dodo.py"
    name = "genlib_dodo_" + hashlib.sha256(str(path).encode()).hexdigest()[:12]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise WorkspaceError(f"{path} cannot be loaded; restore it from `genlib init`")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(
    ws: Workspace, tasks: tuple[str, ...] | list[str] = BUILD_TASKS, variables: dict[str, str] | None = None
) -> int:
    """doit's exit code: 0 done, 1 a task failed, 2 a task errored, 3 the graph could not load.

    doit keeps command-line variables in one global that each run resets, so read
    the outer command's variables before calling this.
    """
    main = DoitMain(ModuleTaskLoader(load_dodo(ws)), config_filenames=[str(ws.root / "doit.cfg")])
    args = [*tasks, *(f"{name}={value}" for name, value in sorted((variables or {}).items()))]
    _depth.append(1)
    try:
        return int(main.run(args) or 0)  # some commands (forget) return None for done
    finally:
        _depth.pop()


_depth: list[int] = []  # graphs running in-process now (gen, heal): their Ctrl-C is the command's to report


def nested() -> bool:
    """Is the graph running inside gen or heal (this module), not as `doit` itself?"""
    return bool(_depth)
