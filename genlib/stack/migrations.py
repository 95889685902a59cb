"""The `.sql` files of a postgres component are migrations, applied in file-name order.

    001_schema.sql, 002_tags.sql, ...   each applied once, in one transaction,
                                        recorded (name, sha256) in genlib_migrations
                                        inside that database

`up` applies the new ones once the database is healthy and before its dependents
start (stack_actions.up). A failing file leaves the database as it was, is not
recorded, and becomes a failed result (psql's message, with file and line) that
heal reads; it may be fixed, since it never ran. A file already applied may not
change: a model's answer doing so is refused (`rules.check_migrations`), a person's edit stops
`doit` (MigrationChanged) naming the two ways out.

What the last `up` saw is kept in .genlib/migrations.json for `doit test`,
`doit status` and the answer check: the database itself is the truth.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from genlib.answer import rules
from genlib.app import registry
from genlib.app.dataservices import DB_NAME, DB_USER
from genlib.documents.llm_output import ComponentSpec
from genlib.documents.scenarios import TestFile
from genlib.errors import MigrationChanged, MigrationError, RegistryError
from genlib.fsutil import atomic_write_text, read_json_object
from genlib.workspace import Workspace

if TYPE_CHECKING:
    from genlib.app.registry import Entry

TABLE = "genlib_migrations"
STATE_FILE = "migrations.json"
_PSQL = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-U", DB_USER, "-d", DB_NAME]
_TIMEOUT_S = 120.0
# A file's own BEGIN/COMMIT would end genlib's transaction early: half a file could commit unrecorded.
_TRANSACTION_CONTROL = re.compile(r"(?im)^[ \t]*(begin|commit|rollback|start[ \t]+transaction)[ \t]*;")


class Executor(Protocol):
    """What applying needs of the stack (engine.Stack): a command run in a service, with input."""

    def exec_input(self, service: str, cmd: list[str], data: bytes, timeout: float) -> tuple[int, str]: ...


@dataclass(frozen=True)
class Migration:
    name: str  # the path inside the component: 001_schema.sql
    path: str  # the path in the app: backend/db/001_schema.sql
    source: Path
    sha256: str

    @property
    def sql(self) -> bytes:
        return self.source.read_bytes()


@dataclass
class Outcome:
    """One database after `apply`: every file applied so far, and the one that failed (if any)."""

    applied: dict[str, str] = field(default_factory=dict)  # name -> sha256
    new: list[str] = field(default_factory=list)  # applied by this run
    failed: dict[str, str] | None = None  # {"file": path, "error": psql's message}


def of_component(ws: Workspace, comp: Entry) -> list[Migration]:
    """A registry entry's .sql files, in file-name order (the path inside the component decides)."""
    found = []
    for f in comp.files:
        if f.path.endswith(".sql"):
            name = f.path.split("/", 2)[2]
            source = ws.iterations_dir / f.iteration / f.path
            found.append(Migration(name, f.path, source, f.sha256))
    return sorted(found, key=lambda m: m.name)


def applied(stack: Executor, service: str) -> dict[str, str]:
    """name -> sha256 of what the database has applied (its table is created on first use)."""
    sql = (
        "SET client_min_messages = warning;\n"
        f"CREATE TABLE IF NOT EXISTS {TABLE} (name text PRIMARY KEY, sha256 text NOT NULL,"
        " applied_at timestamptz NOT NULL DEFAULT now());\n"
        f"SELECT name || ' ' || sha256 FROM {TABLE} ORDER BY name;\n"
    )
    code, output = stack.exec_input(service, [*_PSQL, "-A", "-t", "-f", "-"], sql.encode(), _TIMEOUT_S)
    if code != 0:
        problem = _first_error(output)
        raise MigrationError(f"cannot read {TABLE} in {service}: {problem}; see `doit logs --service {service}`")
    return dict(line.split(" ", 1) for line in output.splitlines() if " " in line)


def changed(migrations: list[Migration], done: dict[str, str]) -> Migration | None:
    """The first file whose content differs from what was applied under its name."""
    return next((m for m in migrations if m.name in done and done[m.name] != m.sha256), None)


def apply(stack: Executor, service: str, migrations: list[Migration]) -> Outcome:
    """Apply the files not applied yet, in order, each in one transaction; stop at the first failure."""
    outcome = Outcome(applied=applied(stack, service))
    edited = changed(migrations, outcome.applied)
    if edited is not None:
        raise MigrationChanged(edited_message(edited.path, service))
    for m in migrations:
        if m.name in outcome.applied:
            continue
        control = _TRANSACTION_CONTROL.search(m.sql.decode(errors="replace"))
        if control:
            line = m.sql[: control.start(1)].count(b"\n") + 1
            outcome.failed = {
                "file": m.path,
                "error": f"{m.path}:{line}: {control.group(1).upper()} is not allowed: genlib runs each migration "
                "in one transaction of its own; remove it",
            }
            break
        code, output = stack.exec_input(service, [*_PSQL, "--single-transaction", "-f", "-"], _script(m), _TIMEOUT_S)
        if code != 0:
            outcome.failed = {"file": m.path, "error": _first_error(output).replace("<stdin>", m.path)}
            break
        outcome.applied[m.name] = m.sha256
        outcome.new.append(m.name)
    return outcome


def _script(m: Migration) -> bytes:
    """The file, then its record: both commit together, or neither does."""
    record = f"\n;\nINSERT INTO {TABLE} (name, sha256) VALUES ('{m.name}', '{m.sha256}');\n"
    return m.sql + record.encode()  # names are safe path segments: no quote can occur


def _first_error(output: str) -> str:
    """psql's ERROR line and the lines that explain it (LINE n, DETAIL, HINT), joined."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    start = next((i for i, line in enumerate(lines) if "ERROR:" in line or "FATAL:" in line or "error:" in line), 0)
    return " | ".join(lines[start : start + 4]) or "(no output)"


def edited_message(path: str, service: str) -> str:
    return (
        f"{path} was already applied to {service} and has changed since; put the change in a new file "
        f"(the next number), or reset that database with `doit db-reset service={service}` (deletes its data)"
    )


# -- what the last `up` saw ------------------------------------------------------------------------


def state_path(ws: Workspace) -> Path:
    return ws.state_dir / STATE_FILE


def load_state(ws: Workspace) -> dict[str, Outcome]:
    data = read_json_object(state_path(ws), fix="delete it; the next `doit up` writes it again") or {}
    return {
        service: Outcome(applied=dict(v.get("applied", {})), failed=v.get("failed"))
        for service, v in data.items()
        if isinstance(v, dict)
    }


def save_state(ws: Workspace, outcomes: dict[str, Outcome]) -> None:
    data = {s: {"applied": o.applied, "failed": o.failed} for s, o in sorted(outcomes.items())}
    atomic_write_text(state_path(ws), json.dumps(data, indent=2, sort_keys=True) + "\n")


def forget(ws: Workspace, service: str | None = None) -> None:
    """After a volume is deleted: its database has applied nothing any more."""
    outcomes = load_state(ws)
    for name in [service] if service else list(outcomes):
        outcomes.pop(name, None)
    save_state(ws, outcomes)


def summary(outcome: Outcome) -> str:
    """`2 applied (001_schema.sql, 002_tags.sql)`, and the failure if any."""
    names = ", ".join(sorted(outcome.applied))
    text = f"{len(outcome.applied)} applied" + (f" ({names})" if names else "")
    if outcome.failed:
        text += f"; {outcome.failed['file']} failed: {outcome.failed['error']}"
    return text


def baseline(ws: Workspace, tests: TestFile) -> rules.Baseline:
    """The app at HEAD as plain data for the answer rules, with what its databases already ran."""
    _, comps = registry.components(ws)
    tree = {}
    for comp in comps:
        for ref in comp.files:
            try:
                tree[ref.path] = ref.source.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise RegistryError(f"{ref.source} cannot be read ({exc}); run `doit materialize force=1`") from exc
    specs: dict[rules.Key, ComponentSpec] = {(c.spec.layer, c.spec.name): c.spec for c in comps}
    return rules.Baseline(specs, tree, tests, recorded(ws, list(specs.values())))


def recorded(ws: Workspace, specs: list[ComponentSpec]) -> dict[str, str]:
    """Each migration path a database of this app has run -> the sha256 of what it ran."""
    outcomes = load_state(ws)
    return {
        f"{spec.layer}/{spec.name}/{name}": sha
        for spec in specs
        if (done := outcomes.get(spec.service))
        for name, sha in done.applied.items()
    }
