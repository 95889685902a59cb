"""The Docker boundary: pure parsing and error translation (unmarked), then the real engine (`docker`)."""

from __future__ import annotations

import json
import socket
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import docker.errors
import pytest
import requests
import yaml
from conftest import APPS, BASE_IMAGE, add_iteration, notes_variant, run_doit

from genlib import process
from genlib.documents.scenarios import TestFile, parse_scenarios, save_tests
from genlib.errors import ComposeFailed, DockerError, DockerUnavailable, ImageMissing
from genlib.stack import baseimage, compose_file, engine, engine_api, health
from genlib.stack.engine import Stack
from genlib.stack.health import ServiceFailure, ServiceState, UpResult
from genlib.workspace import Workspace

NOTES_SERVICES = ["digest-workers", "notes-api", "web-frontend"]
SERVER_JS = "iterations/iter_001_notes/api/notes/server.js"

# -- pure parts ----------------------------------------------------------------------------------


def test_classify_compares_container_ids_per_service() -> None:
    before = {"a": "1", "b": "2", "gone": "9"}
    result = health.classify(before, {"a": "1", "b": "3", "c": "4"})
    assert (result.created, result.recreated, result.unchanged) == (["c"], ["b"], ["a"])


@pytest.mark.parametrize(
    "output",
    [
        "Error response from daemon: driver failed programming external connectivity on endpoint "
        "p-notes-api-1 (ab12): Bind for 127.0.0.1:18335 failed: port is already allocated",
        "Error starting userland proxy: listen tcp4 127.0.0.1:18335: bind: address already in use",
    ],
)
def test_port_in_use_reads_both_docker_messages(output: str) -> None:
    assert health.port_in_use(output) == 18335


def test_port_in_use_ignores_other_failures() -> None:
    assert health.port_in_use("dependency failed to start: container p-notes-api-1 exited (1)") is None


def test_published_ports_map_host_ports_to_services(tmp_path: Path) -> None:
    path = tmp_path / "docker-compose.yml"
    services = {
        "api": {"image": "node", "ports": ["127.0.0.1:18001:3000"]},
        "worker": {"image": "python"},
    }
    path.write_text(yaml.safe_dump({"services": services}))
    assert compose_file.published_ports(path) == {"api": 18001}
    assert compose_file.service_of_port(path, 18001) == "api"
    assert compose_file.service_of_port(path, 1) == "?"
    assert compose_file.compose_images(path) == ["node", "python"]


def test_a_missing_compose_file_says_which_task_makes_it(tmp_path: Path) -> None:
    with pytest.raises(ComposeFailed, match=r"docker-compose.yml is missing; run `doit compose`"):
        compose_file.compose_services(tmp_path / "docker-compose.yml")


@pytest.mark.parametrize(
    ("state", "ok", "problem"),
    [
        (ServiceState("s", "id", "running", None, 0, 0), True, ""),
        (ServiceState("s", "id", "running", "healthy", 0, 0), True, ""),
        (ServiceState("s", "id", "running", "unhealthy", 0, 0), False, "is unhealthy"),
        (ServiceState("s", "id", "exited", None, 1, 0), False, "exited with code 1"),
        (
            ServiceState("s", "id", "exited", None, 137, 0, oom_killed=True),
            False,
            "exited with code 137: killed for "
            "using more memory than its limit (use less, e.g. fewer workers or smaller batches; or raise the `memory` "
            "setting)",
        ),
        (ServiceState("s", "id", "created", None, 0, 0), False, "is created"),
    ],
)
def test_service_state_says_what_is_wrong(state: ServiceState, ok: bool, problem: str) -> None:
    assert (state.ok, state.problem()) == (ok, problem)


def test_a_failure_is_one_line_with_the_last_log_lines() -> None:
    logs = "\n".join(f"line {n}" for n in range(10)) + "\nError: boom\n\n"
    line = ServiceFailure("notes-api", "exited with code 1", logs).one_line()
    assert line == "notes-api exited with code 1; last log lines: line 6 | line 7 | line 8 | line 9 | Error: boom"


def test_up_summary_names_what_changed() -> None:
    result = UpResult(recreated=["notes-api"], unchanged=["a", "b"], duration_s=2.04)
    assert result.summary() == "1 recreated (notes-api), 2 unchanged in 2.0s"


def test_sdk_errors_become_genlib_errors() -> None:
    with pytest.raises(DockerUnavailable, match="is the Docker daemon running"), engine.docker_errors("list"):
        raise requests.exceptions.ConnectionError("refused")
    with pytest.raises(ImageMissing, match="genlib base-image"), engine.docker_errors("run"):
        raise docker.errors.ImageNotFound("No such image: x")
    with pytest.raises(DockerError, match="cannot start: conflict"), engine.docker_errors("start"):
        raise docker.errors.APIError("500 Server Error", explanation="conflict\nmore")
    late = "did not answer in time to list: the machine is too busy"
    with pytest.raises(DockerUnavailable, match=late), engine.docker_errors("list"):
        raise requests.exceptions.ReadTimeout("read timed out")


def test_a_dependency_image_gone_says_doit_builds_it() -> None:
    """`doit prune` in another workspace may remove it between this run's images task and its up."""
    assert engine._image_hint("genlib/deps:python-0123456789abcdef") == "run `doit` again: its images task builds it"
    assert "genlib base-image" in engine._image_hint("genlib/base:bookworm")


def test_no_daemon_is_one_line_with_the_next_step() -> None:
    # Unmarked tests point DOCKER_HOST at a dead socket: the real SDK meets no daemon.
    with pytest.raises(DockerUnavailable) as caught:
        engine.client()
    assert (
        str(caught.value)
        == "cannot reach Docker to connect: is the Docker daemon running? start dockerd or set DOCKER_HOST"
    )


def test_doit_up_without_a_daemon_fails_in_one_line(workspace: Workspace) -> None:
    add_iteration(workspace, "iter_001_notes", "notes")
    run = run_doit(workspace, "up")
    assert run.returncode == 2, run.output
    assert "ERROR: up: cannot reach Docker to connect: is the Docker daemon running?" in run.output
    assert "Traceback" not in run.output


def test_mirror_comes_from_apt_deb822_sources(tmp_path: Path) -> None:
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d/debian.sources").write_text(
        "Types: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\n\n"
        "Types: deb\n# a comment: here\nURIs: http://mirror.example/debian/\nSuites: bookworm bookworm-updates\n"
    )
    assert baseimage.mirror_from_apt(tmp_path) == "http://mirror.example/debian"


def test_mirror_comes_from_one_line_sources_or_falls_back(tmp_path: Path) -> None:
    (tmp_path / "sources.list.d").mkdir()
    assert baseimage.mirror_from_apt(tmp_path) == baseimage.FALLBACK_MIRROR
    (tmp_path / "sources.list").write_text(
        "# deb http://old/ bookworm main\ndeb [arch=amd64] http://m.example/d bookworm main\n"
    )
    assert baseimage.mirror_from_apt(tmp_path) == "http://m.example/d"


def test_rootfs_must_have_the_nobody_user(tmp_path: Path) -> None:
    assert not baseimage.has_nobody(tmp_path)
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    assert not baseimage.has_nobody(tmp_path)
    (tmp_path / "etc/passwd").write_text("nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n")
    assert baseimage.has_nobody(tmp_path)


# -- the real engine -----------------------------------------------------------------------------


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    for runtime in ("PYTHON", "NODE", "STATIC"):
        monkeypatch.setenv(f"GENLIB_IMAGE_{runtime}", BASE_IMAGE)
    monkeypatch.setenv("GENLIB_UP_TIMEOUT", "60")


def _stack_workspace(ws: Workspace, llm_output: Path) -> Iterator[Workspace]:
    add_iteration(ws, "iter_001_notes", llm_output)
    built = run_doit(ws, "compose")
    assert built.returncode == 0, built.output
    try:
        yield ws
    finally:
        Stack(ws).down()


@pytest.fixture
def notes(workspace: Workspace, offline: None) -> Iterator[Workspace]:
    yield from _stack_workspace(workspace, APPS / "notes/llm_output.json")


@pytest.fixture
def broken_notes(workspace: Workspace, offline: None, tmp_path: Path) -> Iterator[Workspace]:
    """The notes app whose api throws at start-up."""
    data = json.loads((APPS / "notes/llm_output.json").read_text())
    for f in data["answer"]["files"]:
        if f["path"] == "api/notes/server.js":
            f["content"] = 'console.log("starting");\nthrow new Error("notes store is corrupt");\n'
    broken = tmp_path / "broken_llm_output.json"
    broken.write_text(json.dumps(data))
    yield from _stack_workspace(workspace, broken)


@pytest.fixture
def hungry_notes(workspace: Workspace, offline: None, tmp_path: Path) -> Iterator[Workspace]:
    """The notes app whose worker asks for more memory than its container may have."""
    top = '"""Every few seconds'
    hog = "cache = bytearray(1024 * 1024 * 1024)  # every note, in memory\n"
    yield from _stack_workspace(workspace, notes_variant(tmp_path, {"workers/digest/worker.py": (top, hog + top)}))


@pytest.fixture
def wrong_port_notes(workspace: Workspace, offline: None, tmp_path: Path) -> Iterator[Workspace]:
    """The notes app whose api listens on 3001 while its health check asks 3000."""
    edit = ("Number(process.env.PORT || 3000)", "3001")
    yield from _stack_workspace(workspace, notes_variant(tmp_path, {"api/notes/server.js": edit}))


@pytest.fixture
def loopback_notes(workspace: Workspace, offline: None, tmp_path: Path) -> Iterator[Workspace]:
    """The notes app whose api listens on 127.0.0.1 only: its own container reaches it, nothing else does."""
    edit = (".listen(port, ", '.listen(port, "127.0.0.1", ')
    yield from _stack_workspace(workspace, notes_variant(tmp_path, {"api/notes/server.js": edit}))


def host_port(ws: Workspace, service: str) -> int:
    return compose_file.published_ports(ws.compose_path)[service]


@pytest.mark.docker
def test_notes_comes_up_healthy_and_answers(notes: Workspace) -> None:
    run = run_doit(notes, "up")
    assert run.returncode == 0, run.output
    assert "3 created (digest-workers, notes-api, web-frontend)" in run.output
    states = Stack(notes).states()
    assert sorted(states) == sorted([*NOTES_SERVICES, "genlib-gateway"])  # the gateway alone publishes ports
    assert all(st.ok for st in states.values()), states
    assert states["notes-api"].health == "healthy"
    url = f"http://127.0.0.1:{host_port(notes, 'notes-api')}/health"
    with urllib.request.urlopen(url, timeout=5) as answer:
        assert json.loads(answer.read()) == {"status": "ok"}


@pytest.mark.docker
def test_one_file_edit_recreates_exactly_one_container(notes: Workspace) -> None:
    assert run_doit(notes, "up").returncode == 0
    stack = Stack(notes)
    before = stack.container_ids()
    again = run_doit(notes, "up")
    assert again.skipped[-1:] == ["up"], again.output  # nothing changed: the stack is not touched

    server = notes.root / SERVER_JS
    server.write_text(server.read_text() + "// edited by hand\n")
    edited = run_doit(notes, "up")
    assert edited.returncode == 0, edited.output
    after = stack.container_ids()
    changed = sorted(name for name in after if after[name] != before[name])
    assert changed == ["notes-api"]
    assert "1 recreated (notes-api), 2 unchanged" in edited.output
    assert all(st.ok for st in stack.states().values())


@pytest.mark.docker
def test_up_runs_again_when_the_stack_is_not_running(notes: Workspace) -> None:
    assert run_doit(notes, "up").returncode == 0
    stack = Stack(notes)
    ids = stack.container_ids()
    assert engine_api.stack_up(notes.project_name, ids.values()) is True
    assert "up" in run_doit(notes, "up").skipped  # the cheap check agrees: nothing to do
    engine.client().containers.get(ids["digest-workers"]).stop(timeout=1)
    assert engine_api.stack_up(notes.project_name, ids.values()) is False
    revived = run_doit(notes, "up")
    assert "up" in revived.executed, revived.output
    assert stack.states()["digest-workers"].state == "running"

    down = run_doit(notes, "down")
    assert down.returncode == 0, down.output
    assert stack.states() == {}
    assert "up" in run_doit(notes, "up").executed  # down made doit forget the stack


@pytest.mark.docker
def test_doit_after_down_tests_the_fresh_stack(notes: Workspace) -> None:
    assert run_doit(notes).returncode == 0
    assert run_doit(notes).skipped[-2:] == ["up", "test"]  # nothing changed: nothing to test again
    assert run_doit(notes, "down").returncode == 0
    again = run_doit(notes)
    assert again.returncode == 0, again.output
    assert again.executed == ["up", "test"], again.output  # no file changed, but the stack is a new one
    assert "OK:" in again.output


@pytest.mark.docker
def test_an_exec_scenario_s_python_runs_in_a_python_service(notes: Workspace) -> None:
    """A model writes `python` as often as `python3`: the offline image has both (python-is-python3), as written."""
    command = ["python", "-c", "import worker, sys; print(sys.version_info[0])"]
    check = {"name": "python runs", "kind": "exec", "service": "digest-workers", "command": command}
    save_tests(notes.tests_path, TestFile(scenarios=parse_scenarios([check])))
    run = run_doit(notes)
    assert run.returncode == 0, run.output
    assert "pass    python runs" in run.output


@pytest.mark.docker
def test_logs_exec_and_status(notes: Workspace) -> None:
    assert run_doit(notes, "up").returncode == 0
    stack = Stack(notes)
    assert "notes api listening on 3000" in stack.logs("notes-api")
    assert stack.exec("notes-api", ["node", "-e", "console.log(6 * 7)"]) == (0, "42\n")
    assert stack.exec("digest-workers", ["python3", "-c", "import sys; sys.exit(3)"])[0] == 3
    assert stack.exec("notes-api", ["sleep", "5"], timeout=1) == (124, "timed out after 1s")
    with pytest.raises(ComposeFailed, match=r"timed out after 1s; the machine may be too busy: run it again$"):
        stack.exec_input("notes-api", ["sleep", "5"], b"", timeout=1)  # compose exec, stopped at its deadline
    # libraries cache under ~ (npm, pip, matplotlib, ...): the user has a home it can write, the only writable dir
    cache = "import pathlib; p = pathlib.Path.home() / '.cache' / 'lib'; p.mkdir(parents=True); print(p)"
    assert stack.exec("digest-workers", ["python3", "-c", cache]) == (0, "/tmp/.cache/lib\n")
    npm = "const d = require('os').homedir() + '/.npm'; require('fs').mkdirSync(d); console.log(d)"
    assert stack.exec("notes-api", ["node", "-e", npm]) == (0, "/tmp/.npm\n")
    status = run_doit(notes, "status")
    assert f"http://127.0.0.1:{host_port(notes, 'notes-api')}/" in status.output
    assert "notes-api       running  healthy" in status.output
    logs = run_doit(notes, "logs", "--tail", "5", "--service", "notes-api")
    assert "notes api listening on 3000" in logs.output


@pytest.mark.docker
def test_a_crashing_service_is_an_app_failure_with_its_log_tail(broken_notes: Workspace) -> None:
    result = Stack(broken_notes, up_timeout=60).up()
    failed = {f.service: f for f in result.failed}
    assert list(failed) == ["notes-api"]
    assert failed["notes-api"].reason == "exited with code 1"
    assert "notes store is corrupt" in failed["notes-api"].log_tail
    run = run_doit(broken_notes, "up")  # the task reports it and leaves it to `test` and `heal`
    assert run.returncode == 0, run.output
    assert "service notes-api exited with code 1; last log lines:" in run.output


@pytest.mark.docker
def test_a_service_killed_for_its_memory_says_so(hungry_notes: Workspace) -> None:
    failed = {f.service: f.reason for f in Stack(hungry_notes, up_timeout=60).up().failed}
    assert failed == {"digest-workers": ServiceState("", "", "exited", None, 137, 0, oom_killed=True).problem()}


@pytest.mark.docker
def test_a_service_on_the_wrong_port_is_reported_before_the_timeout(wrong_port_notes: Workspace) -> None:
    result = Stack(wrong_port_notes, up_timeout=120).up()  # bench/fast_evidence.py measures how soon
    failed = {f.service: f.reason for f in result.failed}
    assert failed == {"notes-api": "never became healthy: it listens on port 3001, not on its declared port 3000"}


@pytest.mark.docker
def test_a_service_listening_on_loopback_only_is_unhealthy_and_says_so(loopback_notes: Workspace) -> None:
    run = run_doit(loopback_notes)  # it answers its own 127.0.0.1 probe, yet neither the host nor a service reach it
    assert run.returncode == 1, run.output
    why = "listens on 127.0.0.1:3000 (loopback) only"
    assert f"notes-api never became healthy: it {why}" in run.output, run.output
    results = json.loads(next(loopback_notes.iterations_dir.glob("iter_*/results.json")).read_text())
    reasons = {r["name"]: r["reason"] for r in results["results"]}
    assert why in reasons["service notes-api"] and "listen on 0.0.0.0" in reasons["service notes-api"]
    assert reasons["service web-frontend"] == "running, healthy"  # python's probe reaches a server on 0.0.0.0


@pytest.mark.docker
def test_a_taken_port_names_the_port_and_service(notes: Workspace) -> None:
    port = host_port(notes, "notes-api")
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        run = run_doit(notes, "up")
    assert run.returncode == 2, run.output
    assert f"ERROR: up: port 127.0.0.1:{port} for service notes-api is already taken" in run.output


@pytest.mark.docker
def test_a_missing_image_says_how_to_build_it(notes: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GENLIB_IMAGE_NODE", "genlib/not-built:here")
    run = run_doit(notes, "up")
    assert run.returncode == 2, run.output
    assert "image genlib/not-built:here is not here and cannot be pulled" in run.output
    assert "genlib base-image" in run.output


@pytest.mark.docker
def test_an_invalid_compose_file_shows_composes_message(notes: Workspace) -> None:
    stack = Stack(notes)
    stack.up()
    data = yaml.safe_load(notes.compose_path.read_text())
    data["services"]["notes-api"]["ports"] = ["not-a-port"]
    notes.compose_path.write_text(yaml.safe_dump(data))
    with pytest.raises(ComposeFailed, match=r"docker compose rejects docker-compose.yml: .*not-a-port"):
        stack.up()
    stack.down()  # compose cannot read the file any more; down still removes the stack
    assert stack.states() == {}


@pytest.mark.docker
def test_docker_down_is_one_line_and_non_zero(notes: Workspace) -> None:
    run = run_doit(notes, "up", env={"DOCKER_HOST": "unix:///nonexistent/dead.sock"})
    assert run.returncode == 2, run.output
    assert "is the Docker daemon running? start dockerd or set DOCKER_HOST" in run.output
    assert "Traceback" not in run.output


@pytest.mark.docker
def test_the_base_image_runs_as_nobody_with_python_and_node() -> None:
    assert "already present" in baseimage.build(BASE_IMAGE)
    code, output = engine.run_once(BASE_IMAGE, ["python3", "-c", "import os; print(os.getuid())"])
    assert (code, output) == (0, "65534\n")
    code, output = engine.run_once(BASE_IMAGE, ["node", "-e", "console.log(process.getuid())"])
    assert (code, output) == (0, "65534\n")


@pytest.mark.docker
def test_python_is_python3_in_the_offline_image() -> None:
    """Debian's python-is-python3: `#!/usr/bin/env python` (env looks `python` up on PATH) and `sh -c "python ..."`
    run as they would on the official image; genlib rewrites no command."""
    shebang = ["/usr/bin/env", "python", "-c", "import sys; print(sys.version_info[0])"]
    assert engine.run_once(BASE_IMAGE, shebang) == (0, "3\n")
    assert engine.run_once(BASE_IMAGE, ["sh", "-c", "python -c 'print(6 * 7)'"]) == (0, "42\n")
    assert engine.image_labels(BASE_IMAGE).get(baseimage.LABEL) == baseimage.VERSION  # a newer image is rebuilt


def test_listening_ports_are_read_from_proc_net_tcp() -> None:
    table = (
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
        "   0: 00000000:0BB9 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 1\n"
        "   1: 0100007F:A2C4 0100007F:0BB9 01 00000000:00000000 00:00000000 00000000  1000        0 2\n"
        "   2: 0B00007F:8091 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 3\n"
        "   0: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A 0 0 0 0 0 0\n"
    )
    assert health.listening_ports(table) == {3001, 8080}  # not the connection (01), nor Docker's DNS
    assert health.loopback_only_ports(table) == set()
    loopback = (
        "   0: 0100007F:1F40 00000000:0000 0A 0 0 0 0 0 0\n"  # 127.0.0.1:8000
        "   1: 0100007F:0BB8 00000000:0000 0A 0 0 0 0 0 0\n"  # 127.0.0.1:3000 ...
        "   2: 00000000:0BB8 00000000:0000 0A 0 0 0 0 0 0\n"  # ... and 0.0.0.0:3000: reachable
        "   0: 00000000000000000000000001000000:1388 00000000000000000000000000000000:0000 0A 0 0\n"  # [::1]:5000
        "   1: 0000000000000000FFFF00000100007F:1389 00000000000000000000000000000000:0000 0A 0 0\n"  # mapped
        "   2: 0000000000000000FFFF00000200000A:138A 00000000000000000000000000000000:0000 0A 0 0\n"  # 10.0.0.2
    )
    assert health.loopback_only_ports(loopback) == {8000, 5000, 5001}


@pytest.mark.docker
def test_a_container_compose_could_not_make_is_a_tool_fault_in_one_line(notes: Workspace) -> None:
    """When `compose up` fails before it made a service's container, nothing the app did caused it: up says
    Compose's reason and what to do, in one line, and the test task records no failure for heal to repair.
    (It recorded 'has no container', then Compose's line, as the app's failure: issue 24, item 7.)"""
    squatter = engine.client().containers.create(BASE_IMAGE, ["true"], name=f"{notes.project_name}-notes-api-1")
    try:
        run = run_doit(notes)  # up, then test
    finally:
        squatter.remove(force=True)
    assert run.returncode == 2, run.output
    [error] = [line for line in run.output.splitlines() if line.startswith("ERROR: up: ")]
    assert error.startswith("ERROR: up: docker compose up made no container for "), error
    assert "notes-api" in error and "is already in use" in error and error.endswith("then run `doit` again")
    assert not (notes.iterations_dir / "iter_001_notes" / "results.json").exists()


def test_no_address_pool_left_says_what_to_do() -> None:
    """dockerd's own line when its default address pools are used up (each stack makes 2 networks), as Compose
    printed it on a daemon with room for 4 networks: every service was left without a container."""
    said = (
        "failed to create network genlib-ws-bc0af5_outside: Error response from daemon: could not find an available,"
        " non-overlapping IPv4 address pool among the defaults to assign to the network"
    )
    line = health.unmade(["notes-api", "web-frontend"], said)
    assert line.startswith("docker compose up made no container for notes-api, web-frontend: failed to create network")
    assert "`doit down` the stacks you do not need, `docker network prune`" in line and "\n" not in line


@pytest.mark.docker
def test_a_one_off_container_is_not_the_service_s(notes: Workspace) -> None:
    """`docker compose run` makes a one-off container with the service's labels: an exited one made before `up`
    was taken for the service, which then 'exited with code 0'. And a container removed while the stack's
    containers are listed (a recreate) is not an error (issue 24, item 7)."""
    cli = compose_file.compose_cli()
    assert cli is not None
    one_off = [*cli, "-p", notes.project_name, *compose_file.compose_args(notes, notes.compose_path)]
    code, output = process.run([*one_off, "run", "-d", "--no-deps", "notes-api", "true"], cwd=notes.root, timeout=120)
    assert code == 0, output
    stack = Stack(notes)
    result = stack.up(only=["notes-api"])  # `only`: no --remove-orphans, which would remove the one-off
    assert result.ok, result.failed
    assert stack.states()["notes-api"].state == "running"

    errors: list[str] = []
    done = threading.Event()

    def look() -> None:  # as a person's `doit status` would while something recreates the stack
        while not done.is_set():
            try:
                stack.states()
            except DockerError as exc:  # 'No such container': gone between the list and its inspect
                errors.append(str(exc))

    looking = threading.Thread(target=look)
    looking.start()
    try:
        stack.force_recreate()
    finally:
        done.set()
        looking.join()
    assert errors == []


@pytest.mark.docker
def test_docker_answering_too_late_is_one_line() -> None:
    """The SDK's read timeout is no ConnectionError: it escaped as a traceback."""
    slow = engine.client(timeout=1)
    container = slow.containers.run(BASE_IMAGE, ["sleep", "5"], detach=True, network_mode="none")
    try:
        late = r"^Docker did not answer in time to read its log: the machine is too busy"
        with pytest.raises(DockerUnavailable, match=late), engine.docker_errors("read its log"):
            container.logs(follow=True)  # the whole log: Docker sends it when the container ends, in 5 s
    finally:
        container.remove(force=True)
