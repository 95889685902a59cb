"""Data services: components of runtime `postgres` and `redis`.

They hold no program. genlib runs the runtime's image with its data in a named
volume (`<service>-data`, per workspace: Compose prefixes it with the project),
a healthcheck, and tells each dependent where to find it (`DATABASE_URL`,
`REDIS_URL`, and `<SERVICE>_URL` as for every service). A postgres component
may hold `.sql` files: its migrations (genlib.stack.migrations).

The database password is generated once per workspace into `.env` (mode 600,
listed in `.gitignore`), the file Compose reads itself from the workspace folder, so
`docker-compose ps`, `logs -f` and `exec db-backend psql` work there with no flags.
It reaches containers only through Compose's interpolation of `${GENLIB_DB_PASSWORD}`:
it is in no generated file, prompt or result.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from genlib.fsutil import atomic_write_text
from genlib.workspace import Workspace

DB_USER: Final = "app"
DB_NAME: Final = "app"
PASSWORD_VAR: Final = "GENLIB_DB_PASSWORD"
ENV_FILE: Final = ".env"  # in the workspace folder: Compose reads it there by itself
_OLD_ENV_FILE: Final = "db.env"  # in .genlib/, where older genlibs kept it
# Compose stops with this message when the variable is missing.
PASSWORD_REF = f"${{{PASSWORD_VAR}:?missing in {ENV_FILE}: run doit}}"


@dataclass(frozen=True)
class DataRuntime:
    """How one data runtime runs: everything docker-compose.yml.j2 needs besides the image."""

    port: int
    scheme: str
    url_variable: str  # the conventional variable its dependents read
    data_dir: str  # where the named volume is mounted
    user: str  # the official images' uid, which genlib's offline images share
    tmpfs: tuple[str, ...]
    command: tuple[str, ...] | None  # None: the image's own
    health: tuple[str, ...]


RUNTIMES: Final = {
    "postgres": DataRuntime(
        port=5432,
        scheme="postgresql",
        url_variable="DATABASE_URL",
        data_dir="/var/lib/postgresql/data",
        user="999:999",
        tmpfs=("/tmp", "/var/run/postgresql"),  # the server's socket and lock file
        command=None,
        # TCP, not the socket: the official image's first-start server listens on the socket only.
        health=("CMD", "pg_isready", "-q", "-h", "127.0.0.1", "-U", DB_USER, "-d", DB_NAME),
    ),
    "redis": DataRuntime(
        port=6379,
        scheme="redis",
        url_variable="REDIS_URL",
        data_dir="/data",
        user="999:999",
        tmpfs=("/tmp",),
        # Only the stack's own network reaches it (no published port), hence no protected mode.
        command=("redis-server", "--dir", "/data", "--appendonly", "yes", "--protected-mode", "no"),
        health=("CMD", "redis-cli", "ping"),
    ),
}


def is_data(runtime: str) -> bool:
    return runtime in RUNTIMES


def volume_name(service: str) -> str:
    """The volume's name in docker-compose.yml (Compose prefixes `<project>_`)."""
    return f"{service}-data"


def url(runtime: str, service: str) -> str:
    """What a dependent gets to reach `service`; the password stays a Compose variable."""
    data = RUNTIMES[runtime]
    if runtime == "postgres":
        return f"{data.scheme}://{DB_USER}:{PASSWORD_REF}@{service}:{data.port}/{DB_NAME}"
    return f"{data.scheme}://{service}:{data.port}/0"


def environment(runtime: str) -> dict[str, str]:
    """The data service's own environment (the official images' variables)."""
    if runtime == "postgres":
        # PGUSER/PGDATABASE: `docker-compose exec db-backend psql` connects with no flags
        own = {"POSTGRES_USER": DB_USER, "POSTGRES_DB": DB_NAME, "POSTGRES_PASSWORD": PASSWORD_REF}
        return own | {"PGUSER": DB_USER, "PGDATABASE": DB_NAME}
    return {}


# -- the password ---------------------------------------------------------------------------------


def env_file(ws: Workspace) -> Path:
    return ws.root / ENV_FILE


def ensure_password(ws: Workspace) -> Path:
    """Give .env (mode 600, git-ignored) the database password unless it has one; return its path.

    An older workspace's .genlib/db.env moves there (its database was made with that password);
    a person's own lines in .env stay."""
    path = env_file(ws)
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if _password_in(text) is None:
        old = ws.state_dir / _OLD_ENV_FILE
        # token_hex: nothing a URL, YAML or Compose's `$` would have to escape.
        password = (_password_in(old.read_text(encoding="utf-8")) if old.exists() else None) or secrets.token_hex(24)
        lead = text if not text or text.endswith("\n") else text + "\n"
        text = f"{lead}# genlib: this workspace's database password (keep it out of git)\n{PASSWORD_VAR}={password}\n"
        atomic_write_text(path, text, mode=0o600)
        old.unlink(missing_ok=True)
    path.chmod(0o600)
    _ignore(ws.root / ".gitignore", ENV_FILE)
    return path


def move_old_password(ws: Workspace) -> None:
    """An older genlib's .genlib/db.env into .env, before Compose runs (`doit down` may come before `doit`)."""
    if (ws.state_dir / _OLD_ENV_FILE).exists():
        ensure_password(ws)


def _password_in(text: str) -> str | None:
    found = [line.split("=", 1)[1].strip() for line in text.splitlines() if line.startswith(f"{PASSWORD_VAR}=")]
    return next((value for value in found if value), None)


def _ignore(gitignore: Path, name: str) -> None:
    """List `name` in the workspace's .gitignore (made by `genlib init`; an older one may lack it)."""
    text = gitignore.read_text(encoding="utf-8") if gitignore.exists() else ""
    if name not in text.split():
        lead = text if not text or text.endswith("\n") else text + "\n"
        atomic_write_text(gitignore, f"{lead}{name}\n")


def known_secrets(ws: Workspace) -> list[str]:
    """The workspace's secret values, for redaction of logs, evidence and prompts."""
    try:
        text = env_file(ws).read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    password = _password_in(text)
    return [password] if password else []
