"""The provider seam: what gen and heal talk to.

    LLM                 the protocol: complete(messages, schema) -> Reply
    Reply               one raw completion and what it cost

One module per provider beside this one (ollama, openai), chosen by model.connect; each translates
its errors where they enter, into one line with the next step.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TextIO

from genlib.documents.llm_output import Stats
from genlib.model.watch import Budget
from genlib.text import CHARS_PER_TOKEN

Message = dict[str, str]
Progress = Callable[[int, float], None]  # tokens so far, seconds elapsed


@dataclass(frozen=True)
class Reply:
    """One raw completion and what it cost."""

    text: str
    model: str
    options: dict[str, float | int | str]
    stats: Stats
    cut: bool = False  # the server stopped at the token limit (done_reason / finish_reason "length")
    thinking: str = ""  # a reasoning model's thinking: kept in llm_output.json, never in a file
    parts: tuple[str, ...] = ()  # a cut answer continued (genlib.model.continued): each completion, as it came
    stopped: str = ""  # why genlib stopped the stream (a loop, the wall clock: genlib.model.watch); "" it ended

    @property
    def room(self) -> int:
        """The token limit the answer was given (num_predict / max_tokens)."""
        return int(self.options.get("num_predict") or self.options.get("max_tokens") or 0)


class LLM(Protocol):
    host: str
    model: str

    def complete(
        self,
        messages: list[Message],
        schema: dict[str, Any] | None,
        on_progress: Progress | None,
        room: int | None = None,
        *,
        again: int = 0,
        budget: Budget | None = None,
    ) -> Reply:
        """One answer; `schema` constrains it to JSON (None: plain text); `room` overrides num_predict; `again` > 0
        asks again after a stopped answer (another seed, anti-repetition sampling); `budget` sets the wall clock.

        The stream is watched (genlib.model.watch): a loop, or an answer over its wall clock, is stopped at once
        and said on the provider's `out`; the Reply then has `stopped` and the text received."""
        ...

    def reserve(self, prompt_chars: int) -> None: ...

    def room_for(self, messages: list[Message], wanted: int) -> int:
        """The most tokens an answer to `messages` can be given, up to `wanted`, without changing the window."""
        ...

    def ensure_model(self, *, pull: bool, out: TextIO | None = None) -> None: ...

    def close(self) -> None: ...


def prompt_tokens(messages: list[Message]) -> int:
    """The prompt's size in tokens, estimated from its characters (the server counts only after it read it)."""
    return math.ceil(sum(len(m["content"]) for m in messages) / CHARS_PER_TOKEN)


def num_ctx_for(prompt_chars: int, num_predict: int, cap: int) -> int:
    """A context window that holds the prompt and the answer, as a power of two, at most `cap`."""
    needed = math.ceil(prompt_chars / CHARS_PER_TOKEN) + num_predict
    return min(cap, 1 << max(11, math.ceil(math.log2(max(needed, 1)))))
