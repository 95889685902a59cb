"""A plain-text answer cut at the token limit, made whole: asked again with all the room the window holds,
then, while still cut, continued: the rest asked for after the part received, and joined.

    resume   the cut answer made whole (or still cut, past `limit` characters or when the model stops adding)
    join     a continuation after the text before it, without what the model wrote twice

genlib.model.ask.ask_for calls it for each file of a gen in steps (Expect.resume); the joined text is then checked
as any other answer, and one still cut is never accepted.
"""

from __future__ import annotations

import re

from genlib.model.ask import Resume, sum_stats
from genlib.model.base import LLM, Message, Progress, Reply

CONTINUE = (
    "Your answer was cut off at the token limit after the text above. Continue it exactly where it stopped: "
    "send only the rest, from the next character on, without repeating anything, and close the fenced block "
    "at its end."
)
WHOLE_WINDOW = 1 << 20  # tokens wanted for the second try: LLM.room_for caps it at what the window holds
MIN_OVERLAP = 8  # a shorter repeat counts only when it is the whole partial line the answer stopped in
MAX_OVERLAP = 4000  # characters of a repeat looked for (more: the whole partial line)
FENCES = 64  # characters a fenced answer holds beyond its content: the fence lines
_FENCE = re.compile(r"\s*(`{3,})")


def resumer(limit: int) -> Resume:
    """`resume` for answers of at most `limit` characters (a longer one is not asked for more: it stays cut)."""
    return lambda llm, messages, reply, on_progress: resume(llm, messages, reply, on_progress, limit)


def resume(llm: LLM, messages: list[Message], reply: Reply, on_progress: Progress | None, limit: int) -> Reply:
    """The cut `reply` asked again with more room when the window holds more (the same run's window: no model
    reload), then its continuations, each with that room, until one ends on its own, one adds nothing, or the
    text is over `limit` characters. `parts` keeps every completion."""
    parts = [reply]
    room = llm.room_for(messages, WHOLE_WINDOW)
    if room > reply.room:
        reply = llm.complete(messages, None, on_progress, room)
        parts.append(reply)
    text = reply.text
    while parts[-1].cut and len(text) <= limit:
        asking = [*messages, {"role": "assistant", "content": text}, {"role": "user", "content": CONTINUE}]
        parts.append(llm.complete(asking, None, on_progress, reply.room or None))
        joined = join(text, parts[-1].text)
        if joined == text:
            break  # nothing new: a model that cannot go on (the answer stays cut)
        text = joined
    if len(parts) == 1:
        return reply
    last = parts[-1]
    stats = sum_stats(p.stats for p in parts)
    thinking = "".join(p.thinking for p in parts)
    parts_text = tuple(p.text for p in parts)
    return Reply(text, last.model, last.options, stats, last.cut, thinking, parts_text, stopped=last.stopped)


def join(received: str, more: str) -> str:
    """`more` after `received`, less what it repeats: the answer's fence opened again at its start, and the
    longest tail of `received` it starts with (at least MIN_OVERLAP characters, or the partial line it ends in)."""
    if _opens_again(received, more):
        more = more.partition("\n")[2]
    partial = len(received) - (received.rfind("\n") + 1)
    for size in range(min(len(received), len(more), max(MAX_OVERLAP, partial)), 0, -1):
        if (size >= MIN_OVERLAP or size == partial) and received.endswith(more[:size]):
            return received + more[size:]
    return received + more


def _opens_again(received: str, more: str) -> bool:
    """`more` starts a new block in the answer's fence: with a language, or bare with the block closed later
    (a bare fence and nothing after it is the answer's closing one)."""
    fence = _FENCE.match(received)
    first, _, rest = more.partition("\n")
    if fence is None or not re.fullmatch(re.escape(fence.group(1)) + r"[\w.+#-]*\s*", first):
        return False
    return first.strip() != fence.group(1) or fence.group(1) in (line.strip() for line in rest.splitlines())
