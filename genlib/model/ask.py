"""One accepted answer: parse, validate, and ask again with the error fed back, a few times.

Everything the model said is kept: `ask` returns every attempt, and when the answer stays invalid
the raw texts are saved under .genlib/rejected/.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Generic, Protocol, TextIO, TypeVar

from pydantic import BaseModel, ValidationError

from genlib.answer.bounds import bounded
from genlib.answer.rules import Limits
from genlib.answer.syntax import Syntax
from genlib.config import Settings
from genlib.documents.llm_output import Answer, Attempt, Request, Stats, Step, answer_schema
from genlib.errors import AnswerInvalid, OutputError
from genlib.fsutil import atomic_write_text, sha256_bytes
from genlib.model.base import LLM, Message, Progress, Reply
from genlib.model.meter import token_meter
from genlib.model.watch import Budget
from genlib.strict import describe_validation_error
from genlib.text import one_line

M = TypeVar("M", bound=BaseModel)


class Check(Protocol):
    """Raises OutputError when the answer breaks a rule; `planned`: its files' content is still to come (a gen
    in steps checks the plan first, then each file's content as it arrives)."""

    def __call__(self, answer: Answer, *, planned: bool = False) -> None: ...


T = TypeVar("T")
_JSON_AGAIN = "Answer again with the whole JSON object, corrected, matching the schema; no text outside the JSON."


@dataclass(frozen=True)
class Accepted(Generic[T]):
    """One accepted answer and every attempt; for an answer in steps, `steps` hold them (one per request)."""

    answer: T
    raw: str
    attempts: list[Attempt]
    replies: list[Reply] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    made: Request | None = None  # in steps: the first request's (the plan's)

    def stats(self) -> Stats:
        """What all attempts cost together (a retry is part of the iteration's price)."""
        return sum_stats([*(reply.stats for reply in self.replies), *(step.stats for step in self.steps)])

    def request(self, host: str, messages: list[Message]) -> Request:
        if self.made is not None:
            return self.made
        last = self.replies[-1]
        return Request(
            host=host,
            model=last.model,
            options=last.options,
            prompt_sha256=prompt_sha256(messages),
            prompt_chars=sum(len(m["content"]) for m in messages),
        )


_MAX_NESTING = 64  # an answer is 4 levels deep; a JSON parser or validator recurses once per level


Resume = Callable[[LLM, list[Message], Reply, Progress | None], Reply]  # a cut answer -> the whole one


@dataclass(frozen=True)
class Expect(Generic[T]):
    """What an answer must be: `parse` reads it or raises OutputError; `schema` None asks for plain text;
        `again` follows the rejection reason when it goes back to the model; `resume`, when set, makes an answer
        cut at the token limit whole (genlib.model.continued), before it counts as a failed attempt; `budget`, when
        set, is the request's room and wall clock (genlib.model.watch); `whole_before_a_loop`: an answer stopped for
    looping is first parsed as it stands (a file's fenced block is whole before the model sends it again; a JSON
    answer cut by the stop never parses anyway)."""

    parse: Callable[[str], T]
    schema: dict[str, Any] | None
    again: str
    resume: Resume | None = None
    budget: Budget | None = None
    whole_before_a_loop: bool = False


def _with_note(messages: list[Message], note: str) -> list[Message]:
    """`messages` with `note` at the end of the last one (a new list; the request itself is not changed)."""
    last = messages[-1]
    return [*messages[:-1], {**last, "content": f"{last['content'].rstrip()}\n\n{note}"}]


def sum_stats(parts: Iterable[Stats]) -> Stats:
    totals: dict[str, float] = {}
    for stats in parts:
        for name, value in stats.model_dump().items():
            totals[name] = totals.get(name, 0) + value
    return Stats.model_validate({k: (int(v) if k.endswith("tokens") else round(v, 3)) for k, v in totals.items()})


def prompt_sha256(messages: list[Message]) -> str:
    return sha256_bytes(json.dumps(messages, ensure_ascii=False).encode("utf-8"))


def parse_answer(raw: str, check: Check) -> Answer:
    """JSON, then the schema, then genlib's safety rules; each failure is one OutputError."""
    return check_after(parse_json(raw, Answer), check)


def parse_json(raw: str, model: type[M]) -> M:
    """JSON, then the schema of `model`; each failure is one OutputError."""
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise OutputError(f"not valid JSON ({exc})") from exc
    except RecursionError as exc:
        raise OutputError(f"JSON nested deeper than {_MAX_NESTING} levels; answer with the flat object") from exc
    if _nesting(data) > _MAX_NESTING:
        raise OutputError(f"JSON nested deeper than {_MAX_NESTING} levels; answer with the flat object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise OutputError(f"does not match the schema: {describe_validation_error(exc)}") from exc


def check_after(value: M, check: Callable[[M], None]) -> M:
    check(value)
    return value


def _nesting(data: Any) -> int:
    """How deep containers nest, without recursing (the validator would, once per level)."""
    deepest, stack = 0, [(data, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in (node.values() if isinstance(node, dict) else node))
    return deepest


def ask(
    llm: LLM,
    messages: list[Message],
    *,
    check: Check,
    retries: int,
    rejected_dir: Path,
    on_progress: Progress | None = None,
    limits: Limits | None = None,
) -> Accepted[Answer]:
    """Ask for an Answer until it is valid, at most `retries` more times, feeding each error back; the schema
    sent is bounded by `limits` (genlib.answer.bounds)."""
    schema = bounded(answer_schema(), limits or Limits())
    expect = Expect(lambda raw: parse_answer(raw, check), schema, _JSON_AGAIN)
    return ask_for(llm, messages, expect, retries=retries, rejected_dir=rejected_dir, on_progress=on_progress)


def ask_for(
    llm: LLM,
    messages: list[Message],
    expect: Expect[T],
    *,
    retries: int,
    rejected_dir: Path,
    on_progress: Progress | None = None,
    fresh: bool = False,
) -> Accepted[T]:
    """Ask until `expect.parse` takes the answer, at most `retries` more times, feeding each error back.

    `fresh` (small models): a refused answer is not shown back; the request is asked again as it was, with the
    reason as a note at its end. The 0.5B, shown its refused plan and the reason, sent the plan back with its
    components deleted, twice: what a small model is shown, it copies.

    A cut answer is never parsed (even when what arrived happens to parse): it is asked for again with more
    room, or first given to `expect.resume`. A stopped one (it looped, or ran over its wall clock) is asked
    again as it was, with another seed and anti-repetition sampling: what it said is not fed back. A refused one is
    asked again with the reason and another seed too: the same seed gave the real 0.5B the same refused file
    three times running, whatever the reason said."""
    conversation = list(messages)
    attempts: list[Attempt] = []
    replies: list[Reply] = []
    budget = expect.budget
    room: int | None = budget.tokens if budget is not None else None
    stops = 0
    for _ in range(retries + 1):
        reply = llm.complete(conversation, expect.schema, on_progress, room, again=len(attempts), budget=budget)
        if reply.cut and expect.resume is not None:
            reply = expect.resume(llm, conversation, reply, on_progress)  # made whole, or still cut
        room = more_room(reply) if reply.cut else room
        replies.append(reply)
        whole = _parsed_before_the_stop(expect, reply.text) if reply.stopped else None
        if whole is not None:
            attempts.append(Attempt(raw=reply.text, thinking=reply.thinking))  # it looped only after a whole answer
            return Accepted(whole, reply.text, attempts, replies)
        if reply.stopped:
            stops += 1
            attempts.append(Attempt(raw=reply.text, error=reply.stopped, thinking=reply.thinking))
            continue
        try:
            if reply.cut:
                raise OutputError(
                    f"the answer was cut off at the token limit ({reply.stats.completion_tokens} tokens"
                    f"{f' in {len(reply.parts)} parts' if reply.parts else ''}; setting num_predict); "
                    "answer again, shorter"
                )
            answer = expect.parse(reply.text)
        except OutputError as exc:
            attempts.append(Attempt(raw=reply.text, error=str(exc), thinking=reply.thinking, parts=list(reply.parts)))
            again = f"Your answer was rejected: {exc}. {expect.again}"
            if fresh:
                conversation = _with_note(messages, f"(A previous answer was refused: {exc}.)")
            else:
                conversation += [{"role": "assistant", "content": reply.text}, {"role": "user", "content": again}]
            continue
        attempts.append(Attempt(raw=reply.text, thinking=reply.thinking, parts=list(reply.parts)))
        return Accepted(answer, reply.text, attempts, replies)
    path = save_rejected(rejected_dir, llm, attempts)
    raise AnswerInvalid(
        f"the model's answer was still invalid after {len(attempts)} attempts "
        f"({one_line(attempts[-1].error or '', 200)}); "
        f"raw answers kept in {path}; run again or pass another model="
    )


def _parsed_before_the_stop(expect: Expect[T], text: str) -> T | None:
    """What a stopped answer said before it went round, when that is already whole and valid (a file's block,
    then the same block again and again until the guard stopped it); None otherwise."""
    if not expect.whole_before_a_loop:
        return None
    try:
        return expect.parse(text)
    except OutputError:
        return None


def more_room(reply: Reply) -> int:
    """After a cut answer: twice the token limit it was given."""
    return 2 * reply.room or 2 * reply.stats.completion_tokens


def save_rejected(folder: Path, llm: LLM, attempts: list[Attempt]) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    path = folder / f"{stamp}.json"
    record = {"model": llm.model, "host": llm.host, "attempts": [a.model_dump() for a in attempts]}
    # ASCII escapes: a raw answer or a reason may quote a lone surrogate, which UTF-8 cannot write
    atomic_write_text(path, json.dumps(record, indent=2, ensure_ascii=True) + "\n")
    return path


def ask_whole(
    llm: LLM,
    messages: list[Message],
    settings: Settings,
    check_with: Callable[[Syntax], Check],
    rejected_dir: Path,
    out: TextIO,
) -> Accepted[Answer]:
    """The whole answer in one JSON (`steps = false`), for gen and heal alike: each file checked by the rules a
    file gets in steps (genlib.answer.file_rules), a meter while it streams."""
    on_progress, finish = token_meter(out, llm.model)
    try:
        with Syntax() as syntax:
            return ask(
                llm,
                messages,
                check=check_with(syntax),
                retries=settings.retries,
                rejected_dir=rejected_dir,
                on_progress=on_progress,
                limits=Limits.of(settings),
            )
    finally:
        finish()
