"""What the repetition guard (genlib.model.repetition) costs and how soon it stops a loop, on the corpus under
tests/resources/repetition/: CPU per streamed token over the legitimate files (20 times over), and for each
loop where it began and how many tokens later the guard stopped it (4 characters a token).

    python bench/loop_guard.py
"""

from __future__ import annotations

import time
from pathlib import Path

from genlib.model.repetition import Guard, repeated_tail

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "resources" / "repetition"
PIECE = 4


def stopped_at(text: str) -> int | None:
    guard = Guard()
    for start in range(0, len(text), PIECE):
        if guard.feed(text[start : start + PIECE]) is not None:
            return start + PIECE
    return None


def main() -> None:
    legit = "\n".join(p.read_text(encoding="utf-8") for p in sorted((CORPUS / "legit").iterdir())) * 20
    started = time.process_time()
    assert stopped_at(legit) is None, "a legitimate file tripped the guard"
    spent = time.process_time() - started
    tokens = len(legit) // PIECE
    print(f"legitimate: {len(legit):,} characters ({tokens:,} tokens), {spent * 1e6 / tokens:.2f} us CPU per token")
    for path in sorted((CORPUS / "loops").iterdir()):
        text = path.read_text(encoding="utf-8")
        loop = repeated_tail(text)
        began = len(text) - loop.span if loop else 0
        at = stopped_at(text)
        after = f"{(at - began) // PIECE} tokens after it began" if at else "never stopped"
        print(f"{path.name:28} loop from token {began // PIECE:5}: stopped {after}")


if __name__ == "__main__":
    main()
