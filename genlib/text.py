"""Text helpers: outside text (an exception, a log line, a reason) on one line; a token estimate."""

from __future__ import annotations

from collections.abc import Collection, Sequence

CHARS_PER_TOKEN = 3.5  # a cautious average for code and English: over-estimating only costs memory


def one_line(text: str, limit: int | None = None) -> str:
    """Whitespace runs (newlines included) as one space; cut with '…' beyond `limit` characters."""
    flat = " ".join(text.split())
    return flat if limit is None or len(flat) <= limit else flat[: limit - 1] + "…"


def columns(rows: Sequence[Sequence[str]], right: Collection[int] = ()) -> list[str]:
    """Rows as lines of aligned columns two spaces apart (those in `right` right-aligned), no trailing spaces."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(
            c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    ]
