"""Fitting text into a prompt's character budget: one set of rules for the gen, file and heal prompts.

    head_tail      a long text as its start and its end (where errors are), marked where it is cut
    clip_list      the first items of a list that fit, then "… and N more"
    fit_files      files by rank, each whole while it fits, else head+tail or left out -> ShownFile
    fit            render, measure, and grow or shrink the files' room until the prompt fills the budget

A template's own text is never cut: each prompt renders it with what it must show, and the files fill what is
left. The sizes below are estimates a render then corrects (`fit` measures the real text).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from genlib.text import one_line

FILE_FRAME = 30  # what a template adds around a shown file beside its path (a heading, two fences)
CUT_NOTE = 90  # what a cut file adds: head_tail's "[… N chars cut …]" and a template's "(cut to fit …)"
MIN_BODY = 200  # a cut file shorter than this shows nothing useful
SLACK = 100  # a prompt this close under its budget is full: no more renders
ROUNDS = 4  # renders at most to fill the budget
_MARKER = "\n[… {} chars cut …]\n"


def head_tail(text: str, limit: int) -> str:
    """At most `limit` chars: the start and the end (where errors are), cut at line ends when possible."""
    if len(text) <= limit:
        return text
    room = max(limit - len(_MARKER.format(len(text))), 0)
    head, tail = text[: room // 3], text[len(text) - (room - room // 3) :]
    # whole lines when that costs little; one huge line is cut mid-line instead of dropped
    if head.rfind("\n") >= len(head) // 2:
        head = head[: head.rfind("\n") + 1]
    if 0 <= tail.find("\n") < len(tail) // 2:
        tail = tail[tail.find("\n") + 1 :]
    return head + _MARKER.format(len(text) - len(head) - len(tail)) + tail


def clip_list(items: list[str], cap: int) -> list[str]:
    """The first items while they fit `cap` chars (", "-joined), then "… and N more"."""
    kept: list[str] = []
    used = 0
    for item in items:
        if used + len(item) + 2 > cap:
            break
        kept.append(item)
        used += len(item) + 2
    if not kept and items:
        kept = [one_line(items[0], cap)]
    return kept + ([f"… and {len(items) - len(kept)} more"] if len(kept) < len(items) else [])


@dataclass(frozen=True)
class Candidate:
    """A file a prompt would show, in rank order."""

    path: str
    may_cut: bool = False  # shown head+tail even after other files (heal: a file the evidence names)
    listed: bool = True  # named among the files left out when it does not fit


@dataclass(frozen=True)
class ShownFile:
    """A file as a prompt shows it (templates read path, content, size and truncated)."""

    path: str
    content: str  # whole, or head+tail when truncated
    size: int  # chars in full

    @property
    def truncated(self) -> bool:
        return len(self.content) < self.size


@dataclass(frozen=True)
class Fitted:
    text: str
    shown: list[ShownFile]
    omitted: list[str]  # paths of listed candidates left out


def fit_files(
    ranked: Sequence[Candidate], room: int, read: Callable[[str], str | None]
) -> tuple[list[ShownFile], list[str]]:
    """By rank, each file whole while it fits `room` chars; the first shown, and any that may be cut, as
    head+tail when it does not; later, smaller files fill what is left. Unreadable files are left out."""
    shown: list[ShownFile] = []
    omitted: list[str] = []
    for cand in ranked:
        overhead = len(cand.path) + FILE_FRAME
        text = read(cand.path)
        if text is not None and len(text) + overhead <= room:
            body = text
        elif text is not None and (cand.may_cut or not shown) and room - overhead - CUT_NOTE >= MIN_BODY:
            body = head_tail(text, room - overhead - CUT_NOTE)
        else:
            if cand.listed:
                omitted.append(cand.path)
            continue
        shown.append(ShownFile(cand.path, body, len(text)))
        room -= len(body) + overhead + (CUT_NOTE if body is not text else 0)
    return shown, omitted


def fit(
    render: Callable[[list[ShownFile], list[str]], str],
    ranked: Sequence[Candidate],
    read: Callable[[str], str | None],
    budget: int,
) -> Fitted:
    """The longest render(files shown, paths left out) within `budget` chars: the files get the room the rest
    leaves, measured, then grown or shrunk to the budget. When the rest alone exceeds it, no files."""
    listed = [c.path for c in ranked if c.listed]
    room = budget - len(render([], listed))
    best: Fitted | None = None
    for _ in range(ROUNDS):
        shown, omitted = fit_files(ranked, room, read)
        text = render(shown, omitted)
        if len(text) <= budget and (best is None or len(text) > len(best.text)):
            best = Fitted(text, shown, omitted)
        if budget - SLACK <= len(text) <= budget or (not shown and len(text) > budget):
            break
        room += budget - len(text)
    return best or Fitted(render([], listed), [], listed)
