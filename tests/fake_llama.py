#!/usr/bin/env python3
"""genlib.model.localserver with a scripted model in place of llama.cpp (the model boundary).

Run as a script by tests/test_local_server.py through local.SERVER_COMMAND: everything of the background
process is real (the locks, server.json, the idle watch, the signals) except the HTTP server it wraps, which
answers /health, /metrics (llama.cpp's counters), /v1/models and /v1/chat/completions with one fixed reply.
"""

from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from genlib.model import localserver
from genlib.model.local import ServerConfig

COUNTS = {"tokens_predicted_total": 0, "tokens_predicted_seconds_total": 0.0, "n_decode_total": 0}


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:  # keep the log file to genlib's own lines
        pass

    def _send(self, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path == "/metrics":
            text = "".join(f"llamacpp:{name} {value}\n" for name, value in COUNTS.items()).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(text)))
            self.end_headers()
            self.wfile.write(text)
        elif self.path == "/health":
            self._send({"status": "ok"})
        elif self.path == "/v1/models":
            self._send({"object": "list", "data": [{"id": "fake", "object": "model"}]})
        else:
            self.send_error(404)

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        COUNTS["tokens_predicted_total"] += 8
        COUNTS["tokens_predicted_seconds_total"] += 0.5
        COUNTS["n_decode_total"] += 8
        message = {"role": "assistant", "content": "hello"}
        self._send({"choices": [{"index": 0, "message": message, "finish_reason": "stop"}], "usage": {}})


def serve(config: ServerConfig, port: int) -> object:
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


if __name__ == "__main__":
    sys.exit(localserver.main(sys.argv[1:], serve=serve))
