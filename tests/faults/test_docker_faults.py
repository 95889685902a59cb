"""Faults with the real engine: kill points in `up`, `test` and a heal round; the daemon gone
between steps; a port taken; a container that never gets healthy; a container reaching out."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import add_iteration, notes_variant, run_doit
from ollama_server import ScriptedOllama

from faults.conftest import Running, assert_consistent, assert_stopped, error_lines, snapshot, start_doit
from genlib.app.iterations import list_iterations
from genlib.documents.scenarios import TestFile, merge_model_scenarios, parse_scenarios, save_tests
from genlib.stack.compose_file import published_ports
from genlib.stack.engine import Stack
from genlib.workspace import Workspace

pytestmark = pytest.mark.docker
SERVER = "api/notes/server.js"
GOOD_LINE = "return send(res, 200, notes);"
BROKEN_LINE = 'return send(res, 500, { error: "db down" });'


def deploy(ws: Workspace, app: Path | str = "notes") -> Path:
    folder = add_iteration(ws, "iter_001_notes", app)
    proposed = parse_scenarios(json.loads((folder / "llm_output.json").read_text())["answer"]["scenarios"])
    save_tests(ws.tests_path, merge_model_scenarios(TestFile(), proposed, "iter_001_notes")[0])
    return folder


@pytest.mark.parametrize(
    ("task", "sig"),
    [("up", signal.SIGKILL), ("up", signal.SIGINT), ("test", signal.SIGKILL), ("test", signal.SIGINT)],
    ids=["up SIGKILL", "up SIGINT", "test SIGKILL", "test SIGINT"],
)
def test_a_run_stopped_in_up_or_test_is_finished_by_plain_doit(
    engine: Workspace, doit_runs: list[Running], task: str, sig: signal.Signals
) -> None:
    deploy(engine)
    run = start_doit(engine, stop_at=task)  # held mid-step: up ran, up.json not written; or results.json
    doit_runs.append(run)
    run.at_checkpoint(limit=600)
    assert_stopped(run, sig, run.stop(sig))
    assert_consistent(engine)
    again = run_doit(engine, timeout=600)
    assert again.returncode == 0, again.output
    results = json.loads((engine.iterations_dir / "iter_001_notes" / "results.json").read_text())
    assert results["summary"]["failed"] == 0 and results["summary"]["passed"] >= 7


def test_docker_gone_between_steps_is_one_line_and_keeps_the_results(engine: Workspace) -> None:
    deploy(engine)
    assert run_doit(engine, timeout=600).returncode == 0
    before = snapshot(engine.root)
    gone = run_doit(engine, "test", env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"})
    assert gone.returncode == 2, gone.output
    assert error_lines(gone.output) == [
        "ERROR: up: cannot reach Docker to connect: is the Docker daemon running? start dockerd or set DOCKER_HOST"
    ]
    assert snapshot(engine.root) == before
    assert run_doit(engine, "test", timeout=600).returncode == 0  # back: the same command finishes


def test_a_taken_port_names_the_service_and_the_setting(engine: Workspace) -> None:
    deploy(engine)
    assert run_doit(engine, "compose").returncode == 0
    port = published_ports(engine.compose_path)["notes-api"]
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        run = run_doit(engine, timeout=600)
    assert run.returncode == 2, run.output
    assert error_lines(run.output) == [
        f"ERROR: up: port 127.0.0.1:{port} for service notes-api is already taken; free it, or delete "
        ".genlib/ports.json so `doit` picks free ports (with port_base set: choose another)"
    ]


def test_a_container_that_never_gets_healthy_is_a_failed_result(
    engine: Workspace, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    output = json.loads((Path(__file__).parents[1] / "resources/apps/notes/llm_output.json").read_text())
    api = next(c for c in output["answer"]["components"] if c["name"] == "notes")
    api["health"] = "/no-such-page"  # the node server answers 404 there: never healthy
    source = tmp_path / "unhealthy.json"
    source.write_text(json.dumps(output))
    deploy(engine, source)
    monkeypatch.setenv("GENLIB_UP_TIMEOUT", "8")
    run = run_doit(engine, timeout=600)
    assert run.returncode == 1, run.output
    results = json.loads((engine.iterations_dir / "iter_001_notes" / "results.json").read_text())
    service = next(r for r in results["results"] if r["name"] == "service notes-api")
    assert service["status"] == "failed" and "never became healthy" in service["reason"], service


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["SIGKILL", "SIGINT"])
def test_heal_stopped_mid_round_is_finished_by_the_next_heal(
    sig: signal.Signals, engine: Workspace, ollama: ScriptedOllama, doit_runs: list[Running]
) -> None:
    app = notes_variant(engine.root.parent, {SERVER: (GOOD_LINE, BROKEN_LINE)})
    deploy(engine, app)
    assert run_doit(engine, timeout=600).returncode == 1  # `list notes` fails: something to heal
    fixed_source = (app.parent / "src" / SERVER).read_text().replace(BROKEN_LINE, GOOD_LINE)
    fix = json.dumps({"summary": "return the notes", "files": [{"path": SERVER, "content": fixed_source}]})
    ollama.piece = 64
    ollama.enqueue(fix)
    run = start_doit(engine, "heal", stop_at="streaming")  # held while the patch arrives
    doit_runs.append(run)
    run.at_checkpoint(limit=600)
    assert_stopped(run, sig, run.stop(sig))
    assert [it.name for it in list_iterations(engine)] == ["iter_001_notes"]  # no half patch
    assert_consistent(engine)
    ollama.enqueue(fix)
    again = run_doit(engine, "heal", timeout=900)
    assert again.returncode == 0, again.output
    assert "heal: green after 1 round(s); HEAD is iter_002_patch" in again.output


PAGE = {  # the browser on the host reaches the page and, from it, the api
    "name": "page lists notes",
    "kind": "page",
    "service": "web-frontend",
    "origin": "user",
    "path": "/",
    "steps": [{"fill": "#text", "value": "buy milk"}, {"click": "#add button"}, {"wait_for_text": "buy milk"}],
    "expect_text": ["Notes"],
    "timeout": 30,
}
# Connects to each address given on the port given; prints `reached <address>` or `blocked <address>`.
KNOCK = (
    "const net = require('net'); const [port, ...hosts] = process.argv.slice(1);"
    "for (const host of hosts) { const s = net.connect({host, port: +port, timeout: 3000});"
    " s.on('connect', () => { console.log('reached ' + host); s.destroy(); });"
    " s.on('timeout', () => { console.log('blocked ' + host); s.destroy(); });"
    " s.on('error', () => console.log('blocked ' + host)); }"
)


def host_addresses() -> list[str]:
    """Every IPv4 address of this machine but loopback: the LAN's, docker0's, each Docker network's bridge."""
    out = subprocess.run(["ip", "-4", "-o", "addr", "show"], capture_output=True, text=True, check=True).stdout
    found = [line.split()[3].split("/")[0] for line in out.splitlines()]
    return [address for address in found if not address.startswith("127.")]


def test_a_running_container_reaches_nothing_outside_the_stack(engine: Workspace) -> None:
    """A stand-in listening on every address of the host (what a LAN service or the way out looks like to a
    container) hears nothing from the app, while the stack still answers: http, exec and page scenarios pass."""
    deploy(engine)
    tests = yaml.safe_load(engine.tests_path.read_text())
    engine.tests_path.write_text(yaml.safe_dump({**tests, "scenarios": [*tests["scenarios"], PAGE]}))
    run = run_doit(engine, timeout=600)
    assert run.returncode == 0, run.output
    assert "pass    page lists notes" in run.output
    with socket.socket() as standin:
        standin.bind(("0.0.0.0", 0))
        standin.listen()
        port = standin.getsockname()[1]
        targets = host_addresses()
        for address in targets:  # the stand-in answers the host itself on each of them
            socket.create_connection((address, port), timeout=3).close()
        code, output = Stack(engine).exec("notes-api", ["node", "-e", KNOCK, str(port), *targets], timeout=60)
    assert code == 0, output
    assert sorted(output.splitlines()) == sorted(f"blocked {address}" for address in targets)
    code, output = Stack(engine).exec("notes-api", ["node", "-e", KNOCK, "80", "deb.debian.org"], timeout=60)
    assert output.split() == ["blocked", "deb.debian.org"]  # no name is resolved outside the stack either
