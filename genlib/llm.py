"""The model boundary: the only module that talks to a model server.

    LLM                 the protocol gen and heal talk to: complete(messages, schema) -> Reply
    OllamaLLM           it, on the official `ollama` client
    OpenAILLM           it, for any OpenAI-compatible chat API (llama.cpp, vLLM, LM Studio, hosted), over httpx
    connect(settings)   the one `settings.provider` names, closed afterwards
    ask(llm, ...)       one accepted Answer: parse, validate, retry with the error fed back

Each provider translates its errors where they enter, into one line with the next step.

Everything the model said is kept: `ask` returns every attempt, and when the
answer stays invalid the raw texts are saved under .genlib/rejected/.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Generic, Protocol, TextIO, TypeVar

import httpx
import ollama
from pydantic import BaseModel, ValidationError

from genlib import checkpoint
from genlib.config import Settings
from genlib.errors import (
    AnswerInvalid,
    ConfigError,
    LLMAuthFailed,
    LLMError,
    LLMRateLimited,
    LLMTimeout,
    LLMUnavailable,
    ModelMissing,
    OutputError,
)
from genlib.fsutil import atomic_write_text, sha256_bytes
from genlib.llm_output import Answer, Attempt, Request, Stats, Step, answer_schema
from genlib.redact import REDACTED, redact
from genlib.strict import describe_validation_error
from genlib.text import CHARS_PER_TOKEN, one_line

Message = dict[str, str]
M = TypeVar("M", bound=BaseModel)
Progress = Callable[[int, float], None]  # tokens so far, seconds elapsed
_NS = 1e9


@dataclass(frozen=True)
class Reply:
    """One raw completion and what it cost."""

    text: str
    model: str
    options: dict[str, float | int | str]
    stats: Stats
    cut: bool = False  # the server stopped at the token limit (done_reason / finish_reason "length")
    thinking: str = ""  # a reasoning model's thinking: kept in llm_output.json, never in a file
    parts: tuple[str, ...] = ()  # a cut answer continued (genlib.continued): each completion, as it came

    @property
    def room(self) -> int:
        """The token limit the answer was given (num_predict / max_tokens)."""
        return int(self.options.get("num_predict") or self.options.get("max_tokens") or 0)


class LLM(Protocol):
    host: str
    model: str

    def complete(
        self,
        messages: list[Message],
        schema: dict[str, Any] | None,
        on_progress: Progress | None,
        room: int | None = None,
    ) -> Reply:
        """One answer; `schema` constrains it to JSON (None: plain text); `room` overrides num_predict."""
        ...

    def reserve(self, prompt_chars: int) -> None: ...

    def room_for(self, messages: list[Message], wanted: int) -> int:
        """The most tokens an answer to `messages` can be given, up to `wanted`, without changing the window."""
        ...

    def ensure_model(self, *, pull: bool, out: TextIO | None = None) -> None: ...

    def close(self) -> None: ...


@contextmanager
def connect(settings: Settings, out: TextIO | None = None) -> Iterator[OllamaLLM | OpenAILLM]:
    """The provider `settings.provider` names; its connections are closed on the way out."""
    llm: OllamaLLM | OpenAILLM = (OllamaLLM if settings.provider == "ollama" else OpenAILLM)(settings, out)
    try:
        yield llm
    finally:
        llm.close()


def prompt_dropped(evaluated: int, estimate: int, num_ctx: int) -> bool:
    """Ollama truncated the prompt: it read well under the estimate, or it filled the whole window.

    A prompt served from Ollama's cache also reads few tokens, so "well under" counts only when what it
    read still fills at least half the window (a cached prefix leaves far less to read)."""
    if evaluated <= 0:
        return False
    well_under = evaluated < 0.8 * estimate and evaluated >= num_ctx // 2
    return well_under or evaluated >= num_ctx


def prompt_tokens(messages: list[Message]) -> int:
    """The prompt's size in tokens, estimated from its characters (the server counts only after it read it)."""
    return math.ceil(sum(len(m["content"]) for m in messages) / CHARS_PER_TOKEN)


def num_ctx_for(prompt_chars: int, num_predict: int, cap: int) -> int:
    """A context window that holds the prompt and the answer, as a power of two, at most `cap`."""
    needed = math.ceil(prompt_chars / CHARS_PER_TOKEN) + num_predict
    return min(cap, 1 << max(11, math.ceil(math.log2(max(needed, 1)))))


class OllamaLLM:
    """The model served by Ollama at `settings.ollama_host`.

    One instance serves one run, and keeps `num_ctx` the same for all its requests (a change makes Ollama
    reload the model): the window is sized for the largest prompt seen or reserved, and never shrinks."""

    def __init__(self, settings: Settings, out: TextIO | None = None) -> None:
        self.settings = settings
        self.host = settings.ollama_host
        self.model = settings.model
        self.out = out or sys.stderr  # where a dropped prompt is said
        self.num_ctx = 0
        self._client = ollama.Client(host=self.host, timeout=settings.timeout)

    def __enter__(self) -> OllamaLLM:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()  # type: ignore[no-untyped-call]  # ollama leaves close() unannotated

    def ensure_model(self, *, pull: bool, out: TextIO | None = None) -> None:
        """Fail with the next step when the model is absent, or pull it (with a progress bar)."""
        try:
            with self._translated(0):
                self._client.show(self.model)
            return
        except ModelMissing:
            if not pull:
                raise
        with self._translated(0):
            _show_pull(self._client.pull(self.model, stream=True), self.model, out or sys.stdout)

    def reserve(self, prompt_chars: int) -> None:
        """Size the run's window for prompts up to `prompt_chars` now, so later requests do not reload the model."""
        s = self.settings
        self.num_ctx = max(self.num_ctx, num_ctx_for(prompt_chars, s.num_predict, s.num_ctx_max))

    def room_for(self, messages: list[Message], wanted: int) -> int:
        """What the run's window holds after the prompt (a larger num_ctx would reload the model)."""
        return min(wanted, max(self.settings.num_predict, self.num_ctx - prompt_tokens(messages)))

    def options_for(self, messages: list[Message], room: int | None = None) -> dict[str, float | int | str]:
        """`room` (more than num_predict, after a cut answer) is bounded by what the window can still hold."""
        s = self.settings
        chars = sum(len(m["content"]) for m in messages)
        self.num_ctx = max(self.num_ctx, num_ctx_for(chars, room or s.num_predict, s.num_ctx_max))
        room = self.room_for(messages, room or s.num_predict)
        return {"temperature": s.temperature, "seed": s.seed, "num_predict": room, "num_ctx": self.num_ctx}

    def complete(
        self,
        messages: list[Message],
        schema: dict[str, Any] | None,
        on_progress: Progress | None,
        room: int | None = None,
    ) -> Reply:
        options = self.options_for(messages, room)
        started = time.monotonic()
        pieces: list[str] = []
        thinking: list[str] = []
        final: ollama.ChatResponse | None = None
        extra: dict[str, Any] = {"think": True} if self.settings.think else {}
        if self.settings.keep_alive:
            extra["keep_alive"] = self.settings.keep_alive
        with self._translated(lambda: len(pieces)):
            stream = self._client.chat(self.model, messages, format=schema, options=options, stream=True, **extra)
            for chunk in stream:
                if chunk.message.thinking:
                    thinking.append(chunk.message.thinking)
                if chunk.message.content:
                    pieces.append(chunk.message.content)
                    checkpoint.reach("streaming")
                if on_progress is not None and (chunk.message.content or chunk.message.thinking):
                    on_progress(len(pieces) + len(thinking), time.monotonic() - started)
                if chunk.done:
                    final = chunk
        if final is None:
            raise LLMError(f"the answer from {self.host} stopped after {len(pieces)} tokens; run the command again")
        self._check_window(final.prompt_eval_count or 0, messages)
        stats = _stats(final, time.monotonic() - started)
        cut = final.done_reason == "length"
        return Reply("".join(pieces), self.model, options, stats, cut=cut, thinking="".join(thinking))

    def _check_window(self, evaluated: int, messages: list[Message]) -> None:
        """Say so when Ollama dropped part of the prompt, and size the window up for the requests that follow."""
        estimate = prompt_tokens(messages)
        if not prompt_dropped(evaluated, estimate, self.num_ctx):
            return
        cap = self.settings.num_ctx_max
        if self.num_ctx >= cap:
            fix = f"raise num_ctx_max= (now {cap}) or shorten the request"
        else:
            self.num_ctx = min(cap, self.num_ctx * 2)
            fix = f"num_ctx is {self.num_ctx} from now on"
        self.out.write(
            f"warning: Ollama read {evaluated} prompt tokens of about {estimate}: the start of the prompt was "
            f"dropped to fit num_ctx; {fix}\n"
        )

    @contextmanager
    def _translated(self, tokens: int | Callable[[], int]) -> Iterator[None]:
        """ollama/httpx exceptions -> genlib's, each with the next step for the person."""
        host, model = self.host, self.model
        try:
            yield
        except (httpx.ConnectError, ConnectionError) as exc:
            raise LLMUnavailable(f"cannot reach Ollama at {host}; start `ollama serve` or set OLLAMA_HOST") from exc
        except httpx.TimeoutException as exc:
            raise LLMTimeout(
                f"{model} at {host} sent nothing for {self.settings.timeout:g}s; "
                "raise timeout= (GENLIB_TIMEOUT) or use a smaller model"
            ) from exc
        except ollama.ResponseError as exc:
            if exc.status_code == 404:
                raise ModelMissing(
                    f"model {model!r} is not at {host}; run `ollama pull {model}` or pass pull=1"
                ) from exc
            raise LLMError(f"Ollama at {host} failed ({exc.status_code}): {_one_line(exc.error)}; see its log") from exc
        except (httpx.TransportError, json.JSONDecodeError) as exc:
            count = tokens() if callable(tokens) else tokens
            why = _one_line(str(exc)) or type(exc).__name__
            raise LLMError(f"the stream from {host} broke after {count} tokens ({why}); run the command again") from exc


def _stats(final: ollama.ChatResponse, wall: float) -> Stats:
    return Stats(
        prompt_tokens=final.prompt_eval_count or 0,
        completion_tokens=final.eval_count or 0,
        total_duration_s=(final.total_duration or 0) / _NS,
        load_duration_s=(final.load_duration or 0) / _NS,
        prompt_eval_duration_s=(final.prompt_eval_duration or 0) / _NS,
        eval_duration_s=(final.eval_duration or 0) / _NS,
        wall_s=round(wall, 3),
    )


# -- any OpenAI-compatible server --------------------------------------------------------------------

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

    def close(self) -> None:
        self._client.close()

    def ensure_model(self, *, pull: bool, out: TextIO | None = None) -> None:
        """Reach the server and pass its key check; a model it does not serve is its 404 on the first chat."""
        with self._translated(0):
            response = self._client.get("/models")
            if response.status_code == 404:
                raise LLMUnavailable(
                    f"no OpenAI-compatible API at {self.host} (GET /models: 404); base_url usually ends in /v1"
                )
            if response.status_code >= 400:
                self._raise_for(response)

    def options_for(self, room: int | None = None) -> dict[str, float | int | str]:
        s = self.settings
        return {
            "temperature": s.temperature,
            "seed": s.seed,
            "max_tokens": room or s.num_predict,
            "response_format": "json_schema" if self._structured else "none",
        }

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
    ) -> Reply:
        for waited in range(RATE_LIMIT_WAITS + 1):
            try:
                return self._complete_once(messages, schema, on_progress, room)
            except _SchemaRefused:
                self._structured = False  # the schema stays in the prompt; the answer is validated anyway
                self.out.write(f"{self.host} does not take response_format json_schema; asking without it\n")
                return self._complete_once(messages, schema, on_progress, room)
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
        self, messages: list[Message], schema: dict[str, Any] | None, on_progress: Progress | None, room: int | None
    ) -> Reply:
        options = self.options_for(room)
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "stream": True,
            "stream_options": {"include_usage": True},
            "temperature": self.settings.temperature,
            "seed": self.settings.seed,
            "max_tokens": options["max_tokens"],
        }
        if self._structured and schema is not None:
            body["response_format"] = {"type": "json_schema", "json_schema": {"name": "answer", "schema": schema}}
        started = time.monotonic()
        answer = _Streamed()
        with self._translated(lambda: answer.tokens), self._client.stream("POST", "/chat/completions", json=body) as r:
            if r.status_code >= 400:
                r.read()
                self._raise_for(r)
            for chunk in _chunks(r):
                if answer.add(chunk) and on_progress is not None:
                    on_progress(answer.tokens, time.monotonic() - started)
        if answer.finish_reason is None:
            raise LLMError(f"the answer from {self.host} stopped after {answer.tokens} tokens; run the command again")
        stats = answer.stats(time.monotonic() - started)
        text = "".join(answer.pieces)
        if self._key:  # the answer is written to llm_output.json: not even a server echoing the key gets it there
            text = text.replace(self._key, REDACTED)
        cut = answer.finish_reason == "length"
        return Reply(text, self.model, options, stats, cut=cut, thinking="".join(answer.thinking))

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


def _show_pull(progress: Iterator[ollama.ProgressResponse], model: str, out: TextIO) -> None:
    line = StatusLine(out)
    for part in progress:
        if part.total and part.completed is not None:
            size = f"{part.completed / 1e9:.2f}/{part.total / 1e9:.2f} GB"
            line.show(f"pulling {model}: {_bar(part.completed / part.total)} {size}")
        else:
            line.show(f"pulling {model}: {part.status}")
    line.done(f"pulled {model}")


def _bar(fraction: float, width: int = 24) -> str:
    filled = round(fraction * width)
    return f"[{'#' * filled}{'-' * (width - filled)}] {fraction:4.0%}"


def _one_line(text: str) -> str:
    return one_line(text, 200)


class StatusLine:
    """One line that updates in place on a terminal; plain lines, sparingly, anywhere else."""

    def __init__(self, out: TextIO, *, interval: float | None = None) -> None:
        self.out = out
        self.tty = out.isatty()
        self.interval = interval if interval is not None else (0.1 if self.tty else 5.0)
        self._last = -math.inf
        self._width = 0

    def show(self, text: str) -> None:
        now = time.monotonic()
        if now - self._last < self.interval:
            return
        self._last = now
        self._write(text, final=False)

    def done(self, text: str) -> None:
        self._write(text, final=True)

    def _write(self, text: str, *, final: bool) -> None:
        if self.tty:
            self.out.write("\r" + text.ljust(self._width) + ("\n" if final else ""))
            self._width = 0 if final else len(text)
        else:
            self.out.write(text + "\n")
        self.out.flush()


def token_meter(out: TextIO, label: str) -> tuple[Progress, Callable[[], None]]:
    """`on_progress` for `complete` (tokens, elapsed, tok/s) and a function that ends the line."""
    line = StatusLine(out)
    seen = {"tokens": 0, "elapsed": 0.0}

    def update(tokens: int, elapsed: float) -> None:
        seen.update(tokens=tokens, elapsed=elapsed)
        line.show(_rate(label, tokens, elapsed))

    def finish() -> None:
        if seen["tokens"]:
            line.done(_rate(label, int(seen["tokens"]), seen["elapsed"]))

    return update, finish


def _rate(label: str, tokens: int, elapsed: float) -> str:
    speed = tokens / elapsed if elapsed > 0 else 0.0
    return f"{label}: {tokens} tokens, {elapsed:.1f}s, {speed:.1f} tok/s"


# -- one accepted answer ---------------------------------------------------------------------------


class Check(Protocol):
    """Raises OutputError when the answer breaks a rule; `planned`: its files' content is still to come (a gen
    in steps checks the plan first, then each file's content as it arrives)."""

    def __call__(self, answer: Answer, *, planned: bool = False) -> None: ...


T = TypeVar("T")
_JSON_AGAIN = "Answer again with the whole JSON object, corrected, matching the schema; no text outside the JSON."


@dataclass(frozen=True)
class Accepted(Generic[T]):
    """One accepted answer and every attempt; for an answer in steps, `steps` hold them (one per request)."""

    answer: T
    raw: str
    attempts: list[Attempt]
    replies: list[Reply] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    made: Request | None = None  # in steps: the first request's (the plan's)

    def stats(self) -> Stats:
        """What all attempts cost together (a retry is part of the iteration's price)."""
        return sum_stats([*(reply.stats for reply in self.replies), *(step.stats for step in self.steps)])

    def request(self, host: str, messages: list[Message]) -> Request:
        if self.made is not None:
            return self.made
        last = self.replies[-1]
        return Request(
            host=host,
            model=last.model,
            options=last.options,
            prompt_sha256=prompt_sha256(messages),
            prompt_chars=sum(len(m["content"]) for m in messages),
        )


_MAX_NESTING = 64  # an answer is 4 levels deep; a JSON parser or validator recurses once per level


Resume = Callable[["LLM", list[Message], Reply, Progress | None], Reply]  # a cut answer -> the whole one


@dataclass(frozen=True)
class Expect(Generic[T]):
    """What an answer must be: `parse` reads it or raises OutputError; `schema` None asks for plain text;
    `again` follows the rejection reason when it goes back to the model; `resume`, when set, makes an answer
    cut at the token limit whole (genlib.continued), before it counts as a failed attempt."""

    parse: Callable[[str], T]
    schema: dict[str, Any] | None
    again: str
    resume: Resume | None = None


def sum_stats(parts: Iterable[Stats]) -> Stats:
    totals: dict[str, float] = {}
    for stats in parts:
        for name, value in stats.model_dump().items():
            totals[name] = totals.get(name, 0) + value
    return Stats.model_validate({k: (int(v) if k.endswith("tokens") else round(v, 3)) for k, v in totals.items()})


def prompt_sha256(messages: list[Message]) -> str:
    return sha256_bytes(json.dumps(messages, ensure_ascii=False).encode("utf-8"))


def parse_answer(raw: str, check: Check) -> Answer:
    """JSON, then the schema, then genlib's safety rules; each failure is one OutputError."""
    return check_after(parse_json(raw, Answer), check)


def parse_json(raw: str, model: type[M]) -> M:
    """JSON, then the schema of `model`; each failure is one OutputError."""
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise OutputError(f"not valid JSON ({exc})") from exc
    except RecursionError as exc:
        raise OutputError(f"JSON nested deeper than {_MAX_NESTING} levels; answer with the flat object") from exc
    if _nesting(data) > _MAX_NESTING:
        raise OutputError(f"JSON nested deeper than {_MAX_NESTING} levels; answer with the flat object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise OutputError(f"does not match the schema: {describe_validation_error(exc)}") from exc


def check_after(value: M, check: Callable[[M], None]) -> M:
    check(value)
    return value


def _nesting(data: Any) -> int:
    """How deep containers nest, without recursing (the validator would, once per level)."""
    deepest, stack = 0, [(data, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in (node.values() if isinstance(node, dict) else node))
    return deepest


def ask(
    llm: LLM,
    messages: list[Message],
    *,
    check: Check,
    retries: int,
    rejected_dir: Path,
    on_progress: Progress | None = None,
) -> Accepted[Answer]:
    """Ask for an Answer until it is valid, at most `retries` more times, feeding each error back."""
    expect = Expect(lambda raw: parse_answer(raw, check), answer_schema(), _JSON_AGAIN)
    return ask_for(llm, messages, expect, retries=retries, rejected_dir=rejected_dir, on_progress=on_progress)


def ask_for(
    llm: LLM,
    messages: list[Message],
    expect: Expect[T],
    *,
    retries: int,
    rejected_dir: Path,
    on_progress: Progress | None = None,
) -> Accepted[T]:
    """Ask until `expect.parse` takes the answer, at most `retries` more times, feeding each error back.

    A cut answer is never parsed (even when what arrived happens to parse): it is asked for again with more
    room, or first given to `expect.resume`."""
    conversation = list(messages)
    attempts: list[Attempt] = []
    replies: list[Reply] = []
    room: int | None = None
    for _ in range(retries + 1):
        reply = llm.complete(conversation, expect.schema, on_progress, room)
        if reply.cut and expect.resume is not None:
            reply = expect.resume(llm, conversation, reply, on_progress)  # made whole, or still cut
        room = more_room(reply) if reply.cut else room
        replies.append(reply)
        try:
            if reply.cut:
                raise OutputError(
                    f"the answer was cut off at the token limit ({reply.stats.completion_tokens} tokens"
                    f"{f' in {len(reply.parts)} parts' if reply.parts else ''}; setting num_predict); "
                    "answer again, shorter"
                )
            answer = expect.parse(reply.text)
        except OutputError as exc:
            attempts.append(Attempt(raw=reply.text, error=str(exc), thinking=reply.thinking, parts=list(reply.parts)))
            again = f"Your answer was rejected: {exc}. {expect.again}"
            conversation += [{"role": "assistant", "content": reply.text}, {"role": "user", "content": again}]
            continue
        attempts.append(Attempt(raw=reply.text, thinking=reply.thinking, parts=list(reply.parts)))
        return Accepted(answer, reply.text, attempts, replies)
    path = save_rejected(rejected_dir, llm, attempts)
    raise AnswerInvalid(
        f"the model's answer was still invalid after {len(attempts)} attempts ({_one_line(attempts[-1].error or '')}); "
        f"raw answers kept in {path}; run again or pass another model="
    )


def more_room(reply: Reply) -> int:
    """After a cut answer: twice the token limit it was given."""
    return 2 * reply.room or 2 * reply.stats.completion_tokens


def save_rejected(folder: Path, llm: LLM, attempts: list[Attempt]) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    path = folder / f"{stamp}.json"
    record = {"model": llm.model, "host": llm.host, "attempts": [a.model_dump() for a in attempts]}
    # ASCII escapes: a raw answer or a reason may quote a lone surrogate, which UTF-8 cannot write
    atomic_write_text(path, json.dumps(record, indent=2, ensure_ascii=True) + "\n")
    return path
