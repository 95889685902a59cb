"""The repetition guard (genlib.model.repetition): the loops real models sent are stopped within a few hundred
tokens of their start; long legitimate files full of repeated boilerplate stream through untouched.

The corpus is tests/resources/repetition/: `legit/` holds files as a model should write them (a stylesheet,
SQL inserts, test tables, an HTML page of lists, a JSON fixture, a translations file, an http.server app,
a plan on one line and pretty-printed), `loops/` the answers that never end (issue 22: a plan repeating one
`GET /notes` route, a files array going round, an http.server file repeating its do_PATCH/do_OPTIONS
blocks; and a log line, an SQL insert, newlines or spaces again and again)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import RESOURCES

from genlib.model.repetition import Guard, Loop, repeated_tail

CORPUS = RESOURCES / "repetition"
PIECE = 4  # characters per streamed token, about (genlib.text.CHARS_PER_TOKEN is 3.5)
FEW_HUNDRED_TOKENS = 500


def stream(text: str) -> tuple[int, Loop] | None:
    """Feed `text` to a guard as a server streams it; where it stopped (characters received) and why."""
    guard = Guard()
    for start in range(0, len(text), PIECE):
        loop = guard.feed(text[start : start + PIECE])
        if loop is not None:
            return start + PIECE, loop
    return None


def corpus(kind: str) -> list[Path]:
    return sorted((CORPUS / kind).iterdir())


@pytest.mark.parametrize("path", corpus("legit"), ids=lambda p: p.name)
def test_a_legitimate_file_streams_through(path: Path) -> None:
    assert stream(path.read_text(encoding="utf-8")) is None


def test_every_legitimate_file_one_after_the_other_streams_through() -> None:
    """One long answer (~50 KB) made of them all: the guard keeps no state that adds up."""
    text = "\n".join(p.read_text(encoding="utf-8") for p in corpus("legit"))
    assert len(text) > 40_000
    assert stream(text) is None


@pytest.mark.parametrize("path", corpus("loops"), ids=lambda p: p.name)
def test_a_loop_is_stopped_within_a_few_hundred_tokens_of_its_start(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    whole = repeated_tail(text)
    assert whole is not None  # the file ends in its loop; where that loop starts:
    began = len(text) - whole.span
    stopped = stream(text)
    assert stopped is not None, f"{path.name} was never stopped"
    at, loop = stopped
    assert began < at <= began + FEW_HUNDRED_TOKENS * PIECE
    assert whole.unit in text[began:at] * 2 and loop.times >= 3


def test_the_reason_shows_the_unit_from_where_a_reader_starts() -> None:
    stopped = stream((CORPUS / "loops" / "plan_interfaces.json").read_text(encoding="utf-8"))
    assert stopped is not None
    loop = stopped[1]
    assert str(loop).startswith("the same 76 characters ")
    assert ' times in a row: \'{"kind": "route", "name": "GET /notes"' in str(loop)
    blank = repeated_tail("x" + "\n" * 900)
    assert blank is not None and str(blank) == "the same whitespace (1 characters) 900 times in a row"


@pytest.mark.parametrize(
    ("text", "looping"),
    [
        ("ab" * 399, False),  # 798 characters: under MIN_SPAN
        ("ab" * 400, True),
        ("x" * 700 + "y" * 700, False),  # 700 y's: under MIN_SPAN, though a long run
        ("<li>a</li>\n" * 72 + "<li>b</li>\n", False),  # the repeat ends: the last line differs
        ("0123456789" * 80, True),
    ],
)
def test_the_thresholds(text: str, looping: bool) -> None:
    assert (repeated_tail(text) is not None) is looping


def test_a_long_block_must_come_back_three_times() -> None:
    block = "".join(f"line {n}: something different\n" for n in range(40))  # ~1,200 characters
    assert repeated_tail("head\n" + block * 2) is None
    assert repeated_tail("head\n" + block * 3) is not None
