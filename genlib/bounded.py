"""Bounds on what a test run keeps: every evidence string per line and in total, every list, and
the streams it reads (a response body, a command's output), whatever the app prints.

A 50 MB line or 300 MB of output must not become a 50 MB results.json (nor a 50 MB heal prompt):
the head and the tail are kept, with how much was cut between them.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

LINE_CHARS = 2000  # one line of evidence
TEXT_CHARS = 20_000  # one evidence string (a log tail, a body head, an output tail)
ITEMS = 100  # one evidence list (matched lines, errors)
STREAM_BYTES = 1024 * 1024  # read of a body or a command's output: the first and last half-MiB


def clip_line(line: str, limit: int = LINE_CHARS) -> str:
    if len(line) <= limit:
        return line
    return f"{line[: limit // 2]}… [{len(line) - limit} characters cut] …{line[-(limit // 2) :]}"


def clip_text(text: str, limit: int = TEXT_CHARS) -> str:
    """Each line within LINE_CHARS, the whole within `limit` (its head and its tail)."""
    if len(text) > 4 * limit:  # a huge text: cut it first, so its lines are not all split
        text = text[: 2 * limit] + "\n" + text[-2 * limit :]
    clipped = "\n".join(clip_line(line) for line in text.split("\n"))
    if len(clipped) <= limit:
        return clipped
    half = limit // 2
    return f"{clipped[:half]}\n… [{len(clipped) - limit} characters cut] …\n{clipped[-half:]}"


def bound(value: Any) -> Any:
    """A JSON-like value with every string clipped and every list cut to ITEMS."""
    if isinstance(value, str):
        return clip_text(value)
    if isinstance(value, list | tuple):
        kept = [bound(v) for v in value[:ITEMS]]
        return kept + ([f"… [{len(value) - ITEMS} more cut]"] if len(value) > ITEMS else [])
    if isinstance(value, dict):
        return {clip_line(str(k), 200): bound(v) for k, v in list(value.items())[:ITEMS]}
    return value


def read_head(chunks: Iterable[bytes], limit: int = STREAM_BYTES, deadline: float | None = None) -> tuple[bytes, bool]:
    """At most `limit` bytes of a stream, stopping at `deadline` (time.monotonic) too: (bytes, cut short)."""
    data = bytearray()
    for chunk in chunks:
        data += chunk
        if len(data) >= limit or (deadline is not None and time.monotonic() > deadline):
            return bytes(data[:limit]), True
    return bytes(data), False


def head_and_tail(chunks: Iterable[bytes], limit: int = STREAM_BYTES) -> bytes:
    """The first and last limit/2 bytes of a stream, read as it comes (memory stays bounded)."""
    half = limit // 2
    head, tail, cut = bytearray(), bytearray(), 0
    for chunk in chunks:
        if len(head) < half:
            room = half - len(head)
            head += chunk[:room]
            chunk = chunk[room:]
        tail += chunk
        if len(tail) > half:
            cut += len(tail) - half
            del tail[: len(tail) - half]
    marker = f"\n… [{cut} bytes cut] …\n".encode() if cut else b""
    return bytes(head) + marker + bytes(tail)
