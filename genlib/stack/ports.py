"""Host ports: where each service of a workspace answers on 127.0.0.1.

They belong to the workspace on this machine, not to the app: registry.yaml (the
same in every clone) has none. The compose task chooses them and keeps them in
.genlib/ports.json; everything that needs a service's address reads them here.

    port_base = 0 (default)  each workspace picks its own: a port from a hash of the
                             workspace's project and the service, the next free one if
                             that is taken; kept once chosen (stable across runs), for
                             this workspace only: a copy (`cp -r`) or a moved folder is
                             another project, whose stack must not publish the same ports
    port_base = N            port N + a hash of the service name, as a person set it
"""

from __future__ import annotations

import json
import socket
import zlib
from collections.abc import Iterable

from genlib.errors import WorkspaceError
from genlib.fsutil import read_json_object, write_if_changed
from genlib.workspace import Workspace

PORTS_FILE = "ports.json"
BASE_SPAN = 1000  # port_base + 0..999
# Automatic ports stay below Linux's ephemeral range (32768+), where outgoing connections take theirs.
AUTO_LOW, AUTO_HIGH = 20000, 32000
PROBES = 64  # ports tried per service before giving up: bounded whatever the answer holds


def load(ws: Workspace) -> dict[str, int]:
    """The chosen host port of each service ({} before the first `doit compose`)."""
    return _read(ws)[1]


def origin(ws: Workspace) -> str:
    """Where the ports came from, for `doit status`."""
    base = _read(ws)[0]
    if base > 0:
        return f"port_base {base} + a hash of each service name"
    return f"picked for this workspace, kept in .genlib/{PORTS_FILE}" if base == 0 else "not chosen yet: run `doit`"


def assign(ws: Workspace, services: Iterable[str], port_base: int) -> dict[str, int]:
    """Choose (or keep) a host port for each service, record them, and return them."""
    wanted = sorted(set(services))
    if port_base:
        chosen = hashed(wanted, port_base)
    else:
        kept_base, kept, project = _read(ws)
        mine = project in (None, ws.project_name)  # a file of older genlibs names no project: kept too
        chosen = _automatic(ws, wanted, kept if kept_base == 0 and mine else {})
    record(ws, chosen, port_base)
    return chosen


def record(ws: Workspace, chosen: dict[str, int], port_base: int = 0) -> None:
    """Write .genlib/ports.json (only when it changes, so doit's checksum stays put)."""
    data = {"port_base": port_base, "project": ws.project_name, "services": chosen}
    text = json.dumps(data, indent=2, sort_keys=True) + "\n"
    target = ws.state_dir / PORTS_FILE
    write_if_changed(target, text)


def hashed(services: Iterable[str], base: int) -> dict[str, int]:
    """port_base + a stable hash per service name, so adding a service never moves another one."""
    names = sorted(set(services))
    if len(names) > BASE_SPAN:
        raise WorkspaceError(f"{len(names)} services do not fit in port_base's {BASE_SPAN} ports; split the app")
    taken: dict[int, str] = {}
    for service in names:
        port = base + zlib.crc32(service.encode()) % BASE_SPAN
        while port in taken:  # ends: fewer names than ports
            port = base + (port - base + 1) % BASE_SPAN
        taken[port] = service
    return {service: port for port, service in sorted(taken.items(), key=lambda item: item[1])}


def _automatic(ws: Workspace, services: list[str], kept: dict[str, int]) -> dict[str, int]:
    """Keep what was chosen before; pick a free port for each new service."""
    chosen = {name: port for name, port in kept.items() if name in services}
    used = set(chosen.values())
    for service in services:
        if service not in chosen:
            port = _free_port(_start(ws, service), used)
            chosen[service] = port
            used.add(port)
    return dict(sorted(chosen.items()))


def _start(ws: Workspace, service: str) -> int:
    """Where the search begins: differs between workspaces, the same for one workspace on every run."""
    return AUTO_LOW + zlib.crc32(f"{ws.project_name}\0{service}".encode()) % (AUTO_HIGH - AUTO_LOW)


def _free_port(start: int, used: set[int]) -> int:
    span = AUTO_HIGH - AUTO_LOW
    for step in range(PROBES):
        port = AUTO_LOW + (start - AUTO_LOW + step) % span
        if port not in used and is_free(port):
            return port
    raise WorkspaceError(f"no free port on 127.0.0.1 near {start} ({PROBES} tried); stop other stacks or set port_base")


def is_free(port: int) -> bool:
    """Nothing listens on 127.0.0.1:port now (a bind succeeds)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _read(ws: Workspace) -> tuple[int, dict[str, int], str | None]:
    """(port_base they were chosen with, service -> port, the project they were chosen for); a damaged file is
    chosen again."""
    try:
        data = read_json_object(ws.state_dir / PORTS_FILE, fix="it is rebuilt by `doit compose`")
    except WorkspaceError:
        return -1, {}, None
    if data is None:
        return -1, {}, None
    services, base, project = data.get("services"), data.get("port_base"), data.get("project")
    if not isinstance(services, dict) or not isinstance(base, int):
        return -1, {}, None
    kept = {str(k): v for k, v in services.items() if isinstance(v, int) and 0 < v < 65536}
    return base, kept, project if isinstance(project, str) else None
