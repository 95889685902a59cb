"""What one request may spend, and the watch that stops its stream early.

    Budget.of(settings, kind)   a kind of request's budgets: tokens (settings <kind>_tokens) and wall clock
                                (<kind>_seconds), for a plan, a heal's header, one file
    Watch(budget, guard)        fed each streamed piece: why to stop now (the answer loops, or it is over its
                                wall clock), or ""

The token budget is the room the request asks for (max_tokens / num_predict): the server itself stops there,
and a cut answer is handled as any cut one (asked again with more room, or continued). The wall clock runs
from the request, the prompt's reading included. A stopped answer is asked again by genlib.model.ask, with
another seed and anti-repetition sampling (genlib.model.sampling).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal, TextIO

from genlib.config import Settings
from genlib.model.repetition import Guard

Kind = Literal["plan", "header", "file"]


@dataclass(frozen=True)
class Budget:
    kind: Kind
    tokens: int
    seconds: float

    @classmethod
    def of(cls, settings: Settings, kind: Kind) -> Budget:
        """The kind's budgets; its tokens never over num_predict (the most any one completion gets)."""
        tokens = min(int(getattr(settings, f"{kind}_tokens")), settings.num_predict)
        return cls(kind, tokens, float(getattr(settings, f"{kind}_seconds")))


class Watch:
    """One streamed answer's stop conditions; `tokens` counts the pieces it was fed."""

    def __init__(self, budget: Budget | None, guard: Guard | None) -> None:
        self.budget = budget
        self.guard = guard
        self.started = time.monotonic()
        self.tokens = 0

    @classmethod
    def of(cls, settings: Settings, budget: Budget | None) -> Watch:
        return cls(budget, Guard() if settings.loop_guard else None)

    def add(self, piece: str) -> str:
        """Why the answer must stop now, as the line the person reads; "" while it may go on."""
        self.tokens += 1
        loop = self.guard.feed(piece) if self.guard is not None else None
        if loop is not None:
            return f"stopped a looping answer after {self.tokens} tokens ({loop})"
        budget = self.budget
        if budget is not None and time.monotonic() - self.started > budget.seconds:
            return (
                f"stopped the {budget.kind} after {self.tokens} tokens: still answering at its wall-clock budget "
                f"of {budget.seconds:g}s (setting {budget.kind}_seconds)"
            )
        return ""


def say(out: TextIO, why: str) -> None:
    """The stop line, on a line of its own (a terminal's meter may be mid-line)."""
    out.write(("\n" if out.isatty() else "") + why + "\n")
    out.flush()
