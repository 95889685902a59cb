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


def test_the_password_stays_in_its_private_file(workspace: Workspace) -> None:
    rendered(workspace)
    env_file = workspace.state_dir / "db.env"
    assert env_file.stat().st_mode & 0o777 == 0o600
    [password] = known_secrets(workspace)
    assert len(password) == 48
    for generated in (workspace.registry_path, workspace.compose_path):
        assert password not in generated.read_text()
    ensure_password(workspace)  # kept: the database in the volume was made with it
    assert known_secrets(workspace) == [password]


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
