"""A stdlib API that proves the wiring: DATABASE_URL is set, REDIS_URL answers PING."""

import os
import socket
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse


def redis_ping() -> str:
    url = urlparse(os.environ["REDIS_URL"])
    with socket.create_connection((url.hostname, url.port or 6379), timeout=3) as sock:
        sock.sendall(b"PING\r\n")
        return sock.recv(64).decode().strip()


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/health":
            body = "ok" if urlparse(os.environ["DATABASE_URL"]).scheme == "postgresql" else "no database"
        elif self.path == "/cache":
            body = redis_ping()
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, format: str, *args: object) -> None:
        print(format % args, flush=True)


print("listening", flush=True)
ThreadingHTTPServer(("0.0.0.0", int(os.environ.get("PORT", "8000"))), Handler).serve_forever()
