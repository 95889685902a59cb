"""Data services without Docker: what registry, compose and the answer rules make of postgres and redis."""

from __future__ import annotations

import pytest
import yaml
from conftest import add_iteration, run_doit

from genlib.answer.rules import Baseline, Limits, check_migrations, check_stored
from genlib.app.dataservices import ensure_password, known_secrets
from genlib.documents.llm_output import Answer, ComponentSpec, FileSpec
from genlib.errors import OutputError
from genlib.fsutil import sha256_bytes
from genlib.stack import migrations
from genlib.workspace import Workspace

Files = tuple[str, str]


def rendered(ws: Workspace) -> dict[str, dict[str, object]]:
    add_iteration(ws, "iter_001_ledger", "ledger")
    run = run_doit(ws, "compose")
    assert run.returncode == 0, run.output
    services: dict[str, dict[str, object]] = yaml.safe_load(ws.compose_path.read_text())["services"]
    return services


def test_data_services_get_a_volume_a_healthcheck_and_no_host_port(workspace: Workspace) -> None:
    services = rendered(workspace)
    db, cache = services["db-backend"], services["cache-backend"]
    assert db["volumes"] == [{"type": "volume", "source": "db-backend-data", "target": "/var/lib/postgresql/data"}]
    assert cache["volumes"] == [{"type": "volume", "source": "cache-backend-data", "target": "/data"}]
    assert "pg_isready" in db["healthcheck"]["test"] and "ping" in cache["healthcheck"]["test"]  # type: ignore[index]
    assert "ports" not in db and "ports" not in cache
    for confined in (db, cache):  # the volume is the only writable mount besides the tmpfs
        assert confined["read_only"] is True and confined["cap_drop"] == ["ALL"] and confined["user"] != "0"
    top = yaml.safe_load(workspace.compose_path.read_text())["volumes"]
    assert sorted(top) == ["cache-backend-data", "db-backend-data"]


def test_dependents_wait_for_healthy_data_and_get_their_urls(workspace: Workspace) -> None:
    api = rendered(workspace)["ledger-api"]
    assert api["depends_on"] == {
        "cache-backend": {"condition": "service_healthy"},
        "db-backend": {"condition": "service_healthy"},
    }
    env = api["environment"]
    assert isinstance(env, dict)
    assert env["REDIS_URL"] == env["CACHE_BACKEND_URL"] == "redis://cache-backend:6379/0"
    assert env["DATABASE_URL"] == env["DB_BACKEND_URL"]
    assert env["DATABASE_URL"].startswith("postgresql://app:${GENLIB_DB_PASSWORD:?")
    assert env["DATABASE_URL"].endswith("}@db-backend:5432/app")


def test_the_password_stays_in_the_git_ignored_env_file_compose_reads_itself(workspace: Workspace) -> None:
    rendered(workspace)
    env_file = workspace.root / ".env"  # Compose reads it from the project folder: no --env-file needed
    assert env_file.stat().st_mode & 0o777 == 0o600
    assert ".env" in (workspace.root / ".gitignore").read_text().split()
    [password] = known_secrets(workspace)
    assert len(password) == 48
    for generated in (workspace.registry_path, workspace.compose_path):
        assert password not in generated.read_text()
    ensure_password(workspace)  # kept: the database in the volume was made with it
    assert known_secrets(workspace) == [password]


def test_an_older_workspace_keeps_its_password_and_a_person_s_env_lines(workspace: Workspace) -> None:
    """The database in the volume was made with the password of .genlib/db.env: it moves to .env, whose
    other lines (a person's Compose habits) stay."""
    workspace.state_dir.mkdir(exist_ok=True)
    (workspace.state_dir / "db.env").write_text("# genlib\nGENLIB_DB_PASSWORD=" + "ab" * 24 + "\n")
    (workspace.root / ".env").write_text("COMPOSE_HTTP_TIMEOUT=200\n")
    (workspace.root / ".gitignore").write_text("node_modules/\n")
    ensure_password(workspace)
    assert known_secrets(workspace) == ["ab" * 24]
    text = (workspace.root / ".env").read_text()
    assert text.startswith("COMPOSE_HTTP_TIMEOUT=200\n") and text.count("GENLIB_DB_PASSWORD=") == 1
    assert (workspace.root / ".env").stat().st_mode & 0o777 == 0o600
    assert (workspace.root / ".gitignore").read_text().split() == ["node_modules/", ".env"]
    assert not (workspace.state_dir / "db.env").exists()  # one place for it


@pytest.mark.parametrize(
    ("component", "files", "why"),
    [
        ({"runtime": "postgres", "command": ["postgres"]}, [], "give it no command"),
        ({"runtime": "redis", "port": 6380}, [], "give it no command, port"),
        ({"runtime": "postgres"}, [("backend/db/seed.py", "print()")], "only .sql migrations"),
        ({"runtime": "redis"}, [("backend/db/redis.conf", "save 60 1")], "holds no files"),
    ],
)
def test_a_data_component_holds_no_program(component: dict[str, object], files: list[Files], why: str) -> None:
    spec = ComponentSpec.model_validate({"name": "db", "layer": "backend", **component})
    answer = Answer(components=[spec], files=[FileSpec(path=p, content=c) for p, c in files])
    with pytest.raises(OutputError, match=why):
        check_stored(answer, set(), Limits())


def test_a_model_may_not_change_an_applied_migration(workspace: Workspace) -> None:
    schema = "CREATE TABLE entries (id serial);\n"
    outcome = migrations.Outcome(applied={"001_schema.sql": sha256_bytes(schema.encode())})
    migrations.save_state(workspace, {"db-backend": outcome})
    database = ComponentSpec.model_validate({"name": "db", "layer": "backend", "runtime": "postgres"})
    current = Baseline(applied=migrations.recorded(workspace, [database]))

    def sending(path: str, content: str) -> Answer:
        return Answer(files=[FileSpec(path=path, content=content)])

    check_migrations(sending("backend/db/001_schema.sql", schema), current)  # resent unchanged: fine
    check_migrations(sending("backend/db/002_tags.sql", "CREATE TABLE tags ();"), current)  # the way
    with pytest.raises(OutputError, match="never change an applied migration: add a new file"):
        check_migrations(sending("backend/db/001_schema.sql", schema + "-- more\n"), current)
