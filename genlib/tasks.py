"""The doit graph of a workspace (dodo.py imports this).

    llm_output.json --materialize--> layer files + manifest.json
    manifests + layer files + HEAD --registry--> registry.yaml
    registry.yaml + docker-compose.yml.j2 --compose--> docker-compose.yml
    docker-compose.yml --up--> running stack (.genlib/up.json) --test--> iterations/<head>/results.json
    down, logs, status: queries and clean-up, never stale

Each task names its file_dep and targets, so doit rebuilds only what is stale.
Actions translate genlib's errors into one-line doit failures (`step`).
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from doit import create_after, get_var
from doit.exceptions import TaskError, TaskFailed
from doit.tools import config_changed

from genlib import compose, lock, registry, runner, stack_tasks
from genlib.engine import Stack
from genlib.errors import GenlibError
from genlib.fsutil import sha256_file
from genlib.iterations import Iteration, list_iterations, overlay, read_manifest, up_to_head
from genlib.materialize import materialize
from genlib.report import GenlibReporter
from genlib.workspace import Workspace

DEFAULT_TASKS = ["materialize", "registry", "compose", "up", "test"]
TaskDict = dict[str, Any]


def doit_config(root: Path) -> dict[str, Any]:
    """DOIT_CONFIG for the workspace at `root`; also takes the workspace lock."""
    try:
        ws = Workspace.at(root)
        lock.acquire(ws)
    except GenlibError as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        raise SystemExit(3) from None
    return {
        "backend": "sqlite3",  # dbm cannot be reopened by the nested runs of `doit heal`
        "dep_file": str(ws.dep_file),
        "default_tasks": list(DEFAULT_TASKS),
        "reporter": GenlibReporter,
        "verbosity": 2,
    }


def step(func: Callable[..., Any]) -> Callable[..., Any]:
    """Run a task action; a GenlibError becomes one line (doit exit 2), a bug keeps its traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            result = func(*args, **kwargs)
        except GenlibError as exc:
            return TaskError(str(exc))
        return result is not False and result

    return wrapper


def _variables() -> dict[str, str]:
    names = ("model", "port_base", "image_python", "image_node", "image_static", "memory", "cpus")
    return {name: value for name in names if (value := get_var(name, None)) is not None}


def creators(root: Path) -> dict[str, Callable[..., Any]]:
    """The task_* functions for the workspace at `root` (dodo.py puts them in its globals)."""
    ws = Workspace(root.resolve())

    def task_materialize() -> TaskDict:
        """Write each iteration's layer files from its llm_output.json."""
        iterations = list_iterations(ws)
        targets = [str(it.manifest) for it in iterations]
        for it in iterations:
            targets += [str(it.path / rel) for rel in (read_manifest(it) or {}).get("files", {})]
        return {
            "file_dep": [str(it.llm_output) for it in iterations],
            "targets": targets,
            "actions": [(step(_materialize_stale), [ws])],
        }

    @create_after(executed="materialize")  # type: ignore[untyped-decorator]  # doit has no type hints
    def task_registry() -> TaskDict:
        """Record every component, its layer and current files in registry.yaml."""
        iterations = up_to_head(ws)
        files = overlay(iterations)
        deps = [str(it.manifest) for it in iterations] + [str(ref.source) for ref in files.values()]
        if ws.head_file.exists():
            deps.append(str(ws.head_file))
        settings = ws.settings(_variables())
        return {
            "file_dep": deps,
            "targets": [str(ws.registry_path)],
            "task_dep": ["materialize"],
            "actions": [(step(lambda: registry.write(ws, settings) and None), [])],
            "uptodate": [config_changed({"port_base": settings.port_base, "project": ws.project_name})],
        }

    def task_compose() -> TaskDict:
        """Render docker-compose.yml from docker-compose.yml.j2 and registry.yaml."""
        settings = ws.settings(_variables())
        return {
            "file_dep": [str(ws.registry_path), str(ws.compose_template)],
            "targets": [str(ws.compose_path)],
            "task_dep": ["registry"],
            "actions": [(step(lambda: compose.write(ws, registry.load(ws), settings) and None), [])],
            "uptodate": [config_changed(_compose_settings(ws))],
        }

    def task_test() -> TaskDict:
        """Run test.yaml against the running stack; results in iterations/<head>/results.json."""
        deps = [ws.compose_path, ws.registry_path] + ([ws.tests_path] if ws.tests_path.exists() else [])
        return {
            "file_dep": [str(p) for p in deps],  # layer files reach us through compose's sha256 labels
            "targets": runner.results_targets(ws),
            "task_dep": ["up"],
            "actions": [(step(_run_tests), [ws])],
        }

    def task_up() -> TaskDict:
        """Start or update the stack; only services whose files or settings changed are recreated."""
        up_timeout = ws.settings(_variables()).up_timeout
        return {
            "file_dep": [str(ws.compose_path)],  # its per-service genlib.sha256 labels carry the layer files
            "targets": [str(stack_tasks.up_stamp(ws))],
            "task_dep": ["compose"],
            "actions": [(step(stack_tasks.up), [ws, up_timeout])],
            "uptodate": [lambda task, values: stack_tasks.stack_running(ws)],
        }

    def task_down() -> TaskDict:
        """Stop and remove the stack (the next `doit` brings it up again)."""
        return {"actions": [(step(stack_tasks.down), [ws])]}

    def task_logs() -> TaskDict:
        """Print the last lines of each service's log (`doit logs --tail 100 --service notes-api`)."""
        params = [
            {"name": "tail", "long": "tail", "type": int, "default": 50, "help": "lines per service"},
            {"name": "service", "long": "service", "type": str, "default": "", "help": "one service only"},
        ]
        return {"actions": [(step(lambda tail, service: stack_tasks.logs(ws, tail, service)), [])], "params": params}

    def task_status() -> TaskDict:
        """A table of the stack: service, state, health, restarts, URL."""
        return {"actions": [(step(stack_tasks.status), [ws])]}

    return {
        "task_up": task_up,
        "task_down": task_down,
        "task_logs": task_logs,
        "task_status": task_status,
        "task_materialize": task_materialize,
        "task_registry": task_registry,
        "task_compose": task_compose,
        "task_test": task_test,
    }


def _run_tests(ws: Workspace) -> TaskFailed | None:
    """A failing scenario fails the task (exit 1), so doit runs it again next time."""
    report = runner.test(ws, Stack(ws, ws.settings(_variables()).up_timeout))
    print(runner.render_table(report))
    return None if report.ok else TaskFailed(runner.failure_message(ws, report))


def _compose_settings(ws: Workspace) -> dict[str, Any]:
    s = ws.settings(_variables())
    return {"images": [s.image_python, s.image_node, s.image_static], "memory": s.memory, "cpus": s.cpus}


def _materialize_stale(ws: Workspace, changed: list[str]) -> None:
    """Materialize only the iterations doit saw change, or whose manifest or files are missing."""
    settings = ws.settings(_variables())
    force = get_var("force", "0") not in ("0", "", "false", "no")
    changed_paths = {Path(p) for p in changed}
    for it in _stale_iterations(ws, changed_paths):
        written = materialize(ws, it, settings, force=force)
        print(f"   {it.name}: {len(written)} file(s) written")


def _stale_iterations(ws: Workspace, changed: set[Path]) -> Iterator[Iteration]:
    """Doit's `changed` narrows which sources to hash; the manifest's recorded hash decides."""
    for it in list_iterations(ws):
        manifest = read_manifest(it)
        if manifest is None or any(not (it.path / rel).is_file() for rel in manifest["files"]):
            yield it
        elif it.llm_output in changed and manifest.get("source_sha256") != sha256_file(it.llm_output):
            yield it
