"""Releasing and deploying: the notes-on-Postgres app as images, on a Docker Swarm and as Kubernetes manifests.

Without Docker: the replicas setting, the green check, the stack file and the manifests (schema-checked).
On the real engine: released, pushed to a local registry (Debian's docker-registry), deployed to a swarm this
test makes, tested there, a note surviving a forced update of every service, and removed again.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from conftest import APPS, add_iteration, run_doit, wait_for_base_image, write_results
from ollama_server import ScriptedOllama

from genlib import process
from genlib.app import dataservices, registry
from genlib.config import OFFLINE_DATA_IMAGES
from genlib.deploy import k8s, release, spec, swarm
from genlib.errors import ConfigError, DeployError
from genlib.stack import engine
from genlib.stack.engine import Stack
from genlib.workspace import Workspace

APP = APPS / "notesdb"
FAKE_RELEASE = release.Release(
    iteration="iter_001_notes",
    registry_sha256="0" * 64,
    images={
        s: f"example.org:5000/team/p/{s}:iter_001_notes-0123456789ab"
        for s in ("jobs-workers", "notes-api", "web-frontend")
    },
    migrations={"db-backend": "example.org:5000/team/p/db-backend-migrate:iter_001_notes-ba9876543210"},
)


def notes_workspace(ws: Workspace) -> Workspace:
    """The notes app materialized and registered, without Docker (as `doit gen` leaves it)."""
    add_iteration(ws, "iter_001_notes", "notesdb")
    made = run_doit(ws, "registry")
    assert made.returncode == 0, made.output
    return ws


# -- without Docker ---------------------------------------------------------------------------------


def test_replicas_name_a_default_and_exceptions() -> None:
    services = ["notes-api", "web-frontend"]
    assert spec.replicas("1", services) == {"notes-api": 1, "web-frontend": 1}
    assert spec.replicas("notes-api=2", services) == {"notes-api": 2, "web-frontend": 1}
    assert spec.replicas("3, notes-api=2", services) == {"notes-api": 2, "web-frontend": 3}
    for bad in ("two", "notes-api=0", "nobody=2"):
        with pytest.raises(ConfigError, match="replicas"):
            spec.replicas(bad, services)


def test_a_release_needs_a_green_head(workspace: Workspace) -> None:
    ws = notes_workspace(workspace)
    it = ws.iterations_dir / "iter_001_notes"
    with pytest.raises(DeployError, match="has not been tested: run `doit`, or release it untested with force=1"):
        release.check_green(ws, allow_skipped=False)
    write_results(it, "passed", "failed")
    with pytest.raises(
        DeployError, match=r"is not green \(1 of 2 failed.*run `doit heal`, or release it anyway with force=1"
    ):
        release.check_green(ws, allow_skipped=False)
    write_results(it, "passed", "passed")
    assert release.check_green(ws, allow_skipped=False) == "iter_001_notes"


def test_a_release_without_force_is_refused_in_one_line(workspace: Workspace) -> None:
    ws = notes_workspace(workspace)
    write_results(ws.iterations_dir / "iter_001_notes", "failed")
    refused = run_doit(ws, "release")
    assert refused.returncode == 2, refused.output
    errors = [line for line in refused.output.splitlines() if "not green" in line]
    assert len(errors) == 1 and "force=1" in errors[0], refused.output
    assert "Traceback" not in refused.output


def test_deploy_and_status_name_their_targets(workspace: Workspace) -> None:
    ws = notes_workspace(workspace)
    for args, said in [
        (["deploy"], "missing target=swarm or target=k8s"),
        (["deploy", "target=nomad"], "target='nomad' is not known: write target=swarm or target=k8s"),
        (["status", "target=k8s"], "write target=swarm"),
        (["deploy", "target=k8s"], "nothing released yet: run `doit release` first"),
    ]:
        run = run_doit(ws, *args)
        assert run.returncode == 2, run.output
        assert said in run.output and "Traceback" not in run.output, run.output


def test_the_stack_file_keeps_the_password_a_secret(workspace: Workspace) -> None:
    ws = notes_workspace(workspace)
    settings = ws.settings({"replicas": "notes-api=2", "swarm_mesh": "0"})
    deployment = spec.build(ws, registry.load(ws), FAKE_RELEASE, settings)
    password = next(s.value for s in deployment.secrets if s.name == spec.PASSWORD_SECRET)
    files = {s.name: ws.state_dir / s.name for s in deployment.secrets}
    starts = {s.service: ["python3", "run"] for s in deployment.services if s.secret_env}
    text = swarm.render(ws, deployment, settings, files, starts)
    assert password not in text
    stack = yaml.safe_load(text)
    api = stack["services"]["notes-api"]
    assert api["deploy"]["replicas"] == 2
    assert api["deploy"]["update_config"]["failure_action"] == "rollback"
    assert api["environment"]["DATABASE_URL_FILE"] == "/run/secrets/db-backend-url"
    assert api["ports"] == [{"target": 8000, "protocol": "tcp", "mode": "host"}]
    assert api["healthcheck"]["test"][:2] == ["CMD", "python3"]
    db = stack["services"]["db-backend"]
    assert db["environment"]["POSTGRES_PASSWORD_FILE"] == "/run/secrets/db-password"
    assert {"type": "volume", "source": "db-backend-data", "target": "/var/lib/postgresql/data"} in db["volumes"]
    assert stack["services"]["db-backend-migrate"]["deploy"]["mode"] == "replicated-job"
    assert set(stack["secrets"]) == {"db-password", "db-backend-url"}
    assert set(stack["volumes"]) == {"db-backend-data", "queue-backend-data"}
    assert api["deploy"]["endpoint_mode"] == "dnsrr"  # without IPVS no virtual IP answers

    mesh = ws.settings()  # the default: the routing mesh, one port per service on every node
    meshed = yaml.safe_load(swarm.render(ws, deployment, mesh, files, starts))["services"]
    published = swarm.published_ports(deployment, mesh)["notes-api"]
    assert 30000 <= published < 31000
    assert meshed["notes-api"]["ports"] == [
        {"target": 8000, "published": published, "protocol": "tcp", "mode": "ingress"}
    ]
    assert meshed["notes-api"]["deploy"]["endpoint_mode"] == "vip"


def test_k8s_manifests_pass_the_schema_check_with_probes_claims_and_a_secret(workspace: Workspace) -> None:
    ws = notes_workspace(workspace)
    release.save(ws, FAKE_RELEASE)
    written = k8s.write(ws, ws.settings(), say=lambda line: None)
    manifests = k8s.documents({p.name: k8s.Rendered("", p.read_text()) for p in written})
    by_kind: dict[str, list[dict]] = {}
    for manifest in manifests:
        by_kind.setdefault(manifest.kind, []).append(manifest.body)
    assert sorted(d["metadata"]["name"] for d in by_kind["Deployment"]) == ["jobs-workers", "notes-api", "web-frontend"]
    assert sorted(d["metadata"]["name"] for d in by_kind["StatefulSet"]) == ["db-backend", "queue-backend"]
    assert sorted(d["metadata"]["name"] for d in by_kind["Service"]) == [
        "db-backend",
        "notes-api",
        "queue-backend",
        "web-frontend",
    ]
    api = next(d for d in by_kind["Deployment"] if d["metadata"]["name"] == "notes-api")
    container = api["spec"]["template"]["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"] == {"path": "/health", "port": 8000}
    assert container["livenessProbe"]["httpGet"] == {"path": "/health", "port": 8000}
    assert container["resources"]["requests"] == {"memory": "256Mi", "cpu": "0.5"}
    url = next(e for e in container["env"] if e["name"] == "DATABASE_URL")
    assert url["valueFrom"]["secretKeyRef"]["key"] == "db-backend-url"
    db = next(d for d in by_kind["StatefulSet"] if d["metadata"]["name"] == "db-backend")
    (claim,) = db["spec"]["volumeClaimTemplates"]
    assert claim["kind"] == "PersistentVolumeClaim" and claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert db["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["exec"]["command"][0] == "pg_isready"
    (secret,) = by_kind["Secret"]
    assert set(secret["stringData"]) == {"db-password", "db-backend-url"}
    assert (ws.root / "deploy/k8s/secret.yaml").stat().st_mode & 0o077 == 0  # the password: only its owner
    assert "secret.yaml" in (ws.root / "deploy/k8s/.gitignore").read_text()
    (job,) = by_kind["Job"]
    assert job["spec"]["template"]["spec"]["containers"][0]["image"] == FAKE_RELEASE.migrations["db-backend"]


def test_a_template_the_schema_refuses_is_one_line_naming_it(workspace: Workspace) -> None:
    ws = notes_workspace(workspace)
    release.save(ws, FAKE_RELEASE)
    template = ws.root / "deploy/k8s/program.yaml.j2"
    template.write_text(
        template.read_text().replace("  replicas: {{ s.replicas }}", "  replicas: {{ s.replicas }}\n  replica: 3")
    )
    with pytest.raises(
        DeployError,
        match=r"deploy/k8s/jobs-workers.yaml: Deployment jobs-workers: spec: .*'replica'.*fix deploy/k8s/program.yaml",
    ):
        k8s.write(ws, ws.settings(), say=lambda line: None)
    assert not (ws.root / "deploy/k8s/jobs-workers.yaml").exists()  # nothing is written from a refused template


# -- on the real engine -----------------------------------------------------------------------------


def _swarm_state() -> str:
    return str(engine.client().info().get("Swarm", {}).get("LocalNodeState", ""))


@pytest.fixture
def a_swarm() -> Iterator[None]:
    """A swarm on this engine: made here with `docker swarm init --advertise-addr 127.0.0.1` and left afterwards
    (with the bridge it made); one already there is used and kept. Compose stacks keep working meanwhile
    (this test's own `doit` runs one under it)."""
    made = _swarm_state() != "active"
    had_bridge = bool(engine.client().networks.list(names=["docker_gwbridge"]))
    if made:
        process.run(["docker", "swarm", "init", "--advertise-addr", "127.0.0.1"], timeout=60)
    yield
    if made:
        process.run(["docker", "swarm", "leave", "--force"], timeout=60)
        if not had_bridge:
            process.run(["docker", "network", "rm", "docker_gwbridge"], check=False, timeout=60)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def local_registry(tmp_path: Path) -> Iterator[Callable[..., str]]:
    """Start Debian's docker-registry (2.8.2) on loopback: `start(read_only=False) -> host:port/prefix`."""
    binary = shutil.which("docker-registry")
    if binary is None:
        pytest.fail("docker-registry is not installed: apt-get install docker-registry (.ci/setup does)")
    procs: list[subprocess.Popen[bytes]] = []

    def start(read_only: bool = False) -> str:
        port = _free_port()
        folder = tmp_path / f"registry-{port}"
        folder.mkdir()
        storage: dict = {"filesystem": {"rootdirectory": str(folder / "data")}}
        if read_only:
            storage["maintenance"] = {"readonly": {"enabled": True}}
        config = folder / "config.yml"
        config.write_text(yaml.safe_dump({"version": 0.1, "storage": storage, "http": {"addr": f"127.0.0.1:{port}"}}))
        with (folder / "log").open("wb") as log:  # the child keeps its own copy of the descriptor
            procs.append(subprocess.Popen([binary, "serve", str(config)], stdout=log, stderr=subprocess.STDOUT))
        for _ in range(100):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/v2/", timeout=1, trust_env=False).status_code == 200:
                    return f"127.0.0.1:{port}/genlib-test"
            except httpx.HTTPError:
                time.sleep(0.1)
        pytest.fail(f"docker-registry did not answer on 127.0.0.1:{port}: {(folder / 'log').read_text()[-500:]}")

    yield start
    for proc in procs:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture
def notes_engine(engine: Workspace) -> Iterator[Workspace]:
    """The engine with the offline data images; afterwards the local stack's volumes and the released images go."""
    for image in OFFLINE_DATA_IMAGES.values():
        wait_for_base_image(image=image)
    yield engine
    Stack(engine).down(volumes=True)
    release.remove_images(engine)


@pytest.fixture
def swarm_workspace(notes_engine: Workspace, a_swarm: None) -> Iterator[Workspace]:
    """notes_engine on a swarm; its stack and the stack's volumes go before the swarm does, whatever failed."""
    yield notes_engine
    if swarm.replicas(swarm.stack_name(notes_engine)) or swarm.volumes(swarm.stack_name(notes_engine)):
        swarm.down(notes_engine, with_volumes=True, say=lambda line: None)


def _api(ws: Workspace) -> str:
    found = {r.service: r for r in swarm.replicas(swarm.stack_name(ws))}
    return f"http://127.0.0.1:{found['notes-api'].ports[0]}"


@pytest.mark.docker
def test_notes_released_to_a_registry_and_deployed_to_a_swarm_survive_updates(
    swarm_workspace: Workspace, ollama: ScriptedOllama, local_registry: Callable[..., str]
) -> None:
    ws = swarm_workspace
    ollama.enqueue(json.dumps(json.loads((APP / "llm_output.json").read_text())["answer"]))
    made = run_doit(ws, "gen", "desc=notes in postgres, a redis worker, an express page", timeout=900)
    assert made.returncode == 0, made.output
    green = run_doit(ws, timeout=1800)  # compose under an active swarm: the local stack runs as before
    assert green.returncode == 0, green.output

    refused = run_doit(ws, "release", "push=1", env={"GENLIB_REGISTRY": local_registry(read_only=True)}, timeout=900)
    assert refused.returncode == 2, refused.output
    (line,) = [line for line in refused.output.splitlines() if "refused" in line]
    assert "405" in line or "Method not allowed" in line, refused.output  # the registry's own answer

    env = {"GENLIB_REGISTRY": local_registry(), "GENLIB_REPLICAS": "notes-api=2", "GENLIB_SWARM_MESH": "0",
           "GENLIB_UP_TIMEOUT": "300"}  # fmt: skip
    released = run_doit(ws, "release", "push=1", env=env, timeout=900)
    assert released.returncode == 0, released.output
    made_release = release.load(ws)
    assert made_release.pushed_to == env["GENLIB_REGISTRY"]
    api_image = made_release.images["notes-api"]
    assert api_image.startswith(f"{env['GENLIB_REGISTRY']}/{ws.project_name}/notes-api:{made_release.iteration}-")
    labels = engine.client().images.get(api_image).labels
    assert labels["genlib.iteration"] == made_release.iteration and labels["genlib.version"]
    assert labels["genlib.registry_sha256"] == made_release.registry_sha256

    deployed = run_doit(ws, "deploy", "target=swarm", env=env, timeout=900)
    assert deployed.returncode == 0, deployed.output
    status = run_doit(ws, "status", "target=swarm", env=env)
    assert status.returncode == 0, status.output
    assert any(line.split()[:2] == ["notes-api", "2/2"] for line in status.output.splitlines()), status.output
    tested = run_doit(ws, "test", "target=swarm", env=env, timeout=600)
    assert tested.returncode == 0, tested.output
    assert "page lists notes" in tested.output and "job db-backend-migrate" in tested.output

    (password,) = dataservices.known_secrets(ws)
    name = swarm.stack_name(ws)
    services = [s.name for s in engine.client().services.list(filters={"label": f"{swarm.NAMESPACE_LABEL}={name}"})]
    for service in services:  # the password is in no service's definition
        assert password not in json.dumps(engine.client().services.get(service).attrs)
    assert httpx.post(f"{_api(ws)}/notes", json={"text": "survive-me"}, timeout=10).status_code == 201
    for service in services:
        process.run(["docker", "service", "update", "--force", "--detach=false", "--quiet", service], timeout=600)
    swarm.wait(name, 300)
    assert "survive-me" in httpx.get(f"{_api(ws)}/notes", timeout=10).text

    removed = run_doit(ws, "deploy", "target=swarm", "down=1", "volumes=1", env=env, timeout=300)
    assert removed.returncode == 0, removed.output
    assert swarm.replicas(name) == []
    assert not engine.client().volumes.list(filters={"label": f"{swarm.NAMESPACE_LABEL}={name}"})


@pytest.mark.docker
def test_deploy_without_a_swarm_says_docker_swarm_init(workspace: Workspace) -> None:
    if _swarm_state() == "active":
        pytest.skip("this engine is in a swarm (another test's); the line is checked where there is none")
    ws = notes_workspace(workspace)
    release.save(ws, FAKE_RELEASE)
    with pytest.raises(DeployError, match=r"not in a swarm: run `docker swarm init`"):
        swarm.deploy(ws, ws.settings(), say=lambda line: None)


def test_upgrade_adds_the_deploy_templates_an_older_workspace_lacks(workspace: Workspace) -> None:
    from genlib.commands.cli import upgrade_workspace

    shutil.rmtree(workspace.root / "deploy/k8s")
    (workspace.root / "deploy/stack.yml.j2").write_text("# mine\n")
    said = upgrade_workspace(workspace.root)
    assert "deploy/k8s/program.yaml.j2" in said and "stack.yml.j2" not in said
    assert (workspace.root / "deploy/stack.yml.j2").read_text() == "# mine\n"  # a person's template stays
    assert (workspace.root / "deploy/k8s/secret.yaml.j2").is_file()
