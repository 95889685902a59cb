"""The Ollama provider, on the official `ollama` client: num_ctx sized to the prompt, pulls with a progress bar."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TextIO

import httpx
import ollama

from genlib import checkpoint
from genlib.config import Settings
from genlib.documents.llm_output import Stats
from genlib.errors import LLMError, LLMTimeout, LLMUnavailable, ModelMissing
from genlib.model.base import Message, Progress, Reply, num_ctx_for, prompt_tokens
from genlib.model.meter import StatusLine, bar
from genlib.model.profile import parse_size
from genlib.model.sampling import Sampling, ollama_options
from genlib.model.watch import Budget, Watch, say
from genlib.text import one_line

_NS = 1e9


def prompt_dropped(evaluated: int, estimate: int, num_ctx: int) -> bool:
    """Ollama truncated the prompt: it read well under the estimate, or it filled the whole window.

    A prompt served from Ollama's cache also reads few tokens, so "well under" counts only when what it
    read still fills at least half the window (a cached prefix leaves far less to read)."""
    if evaluated <= 0:
        return False
    well_under = evaluated < 0.8 * estimate and evaluated >= num_ctx // 2
    return well_under or evaluated >= num_ctx


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
        self._shown: ollama.ShowResponse | None = None  # /api/show, once: the model's size for profile auto

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
                self._shown = self._client.show(self.model)
            return
        except ModelMissing:
            if not pull:
                raise
        with self._translated(0):
            _show_pull(self._client.pull(self.model, stream=True), self.model, out or sys.stdout)

    def parameters(self) -> float | None:
        """The model's size as Ollama's /api/show says it (parameter_size, "1.5B"); None when it does not."""
        try:
            self._shown = self._shown or self._client.show(self.model)
        except (ollama.ResponseError, httpx.HTTPError, ConnectionError):
            return None
        details = self._shown.details
        return parse_size(details.parameter_size or "") if details else None

    def reserve(self, prompt_chars: int) -> None:
        """Size the run's window for prompts up to `prompt_chars` now, so later requests do not reload the model."""
        s = self.settings
        self.num_ctx = max(self.num_ctx, num_ctx_for(prompt_chars, s.num_predict, s.num_ctx_max))

    def room_for(self, messages: list[Message], wanted: int) -> int:
        """What the run's window holds after the prompt (a larger num_ctx would reload the model)."""
        return min(wanted, max(self.settings.num_predict, self.num_ctx - prompt_tokens(messages)))

    def options_for(
        self, messages: list[Message], room: int | None = None, again: int = 0
    ) -> dict[str, float | int | str]:
        """`room` (more than num_predict, after a cut answer) is bounded by what the window can still hold;
        `again` > 0: a retry after a stopped answer (genlib.model.sampling)."""
        s = self.settings
        chars = sum(len(m["content"]) for m in messages)
        self.num_ctx = max(self.num_ctx, num_ctx_for(chars, room or s.num_predict, s.num_ctx_max))
        room = self.room_for(messages, room or s.num_predict)
        return {**ollama_options(Sampling.of(s, again)), "num_predict": room, "num_ctx": self.num_ctx}

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
        options = self.options_for(messages, room, again)
        started = time.monotonic()
        watch = Watch.of(self.settings, budget)
        pieces: list[str] = []
        thinking: list[str] = []
        final: ollama.ChatResponse | None = None
        stopped = ""
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
                    stopped = watch.add(chunk.message.content)
                if on_progress is not None and (chunk.message.content or chunk.message.thinking):
                    on_progress(len(pieces) + len(thinking), time.monotonic() - started)
                if chunk.done:
                    final = chunk
                if stopped:
                    _close(stream)  # the request ends: Ollama stops generating when its client goes
                    break
        if stopped:
            say(self.out, stopped)
            wall = round(time.monotonic() - started, 3)
            stats = Stats(completion_tokens=len(pieces), total_duration_s=wall, wall_s=wall)
            return Reply("".join(pieces), self.model, options, stats, thinking="".join(thinking), stopped=stopped)
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
            raise LLMError(
                f"Ollama at {host} failed ({exc.status_code}): {one_line(exc.error, 200)}; see its log"
            ) from exc
        except (httpx.TransportError, json.JSONDecodeError) as exc:
            count = tokens() if callable(tokens) else tokens
            why = one_line(str(exc), 200) or type(exc).__name__
            raise LLMError(f"the stream from {host} broke after {count} tokens ({why}); run the command again") from exc


def _close(stream: Iterator[ollama.ChatResponse]) -> None:
    """End a streamed chat early: the client's generator closes its HTTP response on close()."""
    close = getattr(stream, "close", None)
    if close is not None:
        close()


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
            line.show(f"pulling {model}: {bar(part.completed / part.total)} {size}")
        else:
            line.show(f"pulling {model}: {part.status}")
    line.done(f"pulled {model}")
