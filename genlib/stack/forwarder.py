"""The gateway's program: forward each listening port to one service of the stack, TCP both ways.

It runs inside the gateway container (`python3 -c <this file> 20001=notes-api:3000 ...`, see
genlib.stack.gateway), on whatever python3 the runtime's image has, so it uses the standard
library only. The address of a service is looked up at each connection: a recreated service
(a new container, a new address) is reached without restarting the gateway.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import sys
from collections.abc import Awaitable, Callable

CHUNK = 65536
CONNECT_TIMEOUT_S = 10.0

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def parse_route(route: str) -> tuple[int, str, int]:
    """`20001=notes-api:3000` -> (20001, "notes-api", 3000)."""
    listen, _, target = route.partition("=")
    host, _, port = target.rpartition(":")
    if not listen.isdigit() or not host or not port.isdigit():
        raise ValueError(f"a route is LISTEN=SERVICE:PORT, not {route!r}")
    return int(listen), host, int(port)


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy until the sender is done, then pass its end on (a half-close: the answer may still come)."""
    try:
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except OSError:
        writer.close()


def reset(writer: asyncio.StreamWriter) -> None:
    """Close with a reset, as a port nothing listens on would answer: the client fails at once."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.close()


def handler(host: str, port: int) -> Handler:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream = await asyncio.wait_for(asyncio.open_connection(host, port), CONNECT_TIMEOUT_S)
        except (TimeoutError, OSError):
            reset(writer)
            return
        up_reader, up_writer = upstream
        try:
            await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        finally:
            up_writer.close()
            writer.close()

    return handle


async def serve(routes: list[str]) -> None:
    servers = []
    for route in routes:
        listen, host, port = parse_route(route)
        servers.append(await asyncio.start_server(handler(host, port), "0.0.0.0", listen))
    print("gateway: forwarding " + ", ".join(routes), flush=True)
    await asyncio.gather(*(server.serve_forever() for server in servers))


if __name__ == "__main__":
    asyncio.run(serve(sys.argv[1:]))
