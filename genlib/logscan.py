"""One pass over a whole log, in bounded memory: what a `logs` scenario checks and what heal reads.

    scan(lines, must_not_contain=[...], must_contain=[...]) -> LogScan

`lines` is an iterator of (timestamp, text) as the engine streams them (a service's output, or
an image build's); nothing keeps the whole log. Terminal colour codes are stripped first (pip and
npm colour their errors). A LogScan keeps the head and the tail, every error-like entry
deduplicated with a count and its first and last timestamps (a Python traceback and a node stack
are one entry with their frames), and what the scenario's patterns matched.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

HEAD_LINES = 20
TAIL_LINES = 200
MAX_LINE = 2000  # one huge line costs no more than this
MAX_ERRORS = 100  # distinct entries kept; later new ones are only counted
MAX_FRAMES = 30  # lines of one traceback kept
MATCHED_KEPT = 40

_ERROR_LIKE = re.compile(
    r"Traceback \(most recent call last\)|\b\w*(?:Error|Exception)\b|\bERROR\b|\bFATAL\b|\bCRITICAL\b"
    r"|\bpanic:|^\s+at \S|\bERR!|^npm error\b|\berror:"  # npm's `npm ERR!` (npm 10: `npm error`), `error:`
)
# Terminal control sequences (colours, cursor moves): CSI ... final byte, and OSC ... BEL/ST.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
_TRACEBACK = "Traceback (most recent call last):"
_NODE_FRAME = re.compile(r"^\s+at \S")
_DIGITS = re.compile(r"\d+")


@dataclass
class ErrorEntry:
    text: str  # the first occurrence, frames included
    count: int
    first: str  # timestamps ('' when the engine gave none)
    last: str

    def render(self) -> str:
        when = f"{self.first} .. {self.last}" if self.count > 1 and self.first else self.first
        head = f"[{self.count}x{' ' + when if when else ''}]"
        return f"{head} {self.text}"


@dataclass
class LogScan:
    lines: int = 0
    head: list[str] = field(default_factory=list)
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=TAIL_LINES))
    errors: dict[str, ErrorEntry] = field(default_factory=dict)
    errors_dropped: int = 0  # occurrences of distinct entries beyond MAX_ERRORS
    forbidden: list[str] = field(default_factory=list)  # the first lines holding a forbidden pattern
    forbidden_count: int = 0
    forbidden_hits: set[str] = field(default_factory=set)
    found: set[str] = field(default_factory=set)  # must_contain patterns seen
    matched: list[str] = field(default_factory=list)  # the first lines holding a must_contain pattern

    def error_lines(self) -> list[str]:
        """The deduplicated entries, in order of first appearance."""
        lines = [entry.render() for entry in self.errors.values()]
        if self.errors_dropped:
            lines.append(f"[… {self.errors_dropped} more error-like line(s) of other kinds not kept]")
        return lines

    def digest(self, window: str = "since the container started") -> str:
        """Head, error-like entries and tail: the whole log's story in bounded size; `window`: what was read."""
        parts = [f"[genlib: {self.lines} line(s) {window}]"]
        if self.lines > len(self.tail):
            parts += ["--- first lines ---", *self.head]
        if self.errors:
            parts += ["--- error-like lines, deduplicated (count, first .. last seen) ---", *self.error_lines()]
        parts += ["--- last lines ---", *self.tail]
        return "\n".join(parts) + "\n"


def scan(
    lines: Iterable[tuple[str, str]],
    must_not_contain: Iterable[str] = (),
    must_contain: Iterable[str] = (),
    tail: int = TAIL_LINES,
) -> LogScan:
    """Read every line once; keep only bounded summaries (the last `tail` lines)."""
    out = LogScan(tail=deque(maxlen=tail))
    forbidden, wanted = list(must_not_contain), list(must_contain)
    for stamp, entry in _entries(_counted(lines, out, forbidden, wanted)):
        _add_error(out, stamp, entry)
    return out


def _counted(
    lines: Iterable[tuple[str, str]], out: LogScan, forbidden: list[str], wanted: list[str]
) -> Iterator[tuple[str, str]]:
    """Every line: counted, head/tail kept, patterns checked; then passed on."""
    for stamp, colored in lines:
        raw = strip_ansi(colored)
        line = raw if len(raw) <= MAX_LINE else raw[:MAX_LINE] + " [… cut]"
        out.lines += 1
        if len(out.head) < HEAD_LINES:
            out.head.append(line)
        out.tail.append(line)
        hits = [p for p in forbidden if p in raw]
        if hits:
            out.forbidden_count += 1
            out.forbidden_hits.update(hits)
            if len(out.forbidden) < MATCHED_KEPT:
                out.forbidden.append(line)
        seen = [p for p in wanted if p in raw]
        if seen:
            out.found.update(seen)
            if len(out.matched) < MATCHED_KEPT:
                out.matched.append(line)
        yield stamp, line


def _entries(lines: Iterable[tuple[str, str]]) -> Iterator[tuple[str, str]]:
    """Error-like entries: a traceback with its frames and final line, an error with its `at …` frames,
    or a single line."""
    block: list[str] = []
    stamp = ""
    in_traceback = False
    for when, line in lines:
        if block and in_traceback and (line[:1].isspace() or not line.strip()):
            block.append(line)
            continue
        if block and in_traceback:  # the exception line closes a traceback
            yield stamp, _joined([*block, line])
            block, in_traceback = [], False
            continue
        if block and _NODE_FRAME.match(line):
            block.append(line)
            continue
        if block:
            yield stamp, _joined(block)
            block = []
        if line.startswith(_TRACEBACK) or (_TRACEBACK in line and not line.startswith(" ")):
            block, stamp, in_traceback = [line], when, True
        elif _ERROR_LIKE.search(line):
            block, stamp = [line], when
    if block:
        yield stamp, _joined(block)


def _joined(block: list[str]) -> str:
    if len(block) > MAX_FRAMES:  # the innermost frames and the error are at the end
        block = [block[0], f"  [… {len(block) - MAX_FRAMES + 1} frame line(s) cut]", *block[-(MAX_FRAMES - 2) :]]
    return "\n".join(block)


def _add_error(out: LogScan, stamp: str, text: str) -> None:
    key = _DIGITS.sub("#", text)  # `job 17 failed` and `job 18 failed` are one entry
    entry = out.errors.get(key)
    if entry is not None:
        entry.count += 1
        entry.last = stamp
    elif len(out.errors) < MAX_ERRORS:
        out.errors[key] = ErrorEntry(text, 1, stamp, stamp)
    else:
        out.errors_dropped += 1


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text) if "\x1b" in text else text


def split_timestamp(line: str) -> tuple[str, str]:
    """`2024-05-01T12:00:00.123456789Z text` (Docker's timestamps=True) -> ('2024-05-01T12:00:00Z', 'text')."""
    stamp, sep, text = line.partition(" ")
    if sep and len(stamp) >= 20 and stamp[4:5] == "-" and stamp[10:11] == "T":
        return stamp[:19] + "Z", text
    return "", line
