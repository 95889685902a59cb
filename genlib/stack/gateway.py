"""The stack's one way in: a genlib gateway container that alone publishes the host ports.

The app's services sit on the project's `default` network, which docker-compose.yml.j2 makes
internal (no route out) with no address on the host's side of its bridge (an internal network
alone still lets a container reach the host's own addresses): they reach each other and nothing
else. Docker publishes no ports from an internal network, so the gateway, on that network and on
an ordinary one, publishes `127.0.0.1:<host port>` for each service and forwards to `<service>:<port>`
(genlib.stack.forwarder). It needs no image of its own: the python runtime's image runs the
forwarder's source, passed in its command.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

SERVICE: Final = "genlib-gateway"  # never a component's service, which is always <name>-<layer>
FORWARDER: Final = Path(__file__).with_name("forwarder.py")


@dataclass(frozen=True)
class Route:
    host_port: int
    service: str
    port: int

    def arg(self) -> str:
        return f"{self.host_port}={self.service}:{self.port}"


def routes(host_ports: dict[str, int], ports: dict[str, int | None]) -> list[Route]:
    """One route per service with a host port and a port of its own, sorted by service."""
    return [
        Route(host_port, service, port)
        for service, host_port in sorted(host_ports.items())
        if (port := ports.get(service))
    ]


@dataclass(frozen=True)
class Gateway:
    """What docker-compose.yml.j2 gets as `gateway`."""

    service: str
    image: str
    command: list[str]
    routes: list[Route]


def context(routes: list[Route], image: str) -> Gateway | None:
    """The gateway of these routes (None: nothing to publish, no gateway). The forwarder's source is in the
    command, so a new genlib's forwarder, like new routes, recreates the gateway."""
    if not routes:
        return None
    source = FORWARDER.read_text(encoding="utf-8")
    return Gateway(SERVICE, image, ["python3", "-c", source, *(r.arg() for r in routes)], routes)
