"""The repetition guard: stops an answer whose end keeps repeating itself, within a few hundred tokens.

A model caught in a loop sends one unit again and again, exactly: a JSON item (`{"kind": "route", "name":
"GET /notes", ...}`), a line, a block of lines (a `do_PATCH` handler), or whitespace. So the guard asks one
question of the stream's end: is its last stretch one unit repeated, over at least MIN_SPAN characters and
MIN_TIMES times? A legitimate file repeats a shape, not its text: CSS rules, SQL inserts, test rows and list
items differ in their values, which ends the repetition at the unit's first differing character.

    Guard().feed(piece)   a Loop once the answer is looping, else None (checked every CHECK_EVERY characters)

A check costs a few string searches in C over the last WINDOW characters (the only state kept): a period is
tried only where the answer's last PROBE characters occurred before.
"""

from __future__ import annotations

from dataclasses import dataclass

MIN_SPAN = 800  # characters the repeated stretch covers at least (~230 tokens): below it, a table is a table
MIN_TIMES = 3  # times the unit comes back at least: a long block repeated twice is not yet a loop
WINDOW = 6000  # characters looked at: a unit of up to WINDOW / MIN_TIMES characters is seen
CHECK_EVERY = 128  # characters between checks (~35 tokens)
PROBE = 32  # characters at the end that a repeating unit must have had before


@dataclass(frozen=True)
class Loop:
    """The unit an answer repeats, and how far it repeated."""

    unit: str
    span: int  # characters the repetition covers

    @property
    def times(self) -> float:
        return self.span / len(self.unit)

    def __str__(self) -> str:
        shown = " ".join(_from_a_start(self.unit).split())
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        what = f"{len(self.unit)} characters" if shown else f"whitespace ({len(self.unit)} characters)"
        return f"the same {what} {self.times:.0f} times in a row" + (f": {shown!r}" if shown else "")


class Guard:
    """Feed it an answer's pieces as they arrive; it says when the answer loops."""

    def __init__(self, min_span: int = MIN_SPAN, min_times: int = MIN_TIMES, window: int = WINDOW) -> None:
        self.min_span = min_span
        self.min_times = min_times
        self.window = max(window, min_span)
        self._tail = ""
        self._unchecked = 0

    def feed(self, piece: str) -> Loop | None:
        self._tail = (self._tail + piece)[-self.window :]
        self._unchecked += len(piece)
        if self._unchecked < CHECK_EVERY:
            return None
        self._unchecked = 0
        return repeated_tail(self._tail, self.min_span, self.min_times)


def repeated_tail(text: str, min_span: int = MIN_SPAN, min_times: int = MIN_TIMES) -> Loop | None:
    """The shortest unit whose repetition ends `text` over max(min_span, min_times units), if any.

    A period p can only be one where the last PROBE characters occur p characters earlier: str.rfind finds
    those few, and one comparison of two slices checks each."""
    n = len(text)
    if n < min_span:
        return None
    probe = text[-PROBE:]
    start = text.rfind(probe, 0, n - 1)  # an earlier occurrence, not the tail itself
    while start >= 0:
        period = n - len(probe) - start
        if period > n // min_times:
            return None
        need = max(min_span, min_times * period)
        if text[n - need + period :] == text[n - need : n - period]:
            return Loop(text[-period:], _span(text, period, need))
        start = text.rfind(probe, 0, start + len(probe) - 1)
    return None


def _span(text: str, period: int, known: int) -> int:
    """How far back `text` keeps `period`, from `known` characters (checked already) on."""
    at = len(text) - known - 1  # the next character to compare with the one `period` after it
    while at >= 0 and text[at] == text[at + period]:
        at -= 1
    return len(text) - at - 1


def _from_a_start(unit: str) -> str:
    """The unit turned to begin where a reader would: after a line break, else at an opening `{` or `<`."""
    for mark, skip in (("\n", 1), ("{", 0), ("<", 0)):
        at = unit.find(mark)
        if at >= 0:
            return unit[at + skip :] + unit[: at + skip]
    return unit
