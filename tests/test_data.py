"""Data services and migrations on the real engine: the ledger app (postgres + redis + a stdlib API).

Counts what was done: migrations applied per run, rows kept, volumes left.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from conftest import APPS, DoitRun, add_iteration, run_doit, wait_for_base_image
from ollama_server import ScriptedOllama

from genlib.app.dataservices import known_secrets
from genlib.app.iterations import head, write_iteration
from genlib.config import OFFLINE_DATA_IMAGES
from genlib.documents.llm_output import FORMAT, Answer, FileSpec, LLMOutput, dump_output
from genlib.documents.scenarios import TestFile, load_tests, merge_model_scenarios, parse_scenarios, save_tests
from genlib.stack import ports
from genlib.stack.compose_file import compose_cli
from genlib.stack.engine import Stack
from genlib.workspace import Workspace

pytestmark = pytest.mark.docker

LEDGER = APPS / "ledger" / "llm_output.json"
PSQL = ["psql", "-X", "-A", "-t", "-U", "app", "-d", "app", "-c"]
TAGS = "CREATE TABLE tags (name text PRIMARY KEY);\nINSERT INTO tags VALUES ('home');\n"


@pytest.fixture
def ledger(engine: Workspace, monkeypatch: pytest.MonkeyPatch) -> Iterator[Workspace]:
    """The ledger app as iteration 1, its scenarios in test.yaml; volumes removed afterwards."""
    # A whole CPU each: at half of one, a python healthcheck on a loaded machine can miss its 3 s.
    monkeypatch.setenv("GENLIB_CPUS", "1")
    for image in OFFLINE_DATA_IMAGES.values():
        wait_for_base_image(image=image)
    add_iteration(engine, "iter_001_ledger", LEDGER)
    proposed = parse_scenarios(json.loads(LEDGER.read_text())["answer"]["scenarios"])
    save_tests(engine.tests_path, merge_model_scenarios(TestFile(), proposed, "iter_001_ledger")[0])
    yield engine
    Stack(engine).down(volumes=True)


def green(ws: Workspace) -> DoitRun:
    run = run_doit(ws)
    assert run.returncode == 0, run.output
    return run


def sql(ws: Workspace, query: str) -> tuple[int, str]:
    return Stack(ws).exec("db-backend", [*PSQL, query])


def rows(ws: Workspace, table: str) -> int:
    code, output = sql(ws, f"select count(*) from {table}")
    assert code == 0, output
    return int(output.strip())


def add_patch(ws: Workspace, files: dict[str, str]) -> None:
    """A patch iteration holding `files`, as heal writes one."""
    answer = Answer(files=[FileSpec(path=p, content=c) for p, c in files.items()])
    output = LLMOutput(format=FORMAT, kind="patch", description="patch", answer=answer)
    write_iteration(ws, "patch", {"llm_output.json": dump_output(output)})


def new_migrations(run: DoitRun) -> list[int]:
    """How many files each database applied in this run (`migrations of db-backend: N new, ...`)."""
    return [int(line.split(": ", 1)[1].split()[0]) for line in run.output.splitlines() if "migrations of " in line]


def volumes(ws: Workspace) -> list[str]:
    return [name.removeprefix(ws.project_name + "_") for name in Stack(ws).volumes()]


def test_data_survives_recreates_and_down_and_only_volumes_1_deletes_it(ledger: Workspace) -> None:
    first = run_doit(ledger)
    assert first.returncode == 0, first.output
    assert new_migrations(first) == [1]
    assert sql(ledger, "insert into entries (text) values ('rent')")[0] == 0
    password = known_secrets(ledger)[0]
    assert oct((ledger.root / ".env").stat().st_mode & 0o777) == "0o600"
    it = head(ledger)
    assert it is not None
    written = [ledger.registry_path, ledger.compose_path, it.results, *it.logs_dir.glob("*.log")]
    assert not [p.name for p in written if password in p.read_text()]

    stack = Stack(ledger)
    stack.force_recreate()  # every container replaced, as an edit or a heal round does to its service
    down = run_doit(ledger, "down")
    assert "data volumes kept; `doit down volumes=1` deletes them" in down.output
    again = run_doit(ledger)
    assert again.returncode == 0, again.output
    assert new_migrations(again) == [0]
    assert rows(ledger, "entries") == 2  # the fixture's row and ours

    gone = run_doit(ledger, "down", "volumes=1")
    assert gone.returncode == 0, gone.output
    assert "deleting 2 volume(s) and the data in them:" in gone.output and "db-backend-data" in gone.output
    assert volumes(ledger) == []


def test_compose_by_hand_works_in_the_workspace_folder_and_the_password_stays_out_of_git(ledger: Workspace) -> None:
    """`docker-compose ps`, `logs -f` and `exec db-backend psql` with no flags, as Compose users type them."""
    green(ledger)
    cli = compose_cli()
    assert cli is not None

    def by_hand(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*cli, *args], cwd=ledger.root, capture_output=True, text=True, timeout=120)

    ps = by_hand("ps")
    assert ps.returncode == 0 and "db-backend" in ps.stdout, ps.stderr
    query = by_hand("exec", "-T", "db-backend", "psql", "-A", "-t", "-c", "select count(*) from entries")
    assert (query.returncode, query.stdout.strip()) == (0, "1"), query.stderr
    follow = subprocess.Popen([*cli, "logs", "-f"], cwd=ledger.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(3)
    assert follow.poll() is None  # still following
    follow.terminate()
    out, err = follow.communicate(timeout=30)
    assert b"db-backend" in out and b"ready to accept connections" in out, err

    password = known_secrets(ledger)[0]
    env_file = ledger.root / ".env"
    assert env_file.stat().st_mode & 0o777 == 0o600
    subprocess.run(["git", "init", "-q"], cwd=ledger.root, check=True)
    assert subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=ledger.root).returncode == 0
    subprocess.run(["git", "add", "-A"], cwd=ledger.root, check=True)
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ledger.root, capture_output=True, check=True).stdout
    leaks = [name for name in tracked.decode().split("\0") if name and password in (ledger.root / name).read_text()]
    assert leaks == []


def test_a_workspace_from_before_env_still_goes_down_with_its_volumes(ledger: Workspace) -> None:
    """A workspace whose password is still in .genlib/db.env (an older genlib) can be stopped before its next
    `doit` moves it: `doit down volumes=1` must still reach Compose, which needs the password."""
    green(ledger)
    env = ledger.root / ".env"
    (ledger.state_dir / "db.env").write_text(env.read_text())
    env.unlink()
    gone = run_doit(ledger, "down", "volumes=1")
    assert gone.returncode == 0, gone.output
    assert volumes(ledger) == [] and known_secrets(ledger)  # moved to .env, and the volumes deleted


def test_migrations_apply_once_in_order_and_a_failing_file_changes_nothing(ledger: Workspace) -> None:
    green(ledger)
    assert sql(ledger, "insert into entries (text) values ('kept')")[0] == 0

    add_patch(ledger, {"backend/db/002_tags.sql": TAGS.replace("INTO tags", "INTO tag")})
    failing = run_doit(ledger)
    assert failing.returncode == 1 and new_migrations(failing) == [0]
    results = json.loads((ledger.iterations_dir / "iter_002_patch" / "results.json").read_text())
    failed = [r for r in results["results"] if r["status"] == "failed" and r["kind"] == "migrations"]
    assert [r["name"] for r in failed] == ["migrations db-backend"]
    assert 'psql:backend/db/002_tags.sql:2: ERROR:  relation "tag" does not exist' in failed[0]["reason"], failed
    assert sql(ledger, "select 1 from tags")[0] != 0  # its CREATE TABLE was rolled back with it
    assert rows(ledger, "entries") == 2

    fixed = ledger.iterations_dir / "iter_002_patch" / "backend/db/002_tags.sql"
    fixed.write_text(f"BEGIN;\n{TAGS}COMMIT;\n")  # never applied, so it may still change
    own_transaction = run_doit(ledger)
    assert own_transaction.returncode == 1 and new_migrations(own_transaction) == [0], own_transaction.output
    assert "backend/db/002_tags.sql:1: BEGIN is not allowed" in own_transaction.output
    assert sql(ledger, "select 1 from tags")[0] != 0
    fixed.write_text(TAGS)
    applied = run_doit(ledger)
    assert applied.returncode == 0, applied.output
    assert new_migrations(applied) == [1] and rows(ledger, "tags") == 1 and rows(ledger, "entries") == 2
    second = run_doit(ledger, "up")  # up-to-date, or (a probe slow on a busy machine) run again: applies nothing
    assert second.returncode == 0 and new_migrations(second) in ([], [0]), second.output
    assert rows(ledger, "genlib_migrations") == 2

    schema = ledger.iterations_dir / "iter_001_ledger" / "backend/db/001_schema.sql"
    schema.write_text(schema.read_text() + "ALTER TABLE entries ADD COLUMN amount int;\n")
    stopped = run_doit(ledger)
    assert stopped.returncode == 2
    errors = [line for line in stopped.output.splitlines() if line.startswith("ERROR:")]
    assert len(errors) == 1 and "backend/db/001_schema.sql was already applied to db-backend" in errors[0]
    assert "doit db-reset service=db-backend" in errors[0]

    reset = run_doit(ledger, "db-reset", "service=db-backend")
    assert reset.returncode == 0, reset.output
    assert "deleted volume" in reset.output and volumes(ledger) == ["cache-backend-data"]
    fresh = run_doit(ledger)
    assert fresh.returncode == 0, fresh.output
    assert new_migrations(fresh) == [2] and rows(ledger, "entries") == 1
    status = run_doit(ledger, "status")
    assert "migrations of db-backend: 2 applied: 001_schema.sql, 002_tags.sql" in status.output


def test_heal_adds_a_missing_table_and_keeps_the_rows(ledger: Workspace, ollama: ScriptedOllama) -> None:
    """The model first edits the applied schema (refused, fed back), then adds the next migration."""
    green(ledger)
    assert sql(ledger, "insert into entries (text) values ('kept')")[0] == 0
    needs_tags = {"name": "tags table", "kind": "exec", "service": "db-backend",
                  "command": [*PSQL, "select count(*) from tags"], "expect": {"exit_code": 0}}  # fmt: skip
    tests = TestFile(scenarios=[*parse_scenarios([needs_tags])])
    save_tests(ledger.tests_path, tests)
    assert run_doit(ledger).returncode == 1
    schema = (APPS / "ledger" / "src" / "backend/db/001_schema.sql").read_text()
    edit = {"summary": "add tags", "files": [{"path": "backend/db/001_schema.sql", "content": schema + TAGS}]}
    add = {"summary": "add tags", "files": [{"path": "backend/db/002_tags.sql", "content": TAGS}]}
    ollama.enqueue(json.dumps(edit), json.dumps(add))

    run = run_doit(ledger, "heal", timeout=900)
    assert run.returncode == 0, run.output
    assert len(ollama.app_chats()) == 2, run.output  # in steps: refused at the header, before any file
    assert "never change an applied migration" in ollama.app_chats()[1]["messages"][-1]["content"]
    assert new_migrations(run) == [1]
    assert rows(ledger, "tags") == 1 and rows(ledger, "entries") == 2


def test_a_logs_scenario_reads_the_stack_under_test_and_a_dependent_restarts_on_a_new_migration(
    ledger: Workspace,
) -> None:
    """The API printed the error before the fix; the fix is a migration only, so Compose keeps the API's
    container. genlib restarts it (the database it reads changed), and the logs scenario reads what it printed
    since, and says so."""
    tests = load_tests(ledger.tests_path)
    clean = parse_scenarios([{"name": "api log clean", "kind": "logs", "service": "ledger-api",
                              "must_not_contain": ["GET /broken"]}])  # fmt: skip
    save_tests(ledger.tests_path, tests.model_copy(update={"scenarios": [*tests.scenarios, *clean]}))
    green(ledger)
    before = Stack(ledger).states()["ledger-api"]
    port = ports.load(ledger)["ledger-api"]
    assert httpx.get(f"http://127.0.0.1:{port}/broken", timeout=10, trust_env=False).status_code == 404
    assert "GET /broken" in "".join(text for _, text in Stack(ledger).log_lines("ledger-api"))

    add_patch(ledger, {"backend/db/002_tags.sql": TAGS})  # the fix: the database's, not the API's
    fixed = run_doit(ledger)
    assert fixed.returncode == 0, fixed.output
    assert new_migrations(fixed) == [1]
    assert "restarting ledger-api: db-backend has new migrations" in fixed.output
    after = Stack(ledger).states()["ledger-api"]
    api = Stack(ledger).container("ledger-api")
    after_started = str(api.attrs["State"]["StartedAt"])[:19] + "Z" if api else None  # Docker's word, to the second
    assert after.container_id == before.container_id  # not recreated: its files did not change
    assert after.started_at and before.started_at and after.started_at > before.started_at  # restarted
    results = json.loads((ledger.iterations_dir / "iter_002_patch" / "results.json").read_text())["results"]
    logs = next(r for r in results if r["name"] == "api log clean")
    assert logs["status"] == "passed" and logs["reason"].endswith("log line(s) checked"), logs
    assert logs["evidence"]["window"] == f"since ledger-api last started, {after_started}"
    digest = (ledger.iterations_dir / "iter_002_patch" / "logs" / "ledger-api.log").read_text()
    assert digest.startswith("[genlib: ") and "since ledger-api last started" in digest.splitlines()[0]


BUSY = (
    "import time\nend = time.monotonic() + 240\nwhile time.monotonic() < end:\n    pass\n"  # bounded: 4 minutes at most
)


def test_two_workspaces_of_the_same_app_come_up_side_by_side_under_load(ledger: Workspace, tmp_path: Path) -> None:
    """Issue 24, item 7: two workspaces of one app, each `doit` right after its gen, on a loaded machine. The second
    is a `cp -r` of the first, as a person tries the same app twice: it carries the first one's .genlib/ (its
    ports, up stamp, images, doit's database), and kept the first one's host ports: its `up` always failed."""
    built = [run_doit(ledger, "compose")]  # what gen runs
    subprocess.run(["cp", "-r", str(ledger.root), str(tmp_path / "twin")], check=True, timeout=60)
    twin = Workspace(tmp_path / "twin")
    busy = [subprocess.Popen([sys.executable, "-c", BUSY]) for _ in range(3)]  # more work than cores
    try:
        with ThreadPoolExecutor(2) as pool:
            runs = list(pool.map(run_doit, [ledger, twin]))
    finally:
        for loop in busy:
            loop.kill()
            loop.wait()
        Stack(twin).down(volumes=True)
    for run in [*built, *runs]:
        assert run.returncode == 0, run.output
        assert "has no container" not in run.output
    assert not set(ports.load(ledger).values()) & set(ports.load(twin).values())
