"""The actions of the stack tasks (`up`, `down`, `logs`, `status`); the task dicts are in tasks.py.

`up` leaves a stamp (genlib.stack.upstamp) holding when the stack of its iteration came up (a later `up` of the
same iteration keeps it; a `logs` scenario reads the output a service printed since then: genlib.checks.runner)
and the container id of each service:
`down` removes it, so doit brings the stack up again on the next run, and the
stamp's content changes whenever `up` ran, so `test` runs again against the new stack. `up`'s up-to-date
check reads it without importing this module (tasks._stack_still_up: it must be cheap).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from genlib import checkpoint
from genlib.app import registry
from genlib.app.dataservices import is_data, volume_name
from genlib.app.iterations import head
from genlib.errors import ConfigError
from genlib.stack import migrations, ports, upstamp
from genlib.stack.compose_file import compose_services
from genlib.stack.engine import Stack
from genlib.text import columns
from genlib.workspace import Workspace

DATABASE_START_S = 300
NOTHING_YET = '   nothing to run yet: run `doit gen desc="what to build"`'


def stack_running(ws: Workspace) -> bool:
    """doit `uptodate`: asks the engine (one list call), so a stopped or crashed stack is brought up again."""
    return upstamp.path(ws).exists() and Stack(ws).is_running()


def up(ws: Workspace, up_timeout: int) -> None:
    """compose up; a failed service is reported (the test task records it), not raised."""
    if not compose_services(ws.compose_path):
        print(NOTHING_YET)
        return
    stack = Stack(ws, up_timeout)
    current = head(ws)
    iteration = current.name if current else None
    began = stack_began(ws, iteration)
    before = stack.container_ids()
    changed = migrate(ws, stack)
    restart_dependents(ws, stack, changed, before)
    result = stack.up(on_line=_indent, before=before)
    print(f"   up: {result.summary()}")
    for failure in result.failed:
        print(f"   service {failure.one_line()}")
    checkpoint.reach("up")
    failed = {f.service: f.reason for f in result.failed}
    started = datetime.now(UTC).isoformat()
    services = stack.container_ids()
    upstamp.save(ws, upstamp.UpStamp(started, services, failed, began=began, iteration=iteration))


def stack_began(ws: Workspace, iteration: str | None) -> float:
    """When the stack of this iteration came up (upstamp.began_for): a `doit` whose `up` changed nothing, or
    that finishes an `up` killed half way, must not hide what a service still running printed when it started;
    a container that did start again is judged from then on (log_window)."""
    return upstamp.began_for(ws, iteration)


def up_began(ws: Workspace) -> float | None:
    """When the stack under test began to come up (seconds since the epoch); None before any `up`."""
    return upstamp.began(ws)


@dataclass(frozen=True)
class LogWindow:
    since: float | None  # seconds since the epoch; None: the whole log of the container
    says: str  # which window, in words (a logs scenario's reason, the log digests' first line)


def log_window(stack: Stack, service: str) -> LogWindow:
    """What a service printed since the stack of the current iteration came up (the first `up` of that iteration
    began: a container that `up` did not recreate keeps its output from before a fix), or since the container
    last started, whichever is later."""
    began = up_began(stack.ws)
    state = stack.states().get(service)
    started = state.started_at if state else None
    if started is not None and (began is None or started > began):
        return LogWindow(started, f"since {service} last started, {_utc(started)}")
    if began is not None:
        return LogWindow(began, f"since `up` brought this stack up, {_utc(began)}")
    return LogWindow(None, "since the container started")


def _utc(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def restart_dependents(ws: Workspace, stack: Stack, databases: set[str], before: dict[str, str]) -> None:
    """Stop the running services that depend on a database whose schema just changed; `up` starts them again.

    A program may have read the schema once, when it started (an ORM's reflection, a cached prepared statement,
    a start-up check that gave up): after a migration it starts again on the new schema (docs/guarantees.md)."""
    dependents = sorted(
        service
        for service, comp in registry.load(ws).services.items()
        if service in before and databases & set(comp.depends_on)
    )
    if dependents:
        print(f"   restarting {', '.join(dependents)}: {', '.join(sorted(databases))} has new migrations", flush=True)
        stack.stop(dependents, on_line=_indent)


def migrate(ws: Workspace, stack: Stack) -> set[str]:
    """Bring up the databases that have migrations, apply the new files, record what each one holds; return the
    databases that applied new files.

    Before the rest of the stack: a dependent (re)started next finds its tables. A failing
    file is recorded (the test task reports it); an edited applied file stops here."""
    databases = {
        service: found
        for service, c in registry.load(ws).services.items()
        if c.runtime == "postgres" and (found := migrations.of_component(ws, c))
    }
    if not databases:
        migrations.save_state(ws, {})
        return set()
    # A new database initialises itself first (initdb): give it more than up_timeout.
    first = stack.up(on_line=_indent, only=sorted(databases), wait_s=max(stack.up_timeout, DATABASE_START_S))
    down = {f.service for f in first.failed}  # the service check reports them
    outcomes = {}
    for service, files in sorted(databases.items()):
        if service in down:
            continue
        outcome = migrations.apply(stack, service, files)
        print(f"   migrations of {service}: {len(outcome.new)} new, {migrations.summary(outcome)}", flush=True)
        outcomes[service] = outcome
    migrations.save_state(ws, outcomes)
    return {service for service, outcome in outcomes.items() if outcome.new}


def down(ws: Workspace, volumes: bool = False) -> None:
    upstamp.path(ws).unlink(missing_ok=True)  # first: even a half-failed down must make the next `doit` bring it up
    upstamp.forget_began(ws)  # the stack that comes up next is a new one
    stack = Stack(ws)
    doomed = stack.volumes() if volumes else []
    if doomed:
        print(f"   deleting {len(doomed)} volume(s) and the data in them: {', '.join(doomed)}", flush=True)
    stack.down(on_line=_indent, volumes=volumes)
    if volumes:
        migrations.forget(ws)
    elif stack.volumes():
        print("   data volumes kept; `doit down volumes=1` deletes them", flush=True)


def db_reset(ws: Workspace, service: str) -> None:
    """Remove `service`'s container and its volume, nothing else; the next `doit` brings it up empty."""
    data = {service for service, c in registry.load(ws).services.items() if is_data(c.runtime)}
    if service not in data:
        known = ", ".join(sorted(data)) or "none in this app"
        raise ConfigError(f"db-reset needs service=<a data service> (data services: {known})")
    volume = Stack(ws).remove_volume(service, volume_name(service))
    upstamp.path(ws).unlink(missing_ok=True)  # the next `doit` brings it up (and migrates it) again
    migrations.forget(ws, service)
    print(f"   deleted volume {volume}: the data of {service}; other services and volumes untouched", flush=True)


def logs(ws: Workspace, tail: int, service: str) -> None:
    stack = Stack(ws)
    names = [service] if service else sorted(stack.states())
    if not names:
        print("   no containers: run `doit up`")
    for name in names:
        print(f"== {name} (last {tail} lines) ==")
        print(stack.logs(name, tail=tail).rstrip() or "   (no output)")


def status(ws: Workspace) -> None:
    from genlib.stack import disk

    stack = Stack(ws)
    print(status_table(stack, ws))
    for line in migration_lines(ws, stack):
        print(line)
    print(disk.usage().line())


def migration_lines(ws: Workspace, stack: Stack) -> list[str]:
    """Per database: the migrations it has applied (asked of it when it runs, else what the last `up` saw)."""
    if not ws.registry_path.exists():
        return []
    states, recorded = stack.states(), migrations.load_state(ws)
    lines = []
    for service, comp in registry.load(ws).services.items():
        if comp.runtime != "postgres":
            continue
        state = states.get(service)
        if state is not None and state.ok:
            done, where = migrations.applied(stack, service), ""
        else:
            done, where = (recorded[service].applied if service in recorded else {}), " (when it last ran)"
        names = ", ".join(sorted(done)) or "none"
        lines.append(f"migrations of {service}{where}: {len(done)} applied: {names}")
    return lines


def status_table(stack: Stack, ws: Workspace) -> str:
    """One row per service of docker-compose.yml and any leftover container: state, health, URL."""
    states = stack.states()
    host_ports = ports.load(ws)
    rows = [("SERVICE", "STATE", "HEALTH", "RESTARTS", "URL")]
    for name in sorted(set(states) | set(host_ports) | _compose_names(ws)):
        st = states.get(name)
        state = "absent" if st is None else st.state + (f" ({st.exit_code})" if st.state == "exited" else "")
        health = (st.health if st else None) or "-"
        url = f"http://127.0.0.1:{host_ports[name]}/" if name in host_ports else "-"
        rows.append((name, state, health, str(st.restart_count) if st else "-", url))
    return "\n".join([*columns(rows), f"host ports: {ports.origin(ws)}"])


def _compose_names(ws: Workspace) -> set[str]:
    return set(compose_services(ws.compose_path)) if ws.compose_path.exists() else set()


def _indent(line: str) -> None:
    print(f"   {line}", flush=True)
