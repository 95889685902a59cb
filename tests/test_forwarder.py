"""The gateway's forwarder in-process, on loopback: bytes both ways, a half-close, a dead service."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator

import pytest

from genlib.stack.forwarder import parse_route, serve


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def upper_server() -> Iterator[int]:
    """A service that reads until the client is done sending, then answers it upper-cased."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()

        def answer() -> None:
            conn, _ = server.accept()
            with conn:
                received = b""
                while chunk := conn.recv(65536):
                    received += chunk
                conn.sendall(received.upper())

        threading.Thread(target=answer, daemon=True).start()
        yield int(server.getsockname()[1])


def start_gateway(*routes: str) -> None:
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_until_complete, args=(serve(list(routes)),), daemon=True).start()


def connect(port: int) -> socket.socket:
    for _ in range(100):
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=5)
        except ConnectionRefusedError:
            threading.Event().wait(0.05)  # the gateway is still starting
    raise AssertionError(f"the gateway never listened on {port}")


def test_bytes_go_both_ways_and_the_answer_follows_a_half_close(upper_server: int) -> None:
    listen = free_port()
    start_gateway(f"{listen}=127.0.0.1:{upper_server}")
    with connect(listen) as client:
        client.sendall(b"x" * 200_000)
        client.shutdown(socket.SHUT_WR)  # done sending: the service answers only now
        received = b""
        while chunk := client.recv(65536):
            received += chunk
    assert received == b"X" * 200_000


def test_a_service_that_is_not_listening_resets_the_client() -> None:
    """As a port nothing listens on would: the client fails at once (in connect or at its first read)."""
    listen, dead = free_port(), free_port()
    start_gateway(f"{listen}=127.0.0.1:{dead}")
    with pytest.raises(ConnectionResetError), connect(listen) as client:
        client.sendall(b"GET / HTTP/1.0\r\n\r\n")
        client.recv(10)


@pytest.mark.parametrize("route", ["8000", "8000=api", "x=api:1", "8000=:1", "8000=api:x"])
def test_a_malformed_route_is_refused(route: str) -> None:
    with pytest.raises(ValueError, match="LISTEN=SERVICE:PORT"):
        parse_route(route)
