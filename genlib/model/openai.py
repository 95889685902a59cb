"""The provider for any OpenAI-compatible chat API (llama.cpp's llama-server, vLLM, LM Studio, hosted), over httpx."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TextIO

import httpx

from genlib.config import Settings
from genlib.documents.llm_output import Stats
from genlib.errors import ConfigError, LLMAuthFailed, LLMError, LLMRateLimited, LLMTimeout, LLMUnavailable, ModelMissing
from genlib.model.base import Message, Progress, Reply
from genlib.model.sampling import Sampling, llama_fields, openai_fields
from genlib.model.watch import Budget, Watch, say
from genlib.redact import REDACTED, redact
from genlib.text import one_line

RATE_LIMIT_WAITS = 3  # 429s waited out before giving up
MAX_WAIT_S = 30.0  # the longest single wait, whatever Retry-After asks
_LLAMA_MS = 1e3


class _RateLimited(Exception):
    def __init__(self, wait: float, why: str) -> None:
        super().__init__(why)
        self.wait = wait


class _SchemaRefused(Exception):
    """The server does not take `response_format` json_schema (older llama.cpp, some proxies)."""


class OpenAILLM:
    """The model behind an OpenAI-compatible chat API at `settings.base_url` (llama.cpp's llama-server, vLLM,
    LM Studio, SGLang, hosted APIs).

    httpx rather than the `openai` package: it is already here (the ollama client's transport), the API is two
    routes, and the SDK's own retries and typed models would stand between us and the raw status codes,
    Retry-After headers and non-standard fields (llama.cpp's `timings`) this class reads."""

    def __init__(self, settings: Settings, out: TextIO | None = None) -> None:
        self.settings = settings
        self.host = settings.base_url.rstrip("/")
        self.model = settings.model
        self.out = out or sys.stderr  # where rate-limit waits are said
        self._key = _api_key(settings.api_key_env)  # read from the environment, held only in memory
        headers = {"Authorization": f"Bearer {self._key}"} if self._key else {}
        self._client = httpx.Client(base_url=self.host, headers=headers, timeout=settings.timeout)
        self._structured = True  # response_format json_schema, until the server refuses it
        self._llama: bool | None = None  # the server is llama.cpp's (it takes DRY, repeat_penalty): asked once
        self._listing: httpx.Response | None = None  # GET /models, once

    def close(self) -> None:
        self._client.close()

    def ensure_model(self, *, pull: bool, out: TextIO | None = None) -> None:
        """Reach the server and pass its key check; a model it does not serve is its 404 on the first chat."""
        with self._translated(0):
            response = self._client.get("/models")
            self._listing = response  # what it serves; parameters() reads the model's size from it
            if response.status_code == 404:
                raise LLMUnavailable(
                    f"no OpenAI-compatible API at {self.host} (GET /models: 404); base_url usually ends in /v1"
                )
            if response.status_code >= 400:
                self._raise_for(response)

    def parameters(self) -> float | None:
        """The served model's size as llama.cpp's GET /models says it (`meta.n_params`); None when it does not."""
        try:
            self._listing = self._listing or self._client.get("/models")
            entries = [m for m in self._listing.json().get("data", []) if isinstance(m, dict)]
        except (httpx.HTTPError, ValueError, AttributeError):
            return None
        entry = next((m for m in entries if m.get("id") == self.model), entries[0] if len(entries) == 1 else {})
        meta = entry.get("meta")
        count = meta.get("n_params") if isinstance(meta, dict) else None
        return float(count) if isinstance(count, int | float) and count > 0 else None

    def options_for(self, room: int | None = None, again: int = 0) -> dict[str, float | int | str]:
        """The sampling fields the server takes (genlib.model.sampling), max_tokens, and the answer's format."""
        s = self.settings
        sampling = Sampling.of(s, again)
        fields = llama_fields(sampling) if self.is_llama() else openai_fields(sampling)
        return {
            **fields,
            "max_tokens": room or s.num_predict,
            "response_format": "json_schema" if self._structured else "none",
        }

    def is_llama(self) -> bool:
        """llama.cpp's server, which takes its own sampling fields (a strict hosted API refuses unknown ones):
        setting llama_samplers, or for `auto` whether GET /props (llama.cpp's, beside /v1) answers."""
        if self._llama is None:
            choice = self.settings.llama_samplers
            self._llama = choice == "on" or (choice == "auto" and self._props_answer())
        return self._llama

    def _props_answer(self) -> bool:
        root = self.host.removesuffix("/v1")
        try:
            response = self._client.get(f"{root}/props")
            return response.status_code == 200 and "default_generation_settings" in response.json()
        except (httpx.HTTPError, ValueError, TypeError):
            return False

    def reserve(self, prompt_chars: int) -> None:
        """The server owns its context window: nothing to size."""

    def room_for(self, messages: list[Message], wanted: int) -> int:
        """num_predict: the server's window is unknown here, and a max_tokens over it is refused."""
        return min(wanted, self.settings.num_predict)

    def complete(
        self,
        messages: list[Message],
        schema: dict[str, Any] | None,
        on_progress: Progress | None,
        room: int | None = None,
        *,
        again: int = 0,
        budget: Budget | None = None,
    ) -> Reply:
        for waited in range(RATE_LIMIT_WAITS + 1):
            try:
                return self._complete_once(messages, schema, on_progress, room, again, budget)
            except _SchemaRefused:
                self._structured = False  # the schema stays in the prompt; the answer is validated anyway
                self.out.write(f"{self.host} does not take response_format json_schema; asking without it\n")
                return self._complete_once(messages, schema, on_progress, room, again, budget)
            except _RateLimited as limited:
                if waited == RATE_LIMIT_WAITS:
                    raise LLMRateLimited(
                        f"{self.host} still rate-limits {self.model} after {RATE_LIMIT_WAITS} waits ({limited}); "
                        "wait a few minutes or raise your quota, then run the command again"
                    ) from None
                self.out.write(
                    f"rate limited by {self.host} ({limited}); waiting {limited.wait:g}s, "
                    f"then asking again ({waited + 1} of {RATE_LIMIT_WAITS})\n"
                )
                self.out.flush()
                time.sleep(limited.wait)
        raise AssertionError("unreachable")  # the loop returns or raises

    def _complete_once(
        self,
        messages: list[Message],
        schema: dict[str, Any] | None,
        on_progress: Progress | None,
        room: int | None,
        again: int,
        budget: Budget | None,
    ) -> Reply:
        options = self.options_for(room, again)
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "stream": True,
            "stream_options": {"include_usage": True},
            **{k: v for k, v in options.items() if k != "response_format"},
        }
        if self._structured and schema is not None:
            body["response_format"] = {"type": "json_schema", "json_schema": {"name": "answer", "schema": schema}}
        started = time.monotonic()
        answer = _Streamed()
        watch = Watch.of(self.settings, budget)
        stopped = ""
        with self._translated(lambda: answer.tokens), self._client.stream("POST", "/chat/completions", json=body) as r:
            if r.status_code >= 400:
                r.read()
                self._raise_for(r)
            for chunk in _chunks(r):
                received = answer.tokens
                if answer.add(chunk) and on_progress is not None:
                    on_progress(answer.tokens, time.monotonic() - started)
                if answer.tokens > received:
                    stopped = watch.add(answer.pieces[-1])
                if stopped:
                    break  # leaving the block closes the response: the server stops generating
        if stopped:
            say(self.out, stopped)
            wall = round(time.monotonic() - started, 3)
            stats = Stats(completion_tokens=answer.tokens, total_duration_s=wall, wall_s=wall)
            return Reply(self._unkeyed("".join(answer.pieces)), self.model, options, stats, stopped=stopped)
        if answer.finish_reason is None:
            raise LLMError(f"the answer from {self.host} stopped after {answer.tokens} tokens; run the command again")
        stats = answer.stats(time.monotonic() - started)
        cut = answer.finish_reason == "length"
        text = self._unkeyed("".join(answer.pieces))
        return Reply(text, self.model, options, stats, cut=cut, thinking="".join(answer.thinking))

    def _unkeyed(self, text: str) -> str:
        """The answer is written to llm_output.json: not even a server echoing the key gets it there."""
        return text.replace(self._key, REDACTED) if self._key else text

    def _raise_for(self, response: httpx.Response) -> None:
        """An error status -> one genlib error (or a wait, for 429); the key never appears in the message."""
        code, why = response.status_code, self._scrub(_error_text(response))
        if code == 429:
            raise _RateLimited(_retry_after(response), f"429: {why}")
        if code == 400 and self._structured and ("response_format" in why or "json_schema" in why):
            raise _SchemaRefused(why)
        if code in (401, 403):
            if self.settings.api_key_env:
                fix = f"set {self.settings.api_key_env} to a valid key"
            else:
                fix = "put the key in an environment variable and pass its name as api_key_env= (GENLIB_API_KEY_ENV)"
            raise LLMAuthFailed(f"{self.host} refused the request ({code}: {why}); {fix}")
        if code == 404:
            raise ModelMissing(
                f"model {self.model!r} is not served at {self.host} ({why}){self._served()}; pass another model="
            )
        if code >= 500:
            raise LLMError(f"the model server at {self.host} failed ({code}: {why}); see its log, then run again")
        raise LLMError(f"{self.host} refused the request ({code}: {why}); check base_url= and model=")

    def _served(self) -> str:
        """`; it serves a, b` from GET /models, or nothing when that fails too."""
        try:
            data = self._client.get("/models").json()
            names = sorted(str(m.get("id")) for m in data.get("data", []) if isinstance(m, dict))
        except (httpx.HTTPError, ValueError, AttributeError):
            return ""
        return f"; it serves {', '.join(names[:8])}" if names else ""

    def _scrub(self, text: str) -> str:
        """Server text without the key (a careless proxy echoes it) or anything shaped like a credential."""
        return redact(text, known=[self._key] if self._key else [])

    @contextmanager
    def _translated(self, tokens: int | Callable[[], int]) -> Iterator[None]:
        """httpx exceptions -> genlib's, each with the next step for the person."""
        host = self.host
        try:
            yield
        except httpx.ConnectError as exc:
            raise LLMUnavailable(
                f"cannot reach the model server at {host}; start it (llama-server, vllm serve, …) "
                "or set base_url= (GENLIB_BASE_URL)"
            ) from exc
        except httpx.TimeoutException as exc:
            raise LLMTimeout(
                f"{self.model} at {host} sent nothing for {self.settings.timeout:g}s; "
                "raise timeout= (GENLIB_TIMEOUT) or use a smaller model"
            ) from exc
        except (httpx.TransportError, httpx.StreamError, json.JSONDecodeError) as exc:
            count = tokens() if callable(tokens) else tokens
            why = self._scrub(_one_line(str(exc))) or type(exc).__name__
            raise LLMError(f"the stream from {host} broke after {count} tokens ({why}); run the command again") from exc


@dataclass
class _Streamed:
    """An answer as its chunks arrive (server-sent events, or one JSON body from a server that does not stream)."""

    pieces: list[str] = field(default_factory=list)
    thinking: list[str] = field(default_factory=list)  # `reasoning_content` (vLLM, llama.cpp, DeepSeek)
    finish_reason: str | None = None
    usage: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, Any] = field(default_factory=dict)  # llama.cpp's own figures, when it sends them

    @property
    def tokens(self) -> int:
        return len(self.pieces)

    def add(self, chunk: dict[str, Any]) -> bool:
        """Take one chunk; True when it carried answer text."""
        self.usage = chunk.get("usage") or self.usage
        self.timings = chunk.get("timings") or self.timings
        choices = chunk.get("choices") or [{}]
        choice = choices[0]
        self.finish_reason = choice.get("finish_reason") or self.finish_reason
        said = choice.get("delta") or choice.get("message") or {}
        text, thought = said.get("content"), said.get("reasoning_content")
        if thought:
            self.thinking.append(thought)
        if text:
            self.pieces.append(text)
        return bool(text or thought)

    def stats(self, wall: float) -> Stats:
        return Stats(
            prompt_tokens=int(self.usage.get("prompt_tokens") or 0),
            completion_tokens=int(self.usage.get("completion_tokens") or 0),
            total_duration_s=round(wall, 3),
            prompt_eval_duration_s=float(self.timings.get("prompt_ms") or 0) / _LLAMA_MS,
            eval_duration_s=float(self.timings.get("predicted_ms") or 0) / _LLAMA_MS,
            wall_s=round(wall, 3),
        )


def _chunks(response: httpx.Response) -> Iterator[dict[str, Any]]:
    """The JSON objects of an SSE stream (`data: {...}` lines up to `data: [DONE]`), or the one JSON body."""
    if not response.headers.get("content-type", "").startswith("text/event-stream"):
        response.read()  # the server ignored stream=true: the whole answer at once
        yield response.json()
        return
    for line in response.iter_lines():
        if not line.startswith("data:"):
            continue  # blank separators, `: keep-alive` comments, `event:` names
        data = line[len("data:") :].strip()
        if data == "[DONE]":
            return
        chunk = json.loads(data)
        if isinstance(chunk, dict) and "error" in chunk:  # an error sent mid-stream (vLLM, llama.cpp)
            raise httpx.StreamError(_one_line(str(_message_of(chunk))))
        yield chunk


def _api_key(env_name: str) -> str:
    if not env_name:
        return ""
    key = os.environ.get(env_name, "")
    if not key:
        raise ConfigError(f"api_key_env={env_name} but {env_name} is empty; export {env_name}=<your API key>")
    return key


def _error_text(response: httpx.Response) -> str:
    try:
        return _one_line(str(_message_of(response.json())))
    except ValueError:
        return _one_line(response.text) or response.reason_phrase


def _message_of(body: Any) -> Any:
    """OpenAI's {"error": {"message": ...}}, vLLM's {"message": ...}, or a bare {"error": "..."}."""
    if not isinstance(body, dict):
        return body
    error = body.get("error", body)
    if isinstance(error, dict):
        return error.get("message", error)
    return error


def _retry_after(response: httpx.Response) -> float:
    """Retry-After (seconds) or retry-after-ms, else 2s; never more than MAX_WAIT_S."""
    for header, scale in (("retry-after-ms", 1e-3), ("retry-after", 1.0)):
        try:
            return min(MAX_WAIT_S, max(0.0, float(response.headers[header]) * scale))
        except (KeyError, ValueError):
            continue
    return 2.0


def _one_line(text: str) -> str:
    return one_line(text, 200)
