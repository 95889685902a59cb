"""A scripted OpenAI-compatible server on 127.0.0.1: the real HTTP API, answers queued by the test.

It speaks what llama.cpp's llama-server, vLLM and hosted APIs speak (shapes from OpenAI's API reference):
GET /v1/models, GET /props (llama.cpp's own, when `llama` is set), POST /v1/chat/completions streamed as
server-sent events (`data: {chunk}` lines, a usage chunk when `stream_options.include_usage`, then
`data: [DONE]`) or answered as one JSON object.
`enqueue()` queues answers or faults (ollama_server's Fault kinds: `cut` ends with finish_reason "length";
plus `rate_limited`); `history` records every request with its headers. The code under test uses the real httpx client.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from itertools import chain
from typing import Any

import ollama_server
import pytest
from ollama_server import Fault, LoopbackServer, cut

MODEL = "Qwen/Qwen2.5-Coder-7B-Instruct"
_CREATED = 1_733_446_089


def rate_limited(retry_after: float = 0) -> Fault:
    """429 with a Retry-After header."""
    return Fault("status", status=429, error="Rate limit reached for requests", seconds=retry_after)


@dataclass(frozen=True)
class Request(ollama_server.Request):
    headers: dict[str, str]


class ScriptedOpenAI(LoopbackServer):
    chat_path = "/v1/chat/completions"
    url_suffix = "/v1"

    def __init__(self, models: list[str] | None = None) -> None:
        self.models = list(models if models is not None else [MODEL])
        self.piece = 8  # characters per streamed chunk (~ one token each)
        self.api_key = ""  # when set, every request must carry `Authorization: Bearer <api_key>`
        self.ignore_stream = False  # answer one JSON object even when asked to stream (some proxies do)
        self.refuse_schema = False  # 400 on response_format json_schema (older llama.cpp)
        self.timings = False  # add llama.cpp's `timings` object to the last chunk
        self.enforce_max_tokens = False  # stop an answer at max_tokens tokens (4 chars), finish_reason length
        self.llama = False  # answer GET /props (beside /v1) as llama.cpp's server does: it takes DRY and the like
        self.n_params = 0  # when set, /v1/models says the model's size as llama.cpp does (`meta.n_params`)
        super().__init__(_handler(self))


def _handler(server: ScriptedOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # keep pytest output clean
            pass

        def handle(self) -> None:
            with suppress(ConnectionResetError):  # a `doit` that exited without closing its keep-alive connection
                super().handle()

        def do_GET(self) -> None:
            self._record({})
            if not self._authorized():
                return
            if self.path == "/props" and server.llama:
                self._json(200, {"default_generation_settings": {"params": {"dry_multiplier": 0.0}}, "n_ctx": 8192})
            elif self.path == "/v1/models":
                data = [
                    {"id": m, "object": "model", "created": _CREATED, "owned_by": "scripted"} for m in server.models
                ]
                if server.n_params:
                    data = [{**entry, "meta": {"n_params": server.n_params}} for entry in data]
                self._json(200, {"object": "list", "data": data})
            else:
                self._error(404, f"Not Found: {self.path}", "not_found_error")

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            self._record(body)
            if not self._authorized():
                return
            if self.path != "/v1/chat/completions":
                self._error(404, f"Not Found: {self.path}", "not_found_error")
            elif body.get("model") not in server.models:
                self._error(404, f"The model `{body.get('model')}` does not exist.", "NotFoundError")
            elif server.refuse_schema and body.get("response_format", {}).get("type") == "json_schema":
                self._error(400, "response_format: json_schema is not supported", "invalid_request_error")
            else:
                self._chat(body)

        def _record(self, body: dict[str, Any]) -> None:
            server.history.append(Request(self.command, self.path, body, dict(self.headers.items())))

        def _authorized(self) -> bool:
            if not server.api_key:
                return True
            sent = self.headers.get("Authorization", "")
            if sent == f"Bearer {server.api_key}":
                return True
            # echoes what it got, as careless proxies do: genlib must not repeat it anywhere
            self._error(401, f"Incorrect API key provided: {sent.removeprefix('Bearer ')}", "invalid_api_key")
            return False

        def _chat(self, body: dict[str, Any]) -> None:
            item = server.answer(body)
            fault = item if isinstance(item, Fault) else None
            text = item if isinstance(item, str) else item.text
            limit = 4 * int(body.get("max_tokens") or 0)
            if server.enforce_max_tokens and limit and len(text) > limit and not fault:
                text, fault = text[:limit], cut(text[:limit])  # what a server does at max_tokens
            if fault and fault.kind == "status":
                headers = {"Retry-After": f"{fault.seconds:g}"} if fault.status == 429 else {}
                self._error(fault.status, fault.error, "server_error", headers)
                return
            if fault and fault.kind == "delay":
                time.sleep(fault.seconds)
            finish = "length" if fault and fault.kind == "cut" else "stop"
            if not body.get("stream") or server.ignore_stream:
                message = {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish}
                self._json(200, {**_head(body, "chat.completion"), "choices": [message], "usage": _usage(body, text)})
                return
            pieces = [text[i : i + server.piece] for i in range(0, len(text), server.piece)]
            chunks = [_delta(body, {"role": "assistant", "content": p}, None) for p in pieces]
            if fault and fault.kind == "broken":
                self._stream(iter(chunks[: fault.after // server.piece]), cut=True)
                return
            last = _delta(body, {}, finish)
            if server.timings:
                last["timings"] = {"prompt_n": 10, "prompt_ms": 250.5, "predicted_n": len(pieces), "predicted_ms": 1500}
            chunks.append(last)
            if (body.get("stream_options") or {}).get("include_usage"):
                chunks.append({**_head(body, "chat.completion.chunk"), "choices": [], "usage": _usage(body, text)})
            self._stream(_paced(chunks, fault.seconds if fault and fault.kind == "slow" else 0))

        def _error(self, code: int, message: str, kind: str, headers: dict[str, str] | None = None) -> None:
            self._json(code, {"error": {"message": message, "type": kind, "code": code}}, headers)

        def _json(self, code: int, data: dict[str, Any], headers: dict[str, str] | None = None) -> None:
            payload = json.dumps(data).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        def _stream(self, chunks: Iterator[dict[str, Any]], *, cut: bool = False) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            events = chain((f"data: {json.dumps(c)}\n\n" for c in chunks), [] if cut else ["data: [DONE]\n\n"])
            try:
                for event in events:
                    data = event.encode()
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                    self.wfile.flush()
                if cut:  # no terminating chunk: the client sees an incomplete body
                    self.close_connection = True
                    return
                self.wfile.write(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client went away (a timeout or Ctrl-C)

    return Handler


def _paced(chunks: list[dict[str, Any]], seconds: float) -> Iterator[dict[str, Any]]:
    for chunk in chunks:
        time.sleep(seconds)
        yield chunk


def _head(body: dict[str, Any], kind: str) -> dict[str, Any]:
    return {"id": "chatcmpl-scripted", "object": kind, "created": _CREATED, "model": body["model"]}


def _delta(body: dict[str, Any], delta: dict[str, str], finish: str | None) -> dict[str, Any]:
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    return {**_head(body, "chat.completion.chunk"), "choices": [choice]}


def _usage(body: dict[str, Any], text: str) -> dict[str, int]:
    prompt = sum(len(m.get("content", "")) for m in body.get("messages", [])) // 4
    completion = max(1, len(text) // 4)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


@pytest.fixture
def openai_api() -> Iterator[ScriptedOpenAI]:
    """A running scripted OpenAI-compatible server; tests point genlib at it (provider=openai base_url=...)."""
    server = ScriptedOpenAI().start()
    yield server
    server.stop()
