"""The doit graph of a workspace (dodo.py imports this).

    llm_output.json --materialize--> layer files + manifest.json
    manifests + layer files + HEAD --registry--> registry.yaml
    registry.yaml + Dockerfile.j2 --images--> .genlib/images.json (one image per dependency set)
    registry.yaml + images.json + docker-compose.yml.j2 --compose--> docker-compose.yml
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

from genlib import checkpoint, lock
from genlib.answer.depfiles import is_dependency_file
from genlib.app import lent_head, snapshot
from genlib.app.iterations import Iteration, head, list_iterations, read_manifest
from genlib.config import Settings
from genlib.defaults import missing_commands
from genlib.errors import GenlibError, WorkspaceError
from genlib.fsutil import sha256_file
from genlib.stack import images, upstamp
from genlib.tasks.report import GenlibReporter
from genlib.workspace import Workspace

# Loading the graph must stay cheap: a no-op `doit` only describes tasks. The modules
# that do the work (pydantic, Jinja2, the Docker SDK, httpx behind them) are imported
# inside the actions that need them.

# genlib's code that decides what docker-compose.yml holds (health checks, environment, confinement): a new
# genlib re-renders it, so an upgrade reaches stacks whose app did not change.
RENDERERS = [str(Path(__file__).parent.parent / name) for name in ("stack/compose.py", "app/dataservices.py")]
DEFAULT_TASKS = ["materialize", "registry", "images", "compose", "up", "test"]
TaskDict = dict[str, Any]


class RunSettings:
    """The run's settings (genlib.toml, the environment, the doit variables), loaded by the first task that
    asks and shared by every creator and action of the graph load: an action and its up-to-date check see
    the same values (Nikola feeds one `kw` to both), and a `doit` reads genlib.toml once."""

    def __init__(self, ws: Workspace) -> None:
        self._ws = ws
        self._loaded: Settings | None = None

    def __call__(self) -> Settings:
        if self._loaded is None:  # not earlier: doit sets the command line's variables after loading dodo.py
            self._loaded = self._ws.settings(setting_variables())
        return self._loaded


TaskBuilder = Callable[[Workspace, RunSettings], TaskDict]


def doit_config(root: Path) -> dict[str, object]:
    """DOIT_CONFIG for the workspace at `root`; also takes the workspace lock."""
    try:
        ws = Workspace.at(root)
        if lock.acquire(ws):  # not a graph nested in gen, heal or bisect: their command took it
            lent_head.recover(ws)
    except GenlibError as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        raise SystemExit(exc.exit_code) from None
    if missing := missing_commands(root):
        print(
            f"note: doit.cfg lacks genlib's commands {', '.join(missing)}: run `genlib upgrade` here", file=sys.stderr
        )
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


def setting_variables(*extra: str) -> dict[str, str]:
    """Settings (and `extra` names) given on the doit line as name=value."""
    names = (*extra, *Settings._fields)
    return {name: str(value) for name in names if (value := get_var(name, None)) is not None}


def creators(root: Path) -> dict[str, Callable[..., Any]]:
    """The task_* functions for the workspace at `root` (dodo.py puts them in its globals)."""
    ws = Workspace(root.resolve())
    settings = RunSettings(ws)
    found = {f"task_{name}": _bind(build, ws, settings) for name, build in TASKS.items()}
    # registry's and images' file_dep list layer files, known only once materialize has run.
    for name in ("task_registry", "task_images"):
        found[name] = create_after(executed="materialize")(found[name])
    return found


def _bind(build: TaskBuilder, ws: Workspace, settings: RunSettings) -> Callable[[], TaskDict]:
    """doit wants a plain function per task; its docstring is what `doit list` shows."""

    def creator() -> TaskDict:
        return build(ws, settings)

    creator.__doc__ = build.__doc__
    return creator


def materialize_task(ws: Workspace, run: RunSettings) -> TaskDict:
    """Write each iteration's layer files from its llm_output.json."""
    snap = snapshot.load(ws)
    # The files HEAD uses are targets: delete one and it is written again. Older versions
    # are history, not checked on every run. (Plain strings: thousands of pathlib joins
    # would dominate a no-op.)
    used = snap.overlay(_lineage_or_none(ws, snap))
    targets = [str(snapshot.index_path(ws))] + [f"{ref.iteration.path}/{path}" for path, ref in used.items()]
    return {
        "file_dep": [str(it.llm_output) for it in snap.iterations],
        "targets": targets,
        "actions": [(step(_materialize_stale), [ws, run])],
        "uptodate": [True],  # with no iteration (no file_dep) doit would run it every time
    }


def registry_task(ws: Workspace, run: RunSettings) -> TaskDict:
    """Record every component, its layer and current files in registry.yaml."""
    snap = snapshot.load(ws)
    files = snap.overlay(_lineage_or_none(ws, snap))
    # The index carries every manifest (components included): one dep instead of one per iteration.
    deps = [str(snapshot.index_path(ws))] + [f"{ref.iteration.path}/{path}" for path, ref in files.items()]
    if ws.head_file.exists():
        deps.append(str(ws.head_file))
    return {
        "file_dep": deps,
        "targets": [str(ws.registry_path)],
        "task_dep": ["materialize"],
        "actions": [(step(_write_registry), [ws])],
    }


def images_task(ws: Workspace, run: RunSettings) -> TaskDict:
    """Build an image per dependency set (requirements.txt, package.json); code edits build nothing."""
    settings = run()
    snap = snapshot.load(ws)
    lineage = _lineage_or_none(ws, snap)
    deps = {
        path: f"{ref.iteration.path}/{path}" for path, ref in snap.overlay(lineage).items() if is_dependency_file(path)
    }
    # Which components own them and how they run (a change of runtime is a new image too).
    owners = images.declared_owners(set(deps), [snap.manifests.get(it.name) for it in lineage])
    return {
        "file_dep": [*deps.values(), str(images.template_path(ws))],
        "targets": [str(images.record_path(ws))],
        "task_dep": ["registry"],
        "actions": [(step(_build_images), [ws, settings])],
        # failed builds are retried; an image removed by hand (or a rebuilt base image) is rebuilt
        "uptodate": [
            config_changed({**images.settings_key(settings), "owners": owners}),
            lambda task, values: images.up_to_date(ws),
        ],
    }


def compose_task(ws: Workspace, run: RunSettings) -> TaskDict:
    """Render docker-compose.yml from docker-compose.yml.j2, registry.yaml and the images built."""
    settings = run()
    return {
        "file_dep": [str(ws.registry_path), str(ws.compose_template), str(images.record_path(ws)), *RENDERERS],
        # genlib-env.js: see compose.public_env; ports.json: the host ports it chose (genlib.stack.ports)
        "targets": [str(ws.compose_path), str(ws.state_dir / "genlib-env.js"), str(ws.state_dir / "ports.json")],
        "task_dep": ["registry", "images"],
        "actions": [(step(_write_compose), [ws, settings])],
        "uptodate": [config_changed(_compose_settings(ws, settings))],
    }


def test_task(ws: Workspace, run: RunSettings) -> TaskDict:
    """Run test.yaml against the running stack; results in iterations/<head>/results.json."""
    if target := str(get_var("target", "")):  # `doit test target=swarm`: the deployed stack, never stale
        return {"actions": [(step(_test_deployed), [ws, run, target])]}
    deps = [ws.compose_path, ws.registry_path, images.record_path(ws)]  # images.json: failed builds
    deps += [ws.tests_path] if ws.tests_path.exists() else []
    return {
        "file_dep": [str(p) for p in deps],  # layer files reach us through compose's sha256 labels
        "targets": head_results(ws),
        "task_dep": ["up"],
        "actions": [(step(_run_tests), [ws, run])],
        # a stack brought up again (after `doit down`, a crash, a recreate) is tested again, even with no file changed
        "uptodate": [_same_stack(ws)],
    }


def up_task(ws: Workspace, run: RunSettings) -> TaskDict:
    """Start or update the stack; only services whose files or settings changed are recreated."""
    up_timeout = run().up_timeout
    return {
        # compose's per-service genlib.sha256 labels carry the layer files; registry.yaml the migrations
        "file_dep": [str(ws.compose_path), str(ws.registry_path)],
        "targets": [str(upstamp.path(ws))],  # stack_actions.up writes it, down removes it
        "task_dep": ["compose"],
        "actions": [(step(_up), [ws, up_timeout])],
        "uptodate": [lambda task, values: _stack_still_up(ws)],
    }


def down_task(ws: Workspace, run: RunSettings) -> TaskDict:
    """Stop and remove the stack; data volumes stay (`doit down volumes=1` deletes them too)."""
    return {"actions": [(step(_down), [ws, flag("volumes")])]}


def prune_task(ws: Workspace, run: RunSettings) -> TaskDict:
    """Remove the dependency images this workspace used and none of its iterations needs (shared ones in use stay)."""
    return {"actions": [(step(_prune), [ws, run])]}


def db_reset_task(ws: Workspace, run: RunSettings) -> TaskDict:
    """Delete one data service's volume (`doit db-reset service=db-backend`); the next `doit` starts it empty."""
    service = str(get_var("service", ""))
    return {"actions": [(step(_db_reset), [ws, service])]}


def logs_task(ws: Workspace, run: RunSettings) -> TaskDict:
    """Print the last lines of each service's log (`doit logs --tail 100 --service notes-api`)."""
    params = [
        {"name": "tail", "long": "tail", "type": int, "default": 50, "help": "lines per service"},
        {"name": "service", "long": "service", "type": str, "default": "", "help": "one service only"},
    ]
    return {"actions": [(step(lambda tail, service: _logs(ws, tail, service)), [])], "params": params}


def status_task(ws: Workspace, run: RunSettings) -> TaskDict:
    """A table of the stack: service, state, health, restarts, URL (`target=swarm`: the deployed stack's replicas)."""
    return {"actions": [(step(_status), [ws, str(get_var("target", ""))])]}


def release_task(ws: Workspace, run: RunSettings) -> TaskDict:
    """Build HEAD's images to run anywhere (`doit release [push=1] [force=1]`); refused unless HEAD is green."""
    # No task_dep: what it releases is what `doit` built and tested (and `force` means another thing to materialize).
    return {"actions": [(step(_release), [ws, run, flag("push"), flag("force")])]}


def deploy_task(ws: Workspace, run: RunSettings) -> TaskDict:
    """Deploy the release: `doit deploy target=swarm|k8s` (`target=swarm down=1 [volumes=1]` removes it)."""
    return {"actions": [(step(_deploy), [ws, run, str(get_var("target", "")), flag("down"), flag("volumes")])]}


def flag(name: str) -> bool:
    """A doit variable such as `volumes=1`: anything but 0, false, no or nothing is yes."""
    return get_var(name, "0") not in ("0", "", "false", "no")


TASKS: dict[str, TaskBuilder] = {
    "materialize": materialize_task,
    "registry": registry_task,
    "images": images_task,
    "compose": compose_task,
    "up": up_task,
    "test": test_task,
    "down": down_task,
    "db-reset": db_reset_task,
    "prune": prune_task,
    "logs": logs_task,
    "status": status_task,
    "release": release_task,
    "deploy": deploy_task,
}


# The stack's actions: genlib.stack.stack_actions (the Docker SDK and Compose behind it) is imported when one
# runs, never while a no-op `doit` describes the graph.


def _up(ws: Workspace, up_timeout: int) -> None:
    from genlib.stack import stack_actions

    stack_actions.up(ws, up_timeout)


def _down(ws: Workspace, volumes: bool) -> None:
    from genlib.stack import stack_actions

    stack_actions.down(ws, volumes)


def _prune(ws: Workspace, run: RunSettings) -> None:
    from genlib.stack import prune

    prune.prune(ws, run())


def _db_reset(ws: Workspace, service: str) -> None:
    from genlib.stack import stack_actions

    stack_actions.db_reset(ws, service)


def _logs(ws: Workspace, tail: int, service: str) -> None:
    from genlib.stack import stack_actions

    stack_actions.logs(ws, tail, service)


def _status(ws: Workspace, target: str) -> None:
    if target:
        from genlib.deploy import actions

        return actions.status(ws, target)
    from genlib.stack import stack_actions

    stack_actions.status(ws)


# Releasing and deploying: genlib.deploy, imported only when one of them runs.


def _release(ws: Workspace, run: RunSettings, push: bool, force: bool) -> None:
    from genlib.deploy import actions

    actions.make_release(ws, run(), push, force)


def _deploy(ws: Workspace, run: RunSettings, target: str, down: bool, volumes: bool) -> None:
    from genlib.deploy import actions

    actions.deploy(ws, run(), target, down, volumes)


def _test_deployed(ws: Workspace, run: RunSettings, target: str) -> TaskFailed | None:
    from genlib.deploy import actions

    actions.check_target(target, ("swarm",))
    return None if actions.test(ws, run()) else TaskFailed(f"scenarios failed against the {target} stack")


def _stack_running(ws: Workspace) -> bool:
    from genlib.stack import stack_actions

    return stack_actions.stack_running(ws)


def _stack_still_up(ws: Workspace) -> bool:
    """up's up-to-date check: the last `up` left no failed service and its containers all still run.

    Asked over the engine's socket without the Docker SDK (genlib.stack.engine_api), so a no-op `doit`
    stays cheap; a stack stopped or removed by hand, or a crashed container, makes `up` run again.
    """
    from genlib.stack import engine_api

    stamp = upstamp.load(ws)
    if stamp is None or stamp.failed:
        return False
    answer = engine_api.stack_up(ws.project_name, list(stamp.services.values()))
    return answer if answer is not None else _stack_running(ws)  # tcp:// or ssh://: the SDK


def _same_stack(ws: Workspace) -> Callable[[Any, dict[str, object]], bool]:
    """test's up-to-date check: the stack is the one the last test run saw (up.json, which every `up` rewrites
    with a fresh `started` and `down` removes). Checked when test is due, so after up has run."""

    def check(task: Any, values: dict[str, object]) -> bool:
        try:
            stamp = sha256_file(upstamp.path(ws))
        except OSError:
            stamp = ""  # nothing to run yet
        task.value_savers.append(lambda: {"stack": stamp})
        return bool(values.get("stack") == stamp)

    return check


def _lineage_or_none(ws: Workspace, snap: snapshot.Snapshot) -> list[Iteration]:
    """HEAD's lineage; none while HEAD is broken (the registry task then says why)."""
    try:
        return snap.head_lineage(ws)
    except WorkspaceError:
        return []


def head_results(ws: Workspace) -> list[str]:
    """results.json of HEAD; none while there is no valid HEAD (the action then says why)."""
    try:
        current = head(ws)
    except WorkspaceError:
        return []
    return [str(current.results)] if current else []


def _write_registry(ws: Workspace) -> None:
    from genlib.app import registry

    checkpoint.reach("registry")
    registry.write(ws)


def _build_images(ws: Workspace, settings: Settings) -> None:
    from genlib.app import registry

    images.build(ws, registry.load(ws), settings)


def _write_compose(ws: Workspace, settings: Settings) -> None:
    from genlib.app import registry
    from genlib.stack import compose

    checkpoint.reach("compose")
    compose.write(ws, registry.load(ws), settings)


def _run_tests(ws: Workspace, run: RunSettings) -> TaskFailed | None:
    """A failing scenario fails the task (exit 1), so doit runs it again next time."""
    from genlib.checks import runner
    from genlib.stack.engine import Stack
    from genlib.stack.stack_actions import NOTHING_YET

    if head(ws) is None:
        print(NOTHING_YET)
        return None

    settings = run()  # the doit variables reach the browser check too
    report = runner.test(ws, Stack(ws, settings.up_timeout), settings)
    allow = bool(settings.allow_skipped)
    print(runner.render_table(report, allow_skipped=allow))
    return None if runner.green(report, allow) else TaskFailed(runner.failure_message(ws, report))


def _compose_settings(ws: Workspace, s: Settings) -> dict[str, object]:
    """What the rendered file depends on besides its file_dep: a change re-renders it."""
    images = [s.image_python, s.image_node, s.image_static]
    return {"images": images, "memory": s.memory, "cpus": s.cpus, "project": ws.project_name, "port_base": s.port_base}


def _materialize_stale(ws: Workspace, run: RunSettings, changed: list[str]) -> None:
    """Materialize only the iterations doit saw change, or whose manifest or files are missing."""
    from genlib.app.materialize import materialize_stale

    force = flag("force")
    stale = {it.name for it in _stale_iterations(ws, {Path(p) for p in changed})}
    for name, count in materialize_stale(ws, stale, run(), force=force).items():
        print(f"   {name}: {count} file(s) written")
    snapshot.write(ws)


def _stale_iterations(ws: Workspace, changed: set[Path]) -> Iterator[Iteration]:
    """Doit's `changed` narrows which sources to hash; the manifest's recorded hash decides."""
    for it in list_iterations(ws):
        manifest = read_manifest(it)
        if manifest is None or any(not (it.path / rel).is_file() for rel in manifest.files):
            yield it  # never materialized, or a layer file was deleted
        elif it.llm_output in changed and manifest.source_sha256 != sha256_file(it.llm_output):
            yield it
