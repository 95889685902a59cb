"""The model boundary: the only module that imports `ollama`.

    LLM                 the protocol gen and heal talk to: complete(messages, schema) -> Reply
    OllamaLLM           it, on the official client; errors are translated here, where they enter
    ask(llm, ...)       one accepted Answer: parse, validate, retry with the error fed back

Everything the model said is kept: `ask` returns every attempt, and when the
answer stays invalid the raw texts are saved under .genlib/rejected/.
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, TextIO

import httpx
import ollama
from pydantic import ValidationError

from genlib.config import Settings
from genlib.errors import AnswerInvalid, LLMError, LLMTimeout, LLMUnavailable, ModelMissing, OutputError
from genlib.fsutil import atomic_write_text, sha256_bytes
from genlib.llm_output import Answer, Attempt, Request, Stats, answer_schema
from genlib.strict import describe_validation_error

Message = dict[str, str]
Progress = Callable[[int, float], None]  # tokens so far, seconds elapsed
CHARS_PER_TOKEN = 3.5  # a cautious average for code and English: over-estimating only costs memory
_NS = 1e9


@dataclass(frozen=True)
class Reply:
    """One raw completion and what it cost."""

    text: str
    model: str
    options: dict[str, float | int | str]
    stats: Stats


class LLM(Protocol):
    host: str
    model: str

    def complete(self, messages: list[Message], schema: dict[str, Any], on_progress: Progress | None) -> Reply: ...


def num_ctx_for(prompt_chars: int, num_predict: int, cap: int) -> int:
    """A context window that holds the prompt and the answer, as a power of two, at most `cap`."""
    needed = math.ceil(prompt_chars / CHARS_PER_TOKEN) + num_predict
    return min(cap, 1 << max(11, math.ceil(math.log2(max(needed, 1)))))


class OllamaLLM:
    """The model served by Ollama at `settings.ollama_host`."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.host = settings.ollama_host
        self.model = settings.model
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

    def options_for(self, messages: list[Message]) -> dict[str, float | int | str]:
        s = self.settings
        chars = sum(len(m["content"]) for m in messages)
        return {
            "temperature": s.temperature,
            "seed": s.seed,
            "num_predict": s.num_predict,
            "num_ctx": num_ctx_for(chars, s.num_predict, s.num_ctx_max),
        }

    def complete(self, messages: list[Message], schema: dict[str, Any], on_progress: Progress | None) -> Reply:
        options = self.options_for(messages)
        started = time.monotonic()
        pieces: list[str] = []
        final: ollama.ChatResponse | None = None
        with self._translated(lambda: len(pieces)):
            stream = self._client.chat(self.model, messages, format=schema, options=options, stream=True)
            for chunk in stream:
                if chunk.message.content:
                    pieces.append(chunk.message.content)
                    if on_progress is not None:
                        on_progress(len(pieces), time.monotonic() - started)
                if chunk.done:
                    final = chunk
        if final is None:
            raise LLMError(f"the answer from {self.host} stopped after {len(pieces)} tokens; run the command again")
        return Reply("".join(pieces), self.model, options, _stats(final, time.monotonic() - started))

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


def _one_line(text: str, limit: int = 200) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


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

Check = Callable[[Answer], None]  # raises OutputError when the answer breaks a rule


@dataclass(frozen=True)
class Accepted:
    answer: Answer
    raw: str
    attempts: list[Attempt]
    replies: list[Reply] = field(default_factory=list)

    def stats(self) -> Stats:
        """What all attempts cost together (a retry is part of the iteration's price)."""
        totals: dict[str, float] = {}
        for reply in self.replies:
            for name, value in reply.stats.model_dump().items():
                totals[name] = totals.get(name, 0) + value
        return Stats.model_validate({k: (int(v) if k.endswith("tokens") else round(v, 3)) for k, v in totals.items()})

    def request(self, host: str, messages: list[Message]) -> Request:
        prompt = json.dumps(messages, ensure_ascii=False).encode("utf-8")
        last = self.replies[-1]
        return Request(
            host=host,
            model=last.model,
            options=last.options,
            prompt_sha256=sha256_bytes(prompt),
            prompt_chars=sum(len(m["content"]) for m in messages),
        )


def parse_answer(raw: str, check: Check) -> Answer:
    """JSON, then the schema, then genlib's safety rules; each failure is one OutputError."""
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise OutputError(f"not valid JSON ({exc})") from exc
    try:
        answer = Answer.model_validate(data)
    except ValidationError as exc:
        raise OutputError(f"does not match the schema: {describe_validation_error(exc)}") from exc
    check(answer)
    return answer


def ask(
    llm: LLM,
    messages: list[Message],
    *,
    check: Check,
    retries: int,
    rejected_dir: Path,
    on_progress: Progress | None = None,
) -> Accepted:
    """Ask until the answer is valid, at most `retries` more times, feeding each error back."""
    schema = answer_schema()
    conversation = list(messages)
    attempts: list[Attempt] = []
    replies: list[Reply] = []
    for _ in range(retries + 1):
        reply = llm.complete(conversation, schema, on_progress)
        replies.append(reply)
        try:
            answer = parse_answer(reply.text, check)
        except OutputError as exc:
            attempts.append(Attempt(raw=reply.text, error=str(exc)))
            conversation += [{"role": "assistant", "content": reply.text}, {"role": "user", "content": feedback(exc)}]
            continue
        attempts.append(Attempt(raw=reply.text))
        return Accepted(answer, reply.text, attempts, replies)
    path = save_rejected(rejected_dir, llm, attempts)
    raise AnswerInvalid(
        f"the model's answer was still invalid after {len(attempts)} attempts ({_one_line(attempts[-1].error or '')}); "
        f"raw answers kept in {path}; run again or pass another model="
    )


def feedback(exc: OutputError) -> str:
    return (
        f"Your answer was rejected: {exc}. "
        "Answer again with the whole JSON object, corrected, matching the schema; no text outside the JSON."
    )


def save_rejected(folder: Path, llm: LLM, attempts: list[Attempt]) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    path = folder / f"{stamp}.json"
    record = {"model": llm.model, "host": llm.host, "attempts": [a.model_dump() for a in attempts]}
    atomic_write_text(path, json.dumps(record, indent=2, ensure_ascii=False) + "\n")
    return path
