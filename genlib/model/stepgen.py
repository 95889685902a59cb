"""A gen in steps (setting `steps`): a small JSON plan, then each file as plain text in one fenced block.

    ask_plan       the plan (Plan: components, files with a purpose, interfaces, scenarios), checked as an answer
    file_messages  the plan prompt and answer, the interface files, then "write <path>": the prefix up to that
                   last line is byte-identical for every file, so the model server reuses its cache
    read_fenced    the file's content, then rules.check_one_file: the same rules a whole answer's files pass
    Received       what arrived so far, under .genlib/gen/<request>/: a rerun of the same request resumes
    generate       all of it -> the LLMOutput of the iteration (format /2, one Step per request)

No code travels escaped inside JSON, and no answer has to hold the whole app: each file has its own
completion, and a file longer than one completion is continued (genlib.model.continued). A bad file is asked for
again alone, with the error: that includes the rules of its content, and with the last file those of the answer.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, TextIO, TypeVar

from pydantic import Field, ValidationError, model_validator

from genlib import prompts
from genlib.answer import imports, pages, rules
from genlib.answer.bounds import bounded
from genlib.answer.syntax import Syntax
from genlib.budget import Candidate, ShownFile, clip_list, fit_files
from genlib.config import Settings
from genlib.documents.llm_output import (
    FORMAT,
    Answer,
    Attempt,
    ComponentSpec,
    FileSpec,
    LLMOutput,
    Request,
    Step,
    schema_for,
)
from genlib.documents.mends import mend_plan
from genlib.documents.scenarios import HttpScenario, LogsScenario, PageScenario, Scenario
from genlib.errors import AnswerInvalid, OutputError
from genlib.fsutil import atomic_write_text
from genlib.model import continued, genprompt, profile, routefill, scaffold, starters, stubfill
from genlib.model.ask import Accepted, Check, Expect, ask_for, parse_json, prompt_sha256
from genlib.model.base import LLM, Message
from genlib.model.fenced import read_fenced
from genlib.model.healsmall import unnumbered
from genlib.model.meter import token_meter
from genlib.model.watch import Budget, Kind
from genlib.strict import Strict
from genlib.text import one_line
from genlib.workspace import Workspace

FILE_TEMPLATE = "file.md.j2"
ROUTES_SHOWN = 12  # the plan's routes, restated beside a file request
JSON_AGAIN = "Answer again with the whole JSON object, corrected, matching the schema; no text outside the JSON."
FILE_AGAIN = "Answer again with the whole corrected file in one fenced block, and nothing else."
T = TypeVar("T")


class PlannedFile(Strict):
    path: str
    purpose: str = ""  # one line
    interface: bool = False  # other files build on it: written first, shown to every later request


class Interface(Strict):
    kind: Literal["route", "env", "message"]
    name: str  # "GET /notes", "NOTES_API_URL", "note"
    shape: str = ""  # one line: the JSON shape, the value's meaning


class Plan(Strict):
    """The first answer of a gen in steps: everything but the files' content."""

    summary: str = ""
    components: list[ComponentSpec] = Field(default_factory=list)
    files: list[PlannedFile] = Field(default_factory=list)
    interfaces: list[Interface] = Field(default_factory=list, max_length=rules.MAX_INTERFACES)
    deletions: list[str] = Field(default_factory=list)
    scenarios: list[Scenario] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _mended(cls, data: Any) -> Any:
        return mend_plan(data)

    def as_answer(self, contents: dict[str, str]) -> Answer:
        files = [FileSpec(path=f.path, content=contents.get(f.path, "")) for f in self.files]
        return Answer(
            summary=self.summary,
            components=self.components,
            files=files,
            deletions=self.deletions,
            scenarios=self.scenarios,
        )

    def component_of(self, path: str) -> ComponentSpec | None:
        return self.outline().component_of(path)

    def outline(self, request: str = "") -> starters.Outline:
        """What chooses and fills the starters: the plan, and the routes the person's `request` names."""
        words = self.model_dump_json(include={"summary", "components", "files"}).lower()
        services = {c.service for c in self.components}
        # the person's words on a route first: the 0.5B shaped `GET /time` as a list the request never asked for
        routes: list[starters.Route | None] = [
            r if r.service in services else replace(r, service="") for r in starters.routes_in(request)
        ]
        routes += [starters.Route.named(i.name, answers=i.shape) for i in self.interfaces if i.kind == "route"]
        routes += [
            starters.Route.named(f"{s.request.method} {s.request.path}", s.service, starters.expected(s))
            for s in self.scenarios
            if isinstance(s, HttpScenario)
        ]
        selectors: dict[str, list[str]] = {}
        for page in (s for s in self.scenarios if isinstance(s, PageScenario)):
            selectors.setdefault(page.service, []).extend(page.expect_selectors)
        shows: dict[str, list[str]] = {}  # what a worker's log, a page, must show
        for found in self.scenarios:
            if isinstance(found, LogsScenario | PageScenario):
                seen = found.must_contain if isinstance(found, LogsScenario) else found.expect_text
                shows.setdefault(found.service, []).extend(seen)
        paths = {f.path for f in self.files}
        tables = scaffold.tables_in("\n".join(f.purpose for f in self.files if f.path.endswith(".sql")))
        return starters.Outline(self.components, paths, words, [r for r in routes if r], selectors, shows, tables)

    def in_order(self) -> list[PlannedFile]:
        """Interface files first (the others are written against them), else the plan's order."""
        return [f for f in self.files if f.interface] + [f for f in self.files if not f.interface]


def plan_schema() -> dict[str, object]:
    return schema_for(Plan)


def parse_plan(raw: str, check: Check) -> Plan:
    """The plan's JSON, then every rule an answer obeys, on the files as planned (their content still empty)."""
    plan = parse_json(raw, Plan)
    check(plan.as_answer({}), planned=True)
    return plan


# -- one file ----------------------------------------------------------------------------------------


# -- what arrived so far -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    """A gen's answers as they arrive, under .genlib/gen/<request>/ (the request: prompt, model, server)."""

    folder: Path

    @classmethod
    def for_request(cls, ws: Workspace, llm: LLM, messages: list[Message]) -> Received:
        key = hashlib.sha256(f"{llm.host}\n{llm.model}\n{prompt_sha256(messages)}".encode()).hexdigest()[:16]
        return cls(ws.state_dir / "gen" / key)

    def plan(self) -> tuple[str, Step, Request] | None:
        path = self.folder / "plan.json"
        if not path.is_file():
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
        return data["raw"], Step.model_validate(data["step"]), Request.model_validate(data["request"])

    def keep_plan(self, raw: str, step: Step, request: Request) -> None:
        self._write(self.folder / "plan.json", {"raw": raw, "step": step.model_dump(), "request": request.model_dump()})

    def file(self, path: str) -> tuple[str, Step] | None:
        stored = self._file_path(path)
        if not stored.is_file():
            return None
        data = json.loads(stored.read_text(encoding="utf-8"))
        return data["content"], Step.model_validate(data["step"])

    def keep_file(self, path: str, content: str, step: Step) -> None:
        self._write(self._file_path(path), {"path": path, "content": content, "step": step.model_dump()})

    def count(self) -> int:
        return len(list((self.folder / "files").glob("*.json")))

    def clear(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    def _file_path(self, path: str) -> Path:
        return self.folder / "files" / f"{hashlib.sha256(path.encode()).hexdigest()[:16]}.json"

    @staticmethod
    def _write(path: Path, data: object) -> None:
        atomic_write_text(path, json.dumps(data, ensure_ascii=False) + "\n")


# -- the whole gen ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    ws: Workspace
    llm: LLM
    settings: Settings
    check: Check  # every rule, on the whole answer
    out: TextIO
    current: rules.Baseline = field(default_factory=rules.Baseline)  # the app it lands on: each file's rules


def generate(run: Run, description: str, messages: list[Message]) -> LLMOutput:
    """Plan, then every file (resuming from what a killed run received); the iteration's llm_output."""
    with Syntax() as syntax:
        got = collect(run, messages, syntax, asked=description)
    return LLMOutput(
        format=FORMAT,
        kind="gen",
        description=description,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        request=got.request(run.llm.host, messages),
        steps=got.steps,
        answer=got.answer,
        stats=got.stats(),
    )


def patch(run: Run, messages: list[Message], note: str | None = None) -> Accepted[Answer]:
    """A heal answer in steps: a small JSON header (the plan of the patch), then each file it changes as plain
    text, whole; a file that comes back much shorter than it is, with an elision ("... rest unchanged"), is
    refused and asked for again: a shortened file is never shipped silently."""
    note = HEADER_NOTE if note is None else note  # a template that says how to answer (profile small) needs none
    header = [*messages[:-1], {**messages[-1], "content": messages[-1]["content"] + note}]
    with Syntax() as syntax:
        return collect(run, header, syntax, patch=True)


HEADER_NOTE = """

## Answer in steps: the header first
This answer is the header only, as the JSON object of the schema: `summary`, the components and scenarios it
changes, `deletions`, and `files` as {path, purpose} for every file the patch writes (no content yet). Each of
those files is asked for next, one at a time: then send it whole, never with parts left out."""


def collect(
    run: Run, messages: list[Message], syntax: Syntax, *, patch: bool = False, asked: str = ""
) -> Accepted[Answer]:
    """The plan, then each file; kept under .genlib/gen/ as they arrive. `patch`: heal's (each file is checked
    against its content in run.current too); `asked`: the person's request, for a route asked for alone."""
    received = Received.for_request(run.ws, run.llm, messages)
    budget = run.settings.gen_budget_chars  # what each file request adds to `messages`: STEPS_SHARE of it
    run.llm.reserve(sum(len(m["content"]) for m in messages) + int(budget * genprompt.STEPS_SHARE))
    plan_raw, plan_step, request, plan = _plan(run, messages, received, "header" if patch else "plan")
    plan_text, notes = genprompt.plan_shown(plan_raw, plan, int(budget * genprompt.PLAN_SHARE))
    room = int(budget * genprompt.STEPS_SHARE) - len(plan_text) - genprompt.ASK_ROOM
    order = plan.in_order()
    app = rules.apply(plan.as_answer({}), run.current)  # whose command runs which file: the empty rule's
    if received.count():
        print(f"resuming: {received.count()} of {len(order)} files already received ({received.folder})", file=run.out)
    contents: dict[str, str] = {}
    steps = [plan_step]
    small = run.settings.profile == profile.SMALL and not patch
    outline = plan.outline(asked) if small else None  # what chooses each file's starter: the same for every file
    for number, planned in enumerate(order, 1):
        kept = received.file(planned.path)
        starter = starters.for_file(run.ws, outline, planned.path) if outline else None
        last = number == len(order)
        on = FileRules(planned.path, app, syntax, patch, starter.content if starter else None)
        arrival = _arrival_rules(run, plan, contents, on, last=last)
        if kept is None:
            interfaces = [f for f in order[: number - 1] if f.interface] if planned.interface else None
            written, left_out = _shown(plan, interfaces, contents, room)
            template = profile.template(run.settings, FILE_TEMPLATE)
            shown = notes + left_out
            asking = file_messages(run.ws, messages, plan_text, written, planned, plan, shown, template, starter)
            known = starter.content if starter else run.current.files.get(planned.path, "")
            scaffold = starter.content if starter else ""
            position = (number, len(order))
            try:
                kept = _one_file(
                    run,
                    asking,
                    planned,
                    arrival,
                    position,
                    numbered=patch,
                    known=known,
                    scaffold=scaffold,
                    app=app.files,
                )
            except AnswerInvalid as exc:
                if not scaffold:
                    raise
                kept = _as_its_starter(run, planned.path, asking, scaffold, exc)
            received.keep_file(planned.path, *kept)
        route_steps: list[Step] = []
        filled = kept[0]
        if starter is not None:  # its stubs (routes, work(), a page's content), each asked for alone
            ask = route_asker(run, route_steps)
            filled = stubfill.fill(run.ws, starter, kept[0], planned.path, asked, planned.purpose, ask, arrival)
        if filled != kept[0]:
            kept = (filled, kept[1])
            received.keep_file(planned.path, *kept)
        contents[planned.path] = kept[0]
        steps += [kept[1], *route_steps]
    answer = plan.as_answer(contents)
    try:
        run.check(answer)  # every rule once more, on the whole answer (files kept by a killed run too)
    except OutputError:
        received.clear()  # a rerun asks again rather than resume into the same refusal
        raise
    return Accepted(answer, "", [], steps=steps, made=request)


def route_asker(run: Run, steps: list[Step], made: list[Request] | None = None) -> routefill.Ask:
    """How routefill asks for one function: alone, refused answers back with their reason; None when the model
    gave none that passes (the route stays as it was). `steps` (and `made`, each request) collect what was asked."""

    def ask(prompt: str, parse: Callable[[str], str], label: str) -> str | None:
        asking: list[Message] = [{"role": "user", "content": prompt}]
        expect = Expect(parse, None, routefill.AGAIN, None, Budget.of(run.settings, "file"), True)
        try:
            accepted = _ask(run, asking, expect, label)
        except AnswerInvalid as exc:  # a better file, not a must: the route stays as it was
            print(f"{label}: left as it was ({exc})", file=run.out)
            return None
        steps.append(_step(label, asking, accepted))
        if made is not None:
            made.append(accepted.request(run.llm.host, asking))
        return accepted.answer

    return ask


def _plan(run: Run, messages: list[Message], received: Received, kind: Kind) -> tuple[str, Step, Request, Plan]:
    kept = received.plan()
    if kept is not None:
        raw, step, request = kept
        try:
            return raw, step, request, parse_plan(raw, run.check)
        except (OutputError, ValidationError):
            received.clear()  # the rules or the workspace changed since: start again
    budget = Budget.of(run.settings, kind)
    schema = bounded(plan_schema(), rules.Limits.of(run.settings))  # what a grammar holds the plan to
    expect = Expect(lambda raw: parse_plan(raw, run.check), schema, JSON_AGAIN, budget=budget)
    accepted = _ask(run, messages, expect, kind)
    step = _step("plan", messages, accepted)
    request = accepted.request(run.llm.host, messages)
    received.keep_plan(accepted.raw, step, request)
    return accepted.raw, step, request, accepted.answer


@dataclass(frozen=True)
class FileRules:
    """What rules.check_one_file needs besides the content: the file, the planned app, the syntax checker."""

    path: str
    app: rules.App
    syntax: Syntax
    patch: bool
    made_from: str | None = None  # its starter: a program that comes back a fragment of it is refused


def _arrival_rules(
    run: Run, plan: Plan, contents: dict[str, str], on: FileRules, *, last: bool
) -> Callable[[str], None]:
    """The rules a file's content must pass (rules.check_one_file: those a file of a whole answer passes), and
    with the last file every rule on the whole answer (a patch that changes nothing): what breaks one goes back
    with that file alone, not as a refusal of the whole answer after every file is in."""
    limits = rules.Limits.of(run.settings)

    def check(content: str) -> None:
        spec = FileSpec(path=on.path, content=content)
        rules.check_one_file(spec, run.current, limits, on.app, on.syntax, patch=on.patch, made_from=on.made_from)
        if last:
            run.check(plan.as_answer({**contents, on.path: content}))

    return check


def _shown(
    plan: Plan, interfaces: list[PlannedFile] | None, contents: dict[str, str], room: int
) -> tuple[list[ShownFile], list[str]]:
    """The interface files a request shows: all of them, or for an interface file those written before it;
    within `room` chars, in plan order (the same list for every later file: the server's cache)."""
    shown = interfaces if interfaces is not None else [f for f in plan.files if f.interface]
    written, omitted = fit_files([Candidate(f.path) for f in shown if f.path in contents], room, contents.get)
    return written, [f"interface files not shown: {', '.join(omitted)}"] if omitted else []


def _one_file(
    run: Run,
    asking: list[Message],
    planned: PlannedFile,
    arrival: Callable[[str], None],
    position: tuple[int, int],
    *,
    numbered: bool = False,  # a heal's file: sent back with the line numbers it was shown with (profile small)?
    known: str = "",  # what it was made from (its starter, or the file before a patch): imports it may have lost
    scaffold: str = "",  # its starter: the part above a server's app is genlib's (routefill.on_scaffold)
    app: Collection[str] = (),  # every path the app will have: a page's tags loading others are dropped
) -> tuple[str, Step]:
    max_bytes = run.settings.max_file_bytes

    def parse(raw: str) -> str:
        content = unnumbered(read_fenced(raw)) if numbered else read_fenced(raw)
        content = routefill.on_scaffold(content, scaffold) if scaffold else content
        content = pages.without_missing(planned.path, content, app) if app else content
        content = imports.completed(content, known) if planned.path.endswith(".py") else content
        arrival(content)
        return content

    label = f"file {position[0]} of {position[1]} {planned.path}"  # the meter adds tokens, time, tok/s
    resume = continued.resumer(limit=max_bytes + continued.FENCES)
    accepted = _ask(run, asking, Expect(parse, None, FILE_AGAIN, resume, Budget.of(run.settings, "file"), True), label)
    return accepted.answer, _step(planned.path, asking, accepted)


def _as_its_starter(
    run: Run, path: str, asking: list[Message], starter: str, refused: AnswerInvalid
) -> tuple[str, Step]:
    """A file whose whole-file answers were all refused starts as its starter (known good): a server's or worker's
    stubs (routes, work()) are then asked for one at a time, as for a starter sent back unchanged. The real 1.5B's
    notes API came back three times with a typo or a syntax error in its routes, and the 0.5B's notes page script
    three times with an `await` outside an async function: each time the whole gen failed."""
    print(f"{path}: {refused}; it starts as its starter instead", file=run.out)
    return starter, Step(
        name=path, prompt_sha256=prompt_sha256(asking), prompt_chars=sum(len(m["content"]) for m in asking)
    )


def file_messages(
    ws: Workspace,
    messages: list[Message],
    plan_text: str,
    written: list[ShownFile],
    planned: PlannedFile,
    plan: Plan,
    left_out: Sequence[str] = (),
    template: str = FILE_TEMPLATE,
    starter: starters.Starter | None = None,
) -> list[Message]:
    """The plan request and its answer (as genprompt.plan_shown gives it), then the interface files and the one
    file asked for; `left_out` says what the budget kept out; `starter`, a known-good file to start from (small).

    Everything before the file's own lines is the same for every file of the run (the server's cache)."""
    component = plan.component_of(planned.path)
    cap = genprompt.ASK_TEXT_CAP
    context = {
        "written": written,
        "left_out": list(left_out),
        "path": planned.path,
        "purpose": one_line(planned.purpose, cap),
        "component": component and {**component.model_dump(), "command": clip_list(component.command or [], cap)},
        "starter": starter and {"content": starter.content, "hint": starter.hint},
        "routes": [one_line(f"{i.name}: {i.shape}", cap) for i in plan.interfaces if i.kind == "route"][:ROUTES_SHOWN],
    }
    ask = prompts.render(ws, template, context)
    return [*messages, {"role": "assistant", "content": plan_text}, {"role": "user", "content": ask}]


def _ask(run: Run, messages: list[Message], expect: Expect[T], label: str) -> Accepted[T]:
    on_progress, finish = token_meter(run.out, label, expect.budget)
    try:
        return ask_for(
            run.llm,
            messages,
            expect,
            retries=run.settings.retries,
            rejected_dir=run.ws.state_dir / "rejected",
            on_progress=on_progress,
            fresh=run.settings.profile == profile.SMALL,
        )
    finally:
        finish()


def _step(name: str, messages: list[Message], accepted: Accepted[T]) -> Step:
    return Step(
        name=name,
        prompt_sha256=prompt_sha256(messages),
        prompt_chars=sum(len(m["content"]) for m in messages),
        attempts=[Attempt.model_validate(a.model_dump()) for a in accepted.attempts],
        stats=accepted.stats(),
    )
