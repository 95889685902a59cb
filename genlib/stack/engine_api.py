"""The one question to Docker that must be cheap: is this workspace's stack still up?

A no-op `doit` asks it in the `up` task's up-to-date check, so it talks to the
engine's API over its unix socket with a plain HTTP/1.0 request (json and socket
are loaded anyway): the Docker SDK (engine.py, everything else) costs ~0.3 s to
import and even http.client tens of milliseconds, more than the question itself.
Any doubt (no socket, an odd or oversized answer) is "not up", and the `up` task
then runs and says what is wrong.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterable
from urllib.parse import quote

DEFAULT_HOST = "unix:///var/run/docker.sock"
TIMEOUT_S = 5.0
MAX_ANSWER_BYTES = 16 * 1024 * 1024  # ~10,000 containers' summaries; more is "cannot tell"
PROJECT_LABEL = "com.docker.compose.project"


def stack_up(project: str, container_ids: Iterable[str]) -> bool | None:
    """These containers of `project` all still run; None when the engine is not on a unix socket."""
    path = unix_socket()
    if path is None:
        return None
    containers = project_containers(path, project)
    return containers is not None and all_running(containers, set(container_ids))


def unix_socket() -> str | None:
    """The engine's socket path; None when DOCKER_HOST is not a unix socket (tcp://, ssh://)."""
    host = os.environ.get("DOCKER_HOST") or DEFAULT_HOST
    return host.removeprefix("unix://") if host.startswith("unix://") else None


def project_containers(path: str, project: str) -> list[dict[str, object]] | None:
    """`GET /containers/json?all=1` for one Compose project; None when the engine does not answer plainly."""
    filters = quote(json.dumps({"label": [f"{PROJECT_LABEL}={project}"]}))
    request = f"GET /containers/json?all=1&filters={filters} HTTP/1.0\r\nHost: docker\r\n\r\n"
    try:
        answer = _exchange(path, request.encode())
    except OSError:
        return None
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    # HTTP/1.0: the body runs to the end of the connection, never chunked
    if not lines[0].startswith("HTTP/1.") or lines[0].split()[1:2] != ["200"]:
        return None
    try:
        found = json.loads(body)
    except ValueError:
        return None
    return [c for c in found if isinstance(c, dict)] if isinstance(found, list) else None


def _exchange(path: str, request: bytes) -> bytes:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(TIMEOUT_S)
        sock.connect(path)
        sock.sendall(request)
        chunks, size = [], 0
        while chunk := sock.recv(65536):
            chunks.append(chunk)
            size += len(chunk)
            if size > MAX_ANSWER_BYTES:
                raise OSError("answer too large")
        return b"".join(chunks)


def all_running(containers: list[dict[str, object]], wanted: set[str]) -> bool:
    """Every wanted container id still exists and runs.

    Docker's health flag is not asked: `up` already judged each service (a probe that only
    times out on a busy machine while the app answers is not a failure, engine.py), and
    recorded the ones it failed in its stamp; a flag that flips later must not make every
    no-op run `up` again. A stopped, removed or crashed container does.
    """
    return wanted <= {c.get("Id") for c in containers if c.get("State") == "running"}
