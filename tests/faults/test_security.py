"""What the rendered stack may do, and what a heal prompt may carry.

docker-compose.yml: ports only on 127.0.0.1, source mounts read-only and inside the
workspace, no privileged mode, no Docker socket, no host namespaces, limits set.
A heal prompt: secrets from a container's logs or output never reach the model.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import yaml
from conftest import run_doit
from ollama_server import ScriptedOllama

from faults.conftest import NOTES, SEED_ITERATION
from genlib.stack.compose import public_env_path
from genlib.workspace import Workspace

FORBIDDEN_KEYS = {"privileged", "network_mode", "pid", "ipc", "userns_mode", "cap_add", "devices", "volumes_from"}


def services(ws: Workspace) -> dict[str, dict[str, Any]]:
    data = yaml.safe_load(ws.compose_path.read_text())
    assert isinstance(data, dict)
    found: dict[str, dict[str, Any]] = data["services"]
    return found


def check_service(name: str, svc: dict[str, Any], ws: Workspace) -> None:
    for port in svc.get("ports", []):
        assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback"
    for mount in svc.get("volumes", []):
        assert mount["type"] == "bind" and mount["read_only"] is True, f"{name}: {mount}"
        source = (ws.root / mount["source"]).resolve()
        generated_env = source == public_env_path(ws).resolve()  # the one file genlib itself mounts
        assert source.is_relative_to(ws.iterations_dir) or generated_env, f"{name} mounts {source}"
        assert "docker.sock" not in mount["source"]
    assert svc["read_only"] is True and svc["cap_drop"] == ["ALL"]
    assert svc["security_opt"] == ["no-new-privileges:true"]  # the one allowed: it only takes privileges away
    assert not FORBIDDEN_KEYS & set(svc), f"{name}: {sorted(set(svc) & FORBIDDEN_KEYS)}"
    assert svc["user"] == "65534:65534"
    assert svc["mem_limit"] not in ("", "0", 0) and float(svc["cpus"]) > 0


def test_the_rendered_stack_is_confined(seeded: Workspace) -> None:
    rendered = services(seeded)
    assert sorted(rendered) == ["digest-workers", "genlib-gateway", "notes-api", "web-frontend"]
    for name, svc in rendered.items():
        check_service(name, svc, seeded)
    assert "docker.sock" not in seeded.compose_path.read_text()
    # The app's network leads nowhere (not even to the host); only the gateway publishes ports and is also
    # on another network (tests/faults/test_docker_faults.py proves it on the engine).
    networks = yaml.safe_load(seeded.compose_path.read_text())["networks"]
    assert networks["default"]["internal"] is True
    assert networks["default"]["driver_opts"] == {"com.docker.network.bridge.inhibit_ipv4": "true"}
    for name, svc in rendered.items():
        if name != "genlib-gateway":
            assert "ports" not in svc and svc.get("networks", ["default"]) == ["default"], name
    assert rendered["genlib-gateway"]["networks"] == ["default", "outside"]


def test_a_hostile_command_cannot_escape_its_yaml_string(seeded: Workspace, ollama: ScriptedOllama) -> None:
    """Arguments are data: quotes, newlines and YAML keys in a command stay inside one string, and `$`
    is doubled for Compose (what Compose then makes of it is tested in test_interpolation.py)."""
    answer = copy.deepcopy(NOTES)
    escape = 'server.js"\n    privileged: true\n    volumes: ["/var/run/docker.sock:/var/run/docker.sock"]\n    x: "'
    answer["components"][1]["command"] = ["node", escape, "{{ 7 * 7 }}", "${HOME}"]
    ollama.enqueue(json.dumps(answer))
    run = run_doit(seeded, "gen", "desc=the notes app again")
    assert run.returncode == 0, run.output
    rendered = services(seeded)
    assert rendered["notes-api"]["command"] == ["node", escape, "{{ 7 * 7 }}", "$${HOME}"]
    for name, svc in rendered.items():
        check_service(name, svc, seeded)


SECRETS = {
    "API_TOKEN=ghp4f9c2a7b1d3e5f60718293a4b5c6d7e8f9a0b1c2": "ghp4f9c2a7b1d3e5f60718293a4b5c6d7e8f9a0b1c2",
    "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJl": "eyJzdWIiOiIxMjM0NTY3",
    "connecting to postgres://admin:hunter2pass@db:5432/app": "hunter2pass",
    "DB_PASSWORD=correct-horse-battery-staple": "correct-horse-battery-staple",
    '{"aws_secret_access_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}': "wJalrXUtnFEMI",
}


def test_secrets_in_logs_and_output_never_reach_the_heal_prompt(
    seeded: Workspace, ollama: ScriptedOllama, tmp_path: Path
) -> None:
    it = seeded.iterations_dir / SEED_ITERATION
    leak = "\n".join(["starting", *SECRETS, "Traceback (most recent call last):", "Error: boom"])
    (it / "logs").mkdir()
    (it / "logs" / "notes-api.log").write_text(leak + "\n")
    results = json.loads((it / "results.json").read_text())
    failing = results["results"][1]
    failing["evidence"] = {"status": 500, "body_head": leak, "log_tail": leak}
    failing["reason"] = "GET /notes: status 500; " + next(iter(SECRETS))
    (it / "results.json").write_text(json.dumps(results))
    ollama.enqueue("not json")  # refused: heal stops after sending the one prompt
    run = run_doit(seeded, "heal", "retries=0")
    assert run.returncode == 2, run.output
    prompt = ollama.chats()[0]["messages"][0]["content"]
    assert "Error: boom" in prompt  # the logs did reach the prompt ...
    for secret in SECRETS.values():
        assert secret not in prompt  # ... without the secrets
    assert "[REDACTED]" in prompt
