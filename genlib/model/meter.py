"""What a person sees while a model works: one status line that updates in place, and the token meter."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TextIO

from genlib.model.base import Progress
from genlib.model.watch import Budget


def bar(fraction: float, width: int = 24) -> str:
    filled = round(fraction * width)
    return f"[{'#' * filled}{'-' * (width - filled)}] {fraction:4.0%}"


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


def token_meter(out: TextIO, label: str, budget: Budget | None = None) -> tuple[Progress, Callable[[], None]]:
    """`on_progress` for `complete` (tokens, elapsed, tok/s; against the budget's tokens and wall clock when
    there is one) and a function that ends the line."""
    line = StatusLine(out)
    seen = {"tokens": 0, "elapsed": 0.0}

    def update(tokens: int, elapsed: float) -> None:
        seen.update(tokens=tokens, elapsed=elapsed)
        line.show(_rate(label, tokens, elapsed, budget))

    def finish() -> None:
        if seen["tokens"]:
            line.done(_rate(label, int(seen["tokens"]), seen["elapsed"], budget))

    return update, finish


def _rate(label: str, tokens: int, elapsed: float, budget: Budget | None) -> str:
    speed = tokens / elapsed if elapsed > 0 else 0.0
    if budget is None:
        return f"{label}: {tokens} tokens, {elapsed:.1f}s, {speed:.1f} tok/s"
    return f"{label}: {tokens}/{budget.tokens} tokens, {elapsed:.1f}/{budget.seconds:g}s, {speed:.1f} tok/s"
