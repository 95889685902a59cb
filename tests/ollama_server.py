"""A scripted Ollama on 127.0.0.1: the real HTTP API, answers queued by the test.

It speaks what the official client sends and expects (shapes from Ollama's
docs/api.md): POST /api/chat (streamed NDJSON over chunked encoding, or one
JSON object), GET /api/tags, POST /api/show, POST /api/pull (streamed status
lines), GET /api/version. `enqueue()` queues the next answers or faults;
`history` records every request; `responder`, when set, answers from the request
itself. The code under test uses the unpatched client.

A scripted answer is the app the model means to write, and the request decides its form (LoopbackServer.answer):
a whole JSON answer for a request in one piece; for a request in steps (genlib.model.stepgen: its prompt says
"## Answer in steps") the plan or heal header, the same answer without the files' content, then for each
"## Now write <path>" request that file's content in a fenced block, whatever order the files are asked in.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

import pytest

MODEL = "qwen2.5-coder:7b"
_CREATED = "2024-12-06T00:48:09.983619Z"
_DIGEST = "sha256:" + "ab" * 32
STEPS_MARK = "## Answer in steps"  # in a gen's plan prompt and a heal's header prompt (genlib.model.stepgen)
_NOW_WRITE = "## Now write "  # a file request names its file on this line (templates/file.md.j2)
CONTINUE_MARK = "was cut off at the token limit"  # a request for the rest of a cut file (genlib.model.continued)


@dataclass(frozen=True)
class Fault:
    """Something other than a clean answer.

    broken   stream `text` up to `after` characters, then close the connection
    delay    wait `seconds` before answering `text` (a client timeout fires first)
    status   answer HTTP `status` with Ollama's {"error": ...} body
    slow     stream `text` one piece every `seconds` (to interrupt mid-answer)
    held     answer `text` only once `gate` is set (a run kept busy for as long as a test needs; 300 s at most)
    cut      stream `text`, then end with done_reason "length" (the server stopped at num_predict)
    """

    kind: str
    text: str = ""
    after: int = 0
    seconds: float = 0.0
    gate: threading.Event | None = None
    status: int = 0
    error: str = ""


def broken(text: str, after: int = 40) -> Fault:
    return Fault("broken", text=text, after=after)


def delay(seconds: float, text: str = "{}") -> Fault:
    return Fault("delay", text=text, seconds=seconds)


def held(text: str, gate: threading.Event) -> Fault:
    return Fault("held", text=text, gate=gate)


def status(code: int, error: str) -> Fault:
    return Fault("status", status=code, error=error)


def slow(text: str, seconds: float = 0.2) -> Fault:
    return Fault("slow", text=text, seconds=seconds)


def cut(text: str) -> Fault:
    return Fault("cut", text=text)


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: dict[str, Any]


class LoopbackServer:
    """A scripted model server on 127.0.0.1: queued answers or faults, and every request it got."""

    chat_path = ""  # where chats are posted
    url_suffix = ""  # what a client's base URL adds to the address

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.queue: deque[str | Fault] = deque()
        # answers computed from the request when the queue is empty: a model that reads its prompt
        self.responder: Callable[[dict[str, Any]], str] | None = None
        self.history: list[Request] = []
        self.app: dict[str, str] = {}  # path -> content of the app last answered in steps: its files' answers
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}{self.url_suffix}"

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def enqueue(self, *items: str | Fault) -> None:
        self.queue.extend(items)

    def chats(self) -> list[dict[str, Any]]:
        return [r.body for r in self.history if r.path == self.chat_path]

    def app_chats(self) -> list[dict[str, Any]]:
        """The requests for a whole answer, a plan or a heal header (retries included): not those for one file."""
        return [c for c in self.chats() if file_asked(c) is None]

    def file_chats(self) -> list[dict[str, Any]]:
        return [c for c in self.chats() if file_asked(c) is not None]

    def answer(self, body: dict[str, Any]) -> str | Fault:
        """What the model says to this chat: a file request is answered from the app its plan came from; else
        the next queued item (or the responder's), a whole answer turned into a plan when asked in steps."""
        path = file_asked(body)
        if path is not None and path in self.app:
            return file_answer(body, self.app[path])
        if self.queue:
            item: str | Fault = self.queue.popleft()
        elif self.responder is not None:
            item = self.responder(body)
        else:
            return status(500, "scripted server: no answer queued")
        if path is None and asks_in_steps(body):
            plan, self.app = as_plan(item if isinstance(item, str) else item.text)
            item = plan if isinstance(item, str) else replace(item, text=plan)  # a fault delivers the plan
        return item


def file_asked(chat: dict[str, Any]) -> str | None:
    """The path a file request asks for (a re-ask carries the first ask, then the rejected answer and the error)."""
    found = [
        line.removeprefix(_NOW_WRITE)
        for m in chat.get("messages", [])
        for line in str(m.get("content", "")).splitlines()
        if line.startswith(_NOW_WRITE)
    ]
    return found[-1] if found else None


def asks_in_steps(chat: dict[str, Any]) -> bool:
    return any(STEPS_MARK in str(m.get("content", "")) for m in chat.get("messages", []))


def as_plan(text: str) -> tuple[str, dict[str, str]]:
    """A whole answer as its plan (the files without content) and the files' content by path; any other text
    (not JSON, a plan already, a hostile shape) as it is, with no files."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return text, {}
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, list) or not all(isinstance(f, dict) and isinstance(f.get("content"), str) for f in files):
        return text, {}
    plan = {**data, "files": [{k: v for k, v in f.items() if k != "content"} for f in files]}
    return json.dumps(plan), {f["path"]: f["content"] for f in files if isinstance(f.get("path"), str)}


def fenced(content: str) -> str:
    """A file's answer: its content in one fenced block, the fence longer than any run of backticks in it."""
    longest = max((len(m) for m in re.findall(r"^\s*(`{3,})", content, re.MULTILINE)), default=0)
    fence = "`" * max(3, longest + 1)
    ending = "" if content.endswith("\n") or not content else "\n"
    return f"{fence}\n{content}{ending}{fence}\n"


def file_answer(chat: dict[str, Any], content: str) -> str:
    """The file in a fenced block; asked for the rest of a cut one, the rest, from the start of the line the
    received part stopped in (as a model that writes that line again whole)."""
    whole = fenced(content)
    messages = chat.get("messages", [])
    if len(messages) < 2 or CONTINUE_MARK not in str(messages[-1].get("content", "")):
        return whole
    received = str(messages[-2].get("content", ""))
    if not whole.startswith(received):
        return whole
    return whole[received.rfind("\n") + 1 :]


class ScriptedOllama(LoopbackServer):
    chat_path = "/api/chat"

    def __init__(self, models: list[str] | None = None) -> None:
        self.models = list(models if models is not None else [MODEL])
        self.piece = 8  # characters per streamed chunk (~ one token each)
        self.thinking = ""  # streamed as message.thinking before the answer when a request asks to think
        self.prompt_eval_count: int | None = None  # report this instead of prompt chars / 4 (a dropped prompt)
        self.enforce_num_predict = False  # stop an answer at options.num_predict tokens (4 chars), done_reason length
        super().__init__(_handler(self))


def _handler(server: ScriptedOllama) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # chunked streaming, like Ollama's Go server

        def log_message(self, format: str, *args: Any) -> None:  # keep pytest output clean
            pass

        def do_GET(self) -> None:
            server.history.append(Request("GET", self.path, {}))
            if self.path == "/api/version":
                self._json(200, {"version": "0.6.2"})
            elif self.path == "/api/tags":
                self._json(200, {"models": [_model_entry(m) for m in server.models]})
            else:
                self._json(404, {"error": "404 page not found"})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            server.history.append(Request("POST", self.path, body))
            route = {"/api/chat": self._chat, "/api/show": self._show, "/api/pull": self._pull}.get(self.path)
            if route is None:
                self._json(404, {"error": "404 page not found"})
            else:
                route(body)

        def _show(self, body: dict[str, Any]) -> None:
            if body["model"] not in server.models:
                self._json(404, {"error": f"model '{body['model']}' not found"})
                return
            self._json(200, _show_entry())

        def _pull(self, body: dict[str, Any]) -> None:
            total = 4_683_073_184
            lines: list[dict[str, Any]] = [{"status": "pulling manifest"}]
            lines += [
                {"status": f"pulling {_DIGEST[7:19]}", "digest": _DIGEST, "total": total, "completed": total * n // 4}
                for n in range(5)
            ]
            lines += [{"status": "verifying sha256 digest"}, {"status": "writing manifest"}, {"status": "success"}]
            server.models.append(body["model"])
            self._stream(json.dumps(line) for line in lines)

        def _chat(self, body: dict[str, Any]) -> None:
            if body["model"] not in server.models:
                self._json(404, {"error": f'model "{body["model"]}" not found, try pulling it first'})
                return
            item = server.answer(body)
            fault = item if isinstance(item, Fault) else None
            text = item if isinstance(item, str) else item.text
            limit = 4 * int(body.get("options", {}).get("num_predict", 0))
            if server.enforce_num_predict and limit and len(text) > limit and not fault:
                text, fault = text[:limit], cut(text[:limit])  # what Ollama does at the token limit
            if fault and fault.kind == "status":
                self._json(fault.status, {"error": fault.error})
                return
            if fault and fault.kind == "delay":
                time.sleep(fault.seconds)
            if fault and fault.kind == "held" and fault.gate is not None:
                fault.gate.wait(300)
            if not body.get("stream", True):
                self._json(200, {**_message(body, text, done=True), **_stats(body, text)})
                return
            pieces = [text[i : i + server.piece] for i in range(0, len(text), server.piece)]
            if fault and fault.kind == "broken":
                self._stream((json.dumps(_message(body, p)) for p in pieces[: fault.after // server.piece]), cut=True)
                return
            final = {**_message(body, "", done=True), **_stats(body, text)}
            if fault and fault.kind == "cut":
                final["done_reason"] = "length"
            if server.prompt_eval_count is not None:
                final["prompt_eval_count"] = server.prompt_eval_count
            thought = server.thinking if body.get("think") else ""
            thinking = [{**_message(body, ""), "message": {"role": "assistant", "content": "", "thinking": thought}}]
            lines = [json.dumps(t) for t in (thinking if thought else [])]
            lines += [json.dumps(_message(body, p)) for p in pieces] + [json.dumps(final)]
            self._stream(_paced(lines, fault.seconds if fault and fault.kind == "slow" else 0))

        def _json(self, code: int, data: dict[str, Any]) -> None:
            payload = json.dumps(data).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _stream(self, lines: Iterator[str], *, cut: bool = False) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/x-ndjson")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            try:
                for line in lines:
                    data = (line + "\n").encode()
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                    self.wfile.flush()
                if cut:  # no terminating chunk: the client sees an incomplete body
                    self.close_connection = True
                    return
                self.wfile.write(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client went away (a timeout or Ctrl-C)

    return Handler


def _paced(lines: list[str], seconds: float) -> Iterator[str]:
    for line in lines:
        time.sleep(seconds)
        yield line


def _message(body: dict[str, Any], content: str, *, done: bool = False) -> dict[str, Any]:
    return {
        "model": body["model"],
        "created_at": _CREATED,
        "message": {"role": "assistant", "content": content},
        "done": done,
    }


def _stats(body: dict[str, Any], text: str) -> dict[str, Any]:
    prompt_chars = sum(len(m.get("content", "")) for m in body.get("messages", []))
    return {
        "done_reason": "stop",
        "total_duration": 4_883_583_458,
        "load_duration": 1_334_875,
        "prompt_eval_count": prompt_chars // 4,
        "prompt_eval_duration": 342_546_000,
        "eval_count": max(1, len(text) // 4),
        "eval_duration": 4_535_599_000,
    }


def _model_entry(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "model": name,
        "modified_at": "2024-11-04T14:56:49.277302595-07:00",
        "size": 4_683_073_184,
        "digest": _DIGEST[7:],
        "details": _details(),
    }


def _details() -> dict[str, Any]:
    return {
        "parent_model": "",
        "format": "gguf",
        "family": "qwen2",
        "families": ["qwen2"],
        "parameter_size": "7.6B",
        "quantization_level": "Q4_K_M",
    }


def _show_entry() -> dict[str, Any]:
    return {
        "modelfile": '# Modelfile generated by "ollama show"\nFROM qwen2.5-coder:7b\n',
        "parameters": 'stop "<|im_end|>"',
        "template": "{{ .Prompt }}",
        "details": _details(),
        "model_info": {"general.architecture": "qwen2", "qwen2.context_length": 32768},
        "capabilities": ["completion", "tools", "insert"],
        "modified_at": "2024-11-04T14:56:49.277302595-07:00",
    }


@pytest.fixture
def ollama(monkeypatch: pytest.MonkeyPatch) -> Iterator[ScriptedOllama]:
    """A running scripted Ollama; OLLAMA_HOST points at it (for in-process code and `doit` subprocesses)."""
    server = ScriptedOllama().start()
    monkeypatch.setenv("OLLAMA_HOST", server.url)
    yield server
    server.stop()
