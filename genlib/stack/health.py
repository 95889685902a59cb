"""Judging a stack's health: which services are up, which surely failed, and why.

A container that exits or never becomes healthy is the app's fault, not the tool's: it is reported as a
`ServiceFailure` with its log tail, for the test task to record and heal to repair. The judgement reads
the stack through the small `Inspected` protocol (engine.Stack is one), so it needs no Docker of its own.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Protocol

from genlib.stack import gateway
from genlib.stack.compose_file import compose_services, published_ports
from genlib.workspace import Workspace

NEVER_HEALTHY_S = 5.0  # a service listening on a port, still unhealthy after this, is reported (a slow one is not)
_FAILURE_LOG_LINES = 5  # how much of a failed service's log goes into a one-line message
_DOCKER_DNS = "0B00007F"  # 127.0.0.11 as /proc/net/tcp writes it
# The URL of a health check (genlib.stack.compose.health_test; 127.0.0.1 in the files of older genlibs)
_HEALTH_URL = re.compile(r"http://(?:127\.0\.0\.1|HOST):(\d+)(/[^'\s]*)?")
_PORT_IN_USE = re.compile(r"(?:127\.0\.0\.1|0\.0\.0\.0):(\d+)(?: failed: port is already allocated|: bind: address)")
_SERVICE_LABEL = "com.docker.compose.service"
_NO_POOL = "could not find an available, non-overlapping IPv4 address pool"  # dockerd, on creating a network


class Inspected(Protocol):
    """What the judgement reads of a stack."""

    ws: Workspace
    up_timeout: int

    def states(self) -> dict[str, ServiceState]: ...

    def container(self, service: str) -> Any: ...

    def logs(self, service: str) -> str: ...

    def exec(self, service: str, cmd: list[str], timeout: float = 30) -> tuple[int, str]: ...


@dataclass(frozen=True)
class ServiceState:
    service: str
    container_id: str
    state: str  # created | running | exited | restarting | dead | ...
    health: str | None  # healthy | unhealthy | starting, None without a healthcheck
    exit_code: int
    restart_count: int
    oom_killed: bool = False  # the kernel killed it for going over its memory limit
    started_at: float | None = None  # when its process last started (seconds since the epoch)

    @property
    def ok(self) -> bool:
        return self.state == "running" and self.health in (None, "healthy")

    def problem(self) -> str:
        """Why this service is not ok, in a few words ('' when it is)."""
        if self.state == "running":
            return {"unhealthy": "is unhealthy", "starting": "never became healthy"}.get(self.health or "", "")
        if self.state == "exited" and self.oom_killed:  # 137 alone reads like any kill
            return (
                f"exited with code {self.exit_code}: killed for using more memory than its limit "
                "(use less, e.g. fewer workers or smaller batches; or raise the `memory` setting)"
            )
        if self.state == "exited":
            return f"exited with code {self.exit_code}"
        return f"is {self.state}"


@dataclass(frozen=True)
class ServiceFailure:
    service: str
    reason: str  # "exited with code 1", "is unhealthy", "never became healthy within 120s", "has no container"
    log_tail: str

    def one_line(self) -> str:
        last = [line for line in self.log_tail.splitlines() if line.strip()][-_FAILURE_LOG_LINES:]
        return f"{self.service} {self.reason}" + (f"; last log lines: {' | '.join(last)}" if last else "")


@dataclass
class UpResult:
    created: list[str] = field(default_factory=list)
    recreated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: list[ServiceFailure] = field(default_factory=list)
    duration_s: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> str:
        """`1 recreated (notes-api), 2 unchanged in 3.1s`: names only where something happened."""
        parts = []
        for label, names in self._groups():
            if names:
                named = "" if label == "unchanged" else f" ({', '.join(names)})"
                parts.append(f"{len(names)} {label}{named}")
        return ", ".join(parts or ["no services"]) + f" in {self.duration_s:.1f}s"

    def _groups(self) -> list[tuple[str, list[str]]]:
        failed = [f.service for f in self.failed]
        return [
            ("created", self.created),
            ("recreated", self.recreated),
            ("unchanged", self.unchanged),
            ("failed", failed),
        ]


def settle(
    stack: Inspected, deadline: float, on_line: Callable[[str], None] | None = None, only: list[str] | None = None
) -> tuple[dict[str, ServiceState], dict[str, str], bool]:
    """Wait until every service is healthy (or running, without a healthcheck) or has surely failed:
    exited, restarted, unhealthy, or still starting after NEVER_HEALTHY_S while it listens on a port
    and its health check fails (a wrong port, a health path that answers 404). A slow starter, which
    listens on nothing yet, gets until `deadline`; each sure failure is reported through `on_line` as soon
    as it is seen. Returns (states, reasons of sure failures, timed out)."""
    first_seen: dict[str, float] = {}
    verdicts: dict[str, str] = {}
    told: set[str] = set()
    asked: dict[str, float] = {}
    while True:
        states = stack.states()
        pending = []
        for name in only or compose_services(stack.ws.compose_path):
            state = states.get(name)
            if state is None or state.state in ("created", "starting"):
                pending.append(name)
            elif state.health == "unhealthy" and state.state == "running":
                if slow_probe_only(stack, name):
                    states[name] = replace(state, health="healthy")  # its probe is slow, not the service
                elif name not in verdicts:  # Docker may say so before our own look: still say why
                    verdicts[name] = diagnose(stack, name) or state.problem()
            elif state.health == "starting" and state.state == "running":
                seen = first_seen.setdefault(state.container_id, time.monotonic())
                due = time.monotonic() - seen >= NEVER_HEALTHY_S and time.monotonic() >= asked.get(name, 0.0)
                why = diagnose(stack, name) if due else ""
                asked[name] = time.monotonic() + 2.0  # at most one diagnosis (an exec) per 2 s each
                if why:
                    verdicts[name] = why
                else:
                    pending.append(name)
        for name, state in states.items():
            sure = verdicts.get(name) or (state.problem() if name not in pending and not state.ok else "")
            if sure and name not in told and on_line is not None:
                on_line(f" {name} {sure} (not waiting for it)")
                told.add(name)
        if not pending or time.monotonic() >= deadline:
            return states, verdicts, bool(pending)
        time.sleep(0.5)


def diagnose(stack: Inspected, service: str) -> str:
    """Why a running service is not healthy, when it can be told ('' when it may just be slow): its
    health path asked from the host (a 404 is an answer), else the ports it listens on (from
    /proc/net/tcp) against the port its health check asks."""
    container = stack.container(service)
    if container is None:
        return ""
    # attrs came with the container: no Docker call here
    test = " ".join((container.attrs.get("Config", {}).get("Healthcheck") or {}).get("Test") or [])
    status = (container.attrs.get("State", {}).get("Health") or {}).get("Status")
    match = _HEALTH_URL.search(test)
    if status not in ("starting", "unhealthy") or match is None:
        return ""
    port, path = int(match.group(1)), match.group(2) or "/"
    answer = _http_status(published_ports(stack.ws.compose_path).get(service), path)
    if answer is not None:
        return f"never became healthy: its health check GET {path} answers {answer}" if answer >= 400 else ""
    code, output = stack.exec(service, ["cat", "/proc/net/tcp", "/proc/net/tcp6"], timeout=5)
    listening = listening_ports(output) if code == 0 else set()
    if port in listening and port in loopback_only_ports(output):
        return (
            f"never became healthy: it listens on 127.0.0.1:{port} (loopback) only, which nothing outside "
            "its own container reaches (not the host, not the other services); listen on 0.0.0.0"
        )
    if listening and port not in listening:
        shown = ", ".join(str(p) for p in sorted(listening))
        return f"never became healthy: it listens on port {shown}, not on its declared port {port}"
    return ""


def slow_probe_only(stack: Inspected, service: str) -> bool:
    """An `unhealthy` service whose probes only timed out (a busy machine starts the probe's interpreter
    slowly) while its health path, asked from the host, answers below 400: it works."""
    container = stack.container(service)
    if container is None:
        return False
    # attrs came with the container: no Docker call here
    test = " ".join((container.attrs.get("Config", {}).get("Healthcheck") or {}).get("Test") or [])
    health = container.attrs.get("State", {}).get("Health") or {}
    match = _HEALTH_URL.search(test)
    codes = {entry.get("ExitCode") for entry in (health.get("Log") or [])[-3:]}
    if health.get("Status") != "unhealthy" or match is None or codes != {-1}:
        return False
    answer = _http_status(published_ports(stack.ws.compose_path).get(service), match.group(2) or "/")
    return answer is not None and answer < 400


def failures(
    stack: Inspected,
    states: dict[str, ServiceState],
    timed_out: bool,
    only: list[str] | None = None,
    verdicts: dict[str, str] | None = None,
    waited_s: int = 0,
    compose_error: str = "",
) -> list[ServiceFailure]:
    """Each service that is not ok, and why. `compose_error`: Compose's own line when `up` failed, given to
    the services it left without a started container ('is created' alone sent people round in circles)."""
    failed = []
    for name in only or compose_services(stack.ws.compose_path):
        state = states.get(name)
        if state is None:
            failed.append(ServiceFailure(name, "has no container", ""))  # Stack.up raised if compose failed
        elif not state.ok:
            reason = (verdicts or {}).get(name) or state.problem()
            if timed_out and state.health == "starting" and not (verdicts or {}).get(name):
                reason = f"never became healthy within {waited_s or stack.up_timeout}s"
            if state.state == "created":
                reason = _because(reason, compose_error)
            failed.append(ServiceFailure(name, reason, stack.logs(name)))
    return failed


def _because(reason: str, compose_error: str) -> str:
    return f"{reason}: docker compose up failed: {compose_error[:300]}" if compose_error else reason


def _http_status(host_port: int | None, path: str) -> int | None:
    """The status a GET of the published port answers (None: no answer, nothing listens yet)."""
    import httpx

    if not host_port:
        return None
    try:
        return httpx.get(f"http://127.0.0.1:{host_port}{path}", timeout=2.0, trust_env=False).status_code
    except httpx.HTTPError:
        return None


def listening_ports(proc_net_tcp: str) -> set[int]:
    """Local ports in state LISTEN (0A) of /proc/net/tcp and tcp6 lines, except Docker's embedded DNS
    (127.0.0.11, on a random port in every container of a user network)."""
    return set(_listeners(proc_net_tcp))


def loopback_only_ports(proc_net_tcp: str) -> set[int]:
    """The listening ports bound to a loopback address only (127.0.0.1, ::1): unreachable from outside."""
    return {port for port, addresses in _listeners(proc_net_tcp).items() if all(map(_is_loopback, addresses))}


def _listeners(proc_net_tcp: str) -> dict[int, set[str]]:
    """Listening port -> the addresses (hex, as /proc/net/tcp writes them) it is bound to."""
    found: dict[int, set[str]] = {}
    for line in proc_net_tcp.splitlines():
        fields = line.split()
        if len(fields) > 3 and fields[3] == "0A" and ":" in fields[1]:
            address, port = fields[1].rsplit(":", 1)
            if address != _DOCKER_DNS:
                found.setdefault(int(port, 16), set()).add(address)
    return found


def _is_loopback(address: str) -> bool:
    """127.0.0.0/8 (little-endian hex: its last byte 7F), ::ffff:127.x mapped, or ::1."""
    if len(address) == 8:
        return address.endswith("7F")
    return address == "00000000000000000000000001000000" or (
        address.startswith("0000000000000000FFFF0000") and address.endswith("7F")
    )


def state_of(container: Any) -> ServiceState:
    attrs = container.attrs["State"]
    return ServiceState(
        service=container.labels.get(_SERVICE_LABEL, container.name),
        container_id=container.id,
        state=attrs.get("Status", "unknown"),
        health=(attrs.get("Health") or {}).get("Status"),
        exit_code=int(attrs.get("ExitCode", 0)),
        restart_count=int(container.attrs.get("RestartCount", 0)),
        oom_killed=bool(attrs.get("OOMKilled")),
        started_at=_epoch(attrs.get("StartedAt") or ""),
    )


def _epoch(stamp: str) -> float | None:
    """Docker's `2026-01-02T03:04:05.123456789Z` as seconds since the epoch; None for its never-started zero."""
    whole, _, fraction = stamp.rstrip("Z").partition(".")
    try:
        when = datetime.fromisoformat(whole).replace(tzinfo=UTC).timestamp()
    except ValueError:
        return None
    return when + float(f"0.{fraction[:6] or 0}") if when > 0 else None


def port_in_use(output: str) -> int | None:
    """The host port Docker could not bind, from either of its messages (another container, another program)."""
    found = _PORT_IN_USE.search(output)
    return int(found.group(1)) if found else None


def unmade(services: list[str], compose_error: str) -> str:
    """One line for a `compose up` that failed before it made these services' containers: what happened, what
    to do. Docker's address pools come first: the default ones hold ~31 networks, and each stack takes two."""
    said = compose_error[:300].rstrip(".")
    if _NO_POOL in compose_error:
        todo = (
            "Docker has no address range left for the stack's networks (each stack uses 2): `doit down` the "
            "stacks you do not need, `docker network prune`, or give dockerd more default-address-pools"
        )
    else:
        todo = "not the app's fault: fix that"
    return f"docker compose up made no container for {', '.join(services)}: {said}; {todo}, then run `doit` again"


def classify(before: dict[str, str], after: dict[str, str]) -> UpResult:
    """Compare container ids per service of the app: new, replaced, or the same container as before
    (genlib's gateway is plumbing, not the app: a failure of it is still reported)."""
    result = UpResult()
    for service, container_id in sorted(after.items()):
        if service == gateway.SERVICE:
            continue
        if service not in before:
            result.created.append(service)
        elif before[service] != container_id:
            result.recreated.append(service)
        else:
            result.unchanged.append(service)
    return result
