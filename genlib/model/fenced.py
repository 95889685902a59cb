"""The one fenced block a file answer holds: what a model sends for a file, a function, a patch's file.

read_fenced(raw) -> str   the block's content; OutputError saying what to send instead
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from genlib.errors import OutputError

_OPENING = re.compile(r"^(`{3,})[\w.+#-]*\s*$")


def read_fenced(raw: str) -> str:
    """The content of the answer's one fenced block (``` or longer, an optional language after it).

    A stray fence after it, or the same block sent again (whole, or cut where the answer was stopped), says
    nothing new and is ignored: small models do both. Two blocks that differ are refused: which is the file?"""
    blocks = list(_fenced_blocks(raw.split("\n")))
    if not blocks:
        raise OutputError("no fenced block: answer with the file's whole content between ``` lines")
    said = [block for block in blocks if any(line.strip() for line in block.lines)]
    first = said[0] if said else blocks[0]  # only empty blocks: an empty file
    if not first.closed:
        raise OutputError("the fenced block never closes (no ``` line after the content); was the answer cut?")
    if not all(block.repeats(first) for block in said[1:]):
        raise OutputError("more than one fenced block: answer with exactly one, holding the whole file")
    return "".join(line + "\n" for line in first.lines)  # each line inside the block ends with one


@dataclass(frozen=True)
class _Block:
    lines: list[str]
    closed: bool  # False: the answer ended inside it

    def repeats(self, first: _Block) -> bool:
        """This block is `first` again, or the start of it (cut where the answer ended)."""
        if self.closed:
            return self.lines == first.lines
        n = len(self.lines)
        return (
            n <= len(first.lines)
            and self.lines[:-1] == first.lines[: n - 1]
            and first.lines[n - 1].startswith(self.lines[-1])
        )


def _fenced_blocks(lines: list[str]) -> Iterator[_Block]:
    """Each fenced block, in order; the last may be open (no closing fence before the answer ends)."""
    i = 0
    while i < len(lines):
        opening = _OPENING.match(lines[i].strip())
        if opening is None:
            i += 1
            continue
        fence = opening.group(1)
        end = next((j for j in range(i + 1, len(lines)) if lines[j].strip() == fence), None)
        if end is None:
            yield _Block(lines[i + 1 :], closed=False)
            return
        yield _Block(lines[i + 1 : end], closed=True)
        i = end + 1
