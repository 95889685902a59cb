"""`doit heal`: patch, rebuild and retest, round after round, until the tests pass or a limit is hit.

    read the failures   HEAD's results.json (the graph runs first when there is none)
    healprompt.build    the bounded prompt: evidence, logs, implicated files, earlier rounds
    ask + patch rules   the model's patch; a rule broken goes back to it as the retry reason
    record              iterations/iter_NNN_patch/ (desc.txt, llm_output.json), test.yaml, HEAD
    doit_run.run test   one fresh in-process doit run: 0 green, 1 failing tests, 2/3 a tool error

A tool error stops the loop without creating another iteration; every finished
round's iteration stays, and HEAD points at the last one written.
"""

from __future__ import annotations

import functools
import json
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TextIO

from genlib.answer import patch, rules
from genlib.answer.file_rules import SyntaxCheck
from genlib.app import registry
from genlib.app.dataservices import known_secrets
from genlib.app.iterations import PATCH_SLUG, Iteration, head, set_head, write_iteration
from genlib.config import Settings
from genlib.documents import journal, results
from genlib.documents.llm_output import FORMAT, Answer, LLMOutput, dump_output
from genlib.documents.results import RunReport
from genlib.documents.scenarios import load_tests, merge_model_scenarios, save_tests, settle
from genlib.errors import AnswerInvalid, LLMError, WorkspaceError
from genlib.model import healprompt, healroutes, healsmall, profile, routefill, stepgen
from genlib.model.ask import Accepted, Check, ask_whole
from genlib.model.base import LLM, Message
from genlib.model.connect import connect
from genlib.stack import compose, migrations
from genlib.tasks import doit_run
from genlib.workspace import Workspace

TEST_TASK = ("test",)  # materialize -> registry -> compose -> up -> test
# evidence that differs run to run (counts, times; a logs window's time moves with each new iteration)
_VOLATILE = ("log_tail", "log_head", "errors", "output_tail", "window")


@dataclass(frozen=True)
class RoundLine:
    number: int
    iteration: str
    files_changed: int
    prompt_chars: int
    tokens: int
    outcome: str

    def __str__(self) -> str:
        return (
            f"round {self.number}: {self.iteration}  {self.files_changed} file(s) changed  "
            f"prompt {self.prompt_chars} chars  {self.tokens} tokens  -> {self.outcome}"
        )


@dataclass
class State:
    """What the loop knows between rounds."""

    results: RunReport
    notes: list[healprompt.RoundNote] = field(default_factory=list)
    lines: list[RoundLine] = field(default_factory=list)
    fingerprints: set[str] = field(default_factory=set)
    tokens: int = 0
    misses: int = 0  # rounds since the last one that changed the evidence's shape for the better
    escalate: bool = False  # the last round proved patching this way goes nowhere
    suspect: str = ""  # layer/name of the component the evidence points at (the prompt's first file)
    regenerated: set[str] = field(default_factory=set)
    routes_fixed: Counter[str] = field(default_factory=Counter)  # "<path> <function>" -> rounds it was asked for alone


PATCHES_BEFORE_REGENERATE = 2  # failed patch rounds before the suspect component is rewritten whole
# Rounds a failing route's function is asked for alone (profile small): a second sees what the first one's fix
# did (the 1.5B's first fix of POST /todos raised a TypeError its traceback pointed at); then whole-file rounds.
ROUTE_FIX_ROUNDS = 2


def choose_strategy(state: State) -> healprompt.Strategy:
    """Patch first; after a failed round, patch again knowing what was tried; after two (or a round that
    changed nothing), regenerate the suspect component whole, once per component."""
    tried = state.misses >= PATCHES_BEFORE_REGENERATE or state.escalate
    if tried and state.suspect and state.suspect not in state.regenerated:
        why = f"{state.misses} round(s) of patches did not fix it."
        return healprompt.Strategy("regenerate", state.suspect, why)
    if state.notes:
        last = state.notes[-1]
        return healprompt.Strategy(
            "patch",
            why=f"The last round ({last.iteration}) changed {', '.join(last.changed) or 'nothing'} and the "
            f"tests still fail ({last.outcome}); that was not the cause or not the whole fix.",
        )
    return healprompt.Strategy("patch")


def exhausted(state: State) -> bool:
    """No second way left: the suspect component was already regenerated (or there is none to regenerate)."""
    return not state.suspect or state.suspect in state.regenerated


# -- reading results -------------------------------------------------------------------------------


def read_results(it: Iteration) -> RunReport | None:
    return results.load(it.results)


def signature(report: RunReport) -> list[tuple[str, str, str, str]]:
    """The failures as comparable data: the same signature twice means the last round changed nothing."""
    found = []
    for r in report.failing:
        evidence = {k: v for k, v in r.evidence.fields().items() if k not in _VOLATILE}
        found.append((r.name, r.status, r.reason, json.dumps(evidence, sort_keys=True)))
    return sorted(found)


def outcome_text(report: RunReport) -> str:
    failing = report.failing
    if not failing:
        return "green"
    shown = "; ".join(f"{r.name} ({r.reason})" for r in failing[:3])
    return f"{len(failing)} failing: {shown}" + ("; …" if len(failing) > 3 else "")


# -- one round -------------------------------------------------------------------------------------


def build_messages(
    ws: Workspace, state: State, settings: Settings, strategy: healprompt.Strategy | None = None
) -> list[Message]:
    if settings.profile == profile.SMALL:  # one failure, one traceback, one numbered file (healsmall)
        prompt = healsmall.build(
            ws,
            results=state.results,
            registry=registry.load(ws),
            rounds=state.notes,
            known=known_secrets(ws),
            strategy=strategy,
        )
    else:
        prompt = healprompt.build(
            ws,
            results=state.results,
            registry=registry.load(ws),
            rounds=state.notes,
            budget=settings.prompt_budget_chars,
            strategy=strategy,
            known=known_secrets(ws),
        )
    if prompt.files_shown and (strategy is None or strategy.mode == "patch"):
        state.suspect = "/".join(prompt.files_shown[0].split("/")[:2])
    return [{"role": "user", "content": prompt.text}]


def patch_rules(ws: Workspace, current: rules.Baseline, settings: Settings, syntax: SyntaxCheck | None = None) -> Check:
    """genlib.answer.rules for a patch, on the app it would produce; a broken rule goes back to the model.
    `syntax`: the files' syntax too (in steps each file's is checked as it arrives)."""
    limits = rules.Limits.of(settings)
    render = compose.renderer(ws, settings)

    def check(answer: Answer, *, planned: bool = False) -> None:
        rules.check(answer, current, limits, patch=True, render=render, planned=planned, syntax=syntax)

    return check


def ask_for_patch(
    ws: Workspace, llm: LLM, messages: list[Message], settings: Settings, current: rules.Baseline, out: TextIO
) -> Accepted[Answer]:
    if settings.profile == profile.SMALL:  # one file per round; its template says how to answer
        run = stepgen.Run(ws, llm, settings, healsmall.one_file(patch_rules(ws, current, settings)), out, current)
        return stepgen.patch(run, messages, note="")
    if settings.steps:  # a small JSON header, then each changed file as plain text (docs/steps.md)
        run = stepgen.Run(ws, llm, settings, patch_rules(ws, current, settings), out, current)
        return stepgen.patch(run, messages)
    check_with = functools.partial(patch_rules, ws, current, settings)
    return ask_whole(llm, messages, settings, check_with, ws.state_dir / "rejected", out)


def write_unwritten_routes(
    ws: Workspace, state: State, settings: Settings, llm: LLM, current: rules.Baseline, out: TextIO, number: int
) -> Accepted[Answer] | None:
    """Profile small: routes a failing scenario found still a starter's stub (501 "not written yet"), else routes
    it found missing (404 from a starter-shaped file that lacks them: a stub is added first), are asked for
    alone, one function each, as in a gen (the 0.5B rewrote the whole file shown to it and broke it, but writes
    one function); None when there are none, or the model wrote none of them (a patch round then)."""
    if settings.profile != profile.SMALL:
        return None
    found = registry.load(ws)
    path, routes = healsmall.unwritten_routes(state.results, found, current.files, current.tests)
    why = "still the starter's stub: 501"
    content = current.files.get(path, "")
    if not routes:
        path, routes = healsmall.missing_routes(state.results, found, current.files, current.tests)
        content = current.files.get(path, "")
        for route in routes:
            content = routefill.with_stub(content, route, path) or content
        routes = routefill.stubs(content, routes)
        why = "the file has no such route: 404"
    if not routes:
        return None
    names = ", ".join(f"{r.method} {r.path}" for r in routes)
    print(f"heal: round {number}: writing {names} of {path} alone ({why})", file=out)
    run = stepgen.Run(ws, llm, settings, patch_rules(ws, current, settings), out, current)
    return healroutes.write_routes(run, path, routes, healsmall.asked_text(ws), content)


def write_unwritten_work(
    ws: Workspace, state: State, settings: Settings, llm: LLM, current: rules.Baseline, out: TextIO, number: int
) -> Accepted[Answer] | None:
    """Profile small: a failing scenario's worker whose work() is still its starter's stub has it asked for alone,
    as in a gen (shown the whole file, the 0.5B sent the starter back as it was); None when there is none, or the
    model wrote nothing (a patch round then)."""
    if settings.profile != profile.SMALL:
        return None
    path = healsmall.unwritten_work(state.results, registry.load(ws), current.files)
    if not path:
        return None
    print(f"heal: round {number}: writing work() of {path} alone (still the starter's stub)", file=out)
    run = stepgen.Run(ws, llm, settings, patch_rules(ws, current, settings), out, current)
    return healroutes.write_work(run, path, healsmall.asked_text(ws))


def fix_failing_routes(
    ws: Workspace, state: State, settings: Settings, llm: LLM, current: rules.Baseline, out: TextIO, number: int
) -> Accepted[Answer] | None:
    """Profile small: written routes that answered their scenarios wrong (a 500, a wrong status or body) are asked
    for alone, each function shown its request, response and traceback, in at most ROUTE_FIX_ROUNDS rounds per
    heal (the 0.5B, shown the whole file for one route's 500, rewrote it three rounds running and broke names the
    other routes used); None when there are none, or none left to try (a patch round then)."""
    if settings.profile != profile.SMALL:
        return None
    known = known_secrets(ws)
    found = registry.load(ws)
    path, failures = healsmall.failing_routes(ws, state.results, found, current.files, current.tests, known)
    failures = [f for f in failures if state.routes_fixed[f"{path} {f.function}"] < ROUTE_FIX_ROUNDS]
    if not failures:
        return None
    state.routes_fixed.update(f"{path} {f.function}" for f in failures)
    names = ", ".join(f"{f.route.method} {f.route.path}" for f in failures)
    print(f"heal: round {number}: fixing {names} of {path} alone (its function, shown its failure)", file=out)
    run = stepgen.Run(ws, llm, settings, patch_rules(ws, current, settings), out, current)
    return healroutes.fix_routes(run, path, failures, healsmall.asked_text(ws))


def record(
    ws: Workspace, number: int, accepted: Accepted[Answer], llm: LLM, messages: list[Message], current: rules.Baseline
) -> Iteration:
    """The patch iteration (all or nothing), test.yaml (the model's scenarios, minus those whose
    service the patch removed), then HEAD.

    `answer` keeps only the files that change; `raw` keeps everything the model said."""
    answer = patch.only_changed(accepted.answer, current.files)
    summary = answer.summary.strip() or "patch"
    output = LLMOutput(
        format=FORMAT,
        kind="patch",
        description=f"heal round {number}: {summary}",
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        request=accepted.request(llm.host, messages),
        attempts=accepted.attempts,
        raw=accepted.raw,
        steps=accepted.steps,
        answer=answer,
        stats=accepted.stats(),
    )
    files = {"desc.txt": f"heal round {number}: {summary}\n", "llm_output.json": dump_output(output)}
    it = write_iteration(ws, PATCH_SLUG, files)
    merged, changed = merge_model_scenarios(current.tests, list(accepted.answer.scenarios), it.name)
    settled, dropped = settle(merged, rules.apply(accepted.answer, current).services)
    if changed or dropped:
        save_tests(ws.tests_path, settled)
    set_head(ws, it)
    return it


# -- the loop --------------------------------------------------------------------------------------


def run(ws: Workspace, variables: dict[str, str], out: TextIO | None = None, llm: LLM | None = None) -> int:
    """The whole of `doit heal`; returns the exit code."""
    out = out or sys.stdout
    settings = ws.settings(variables)
    current = head(ws)
    if current is None:
        raise WorkspaceError('nothing to heal: there is no iteration yet; run `doit gen desc="what to build"` first')
    report = read_results(current)
    if report is None:
        print(f"heal: {current.name} has no test results yet; building and testing it first", file=out)
        code = doit_run.run(ws, TEST_TASK, variables)
        report = read_results(current)
        if code >= 2 or report is None:
            return _tool_error(code or 2, current)
    if report.ok:
        passed = report.summary["passed"]
        print(f"heal: nothing to heal: all {passed} scenario(s) of {current.name} pass", file=out)
        return 0
    state = State(report)
    with _saying_what_is_kept(ws, state):
        if llm is not None:
            return _loop(ws, state, settings, variables, llm, out)
        with connect(settings, out) as served:
            return _loop(ws, state, settings, variables, served, out)


@contextmanager
def _saying_what_is_kept(ws: Workspace, state: State) -> Iterator[None]:
    """A model error, from choosing the server to a round's last request, ends heal saying what it leaves."""
    try:
        yield
    except LLMError as exc:
        current = head(ws)
        kept = f"{len(state.lines)} finished round(s) kept, HEAD is {current.name if current else '-'}"
        raise type(exc)(f"{exc} ({kept})") from exc


def _loop(ws: Workspace, state: State, settings: Settings, variables: dict[str, str], llm: LLM, out: TextIO) -> int:
    settings, line = profile.settle(settings, llm)
    print(line, file=out)
    for number in range(1, settings.max_iter + 1):
        if settings.token_budget and state.tokens >= settings.token_budget:
            return _finish(
                ws, state, out, f"token budget spent ({state.tokens} of token_budget={settings.token_budget})"
            )
        stop = _round(ws, state, settings, variables, llm, number, out)
        if stop is not None:
            return stop
    limit = settings.max_iter
    return _finish(ws, state, out, f"the limit of {limit} round(s) was reached (max_iter={limit}; raise it for more)")


def _round(
    ws: Workspace, state: State, settings: Settings, variables: dict[str, str], llm: LLM, number: int, out: TextIO
) -> int | None:
    """One round; an exit code ends the loop, None goes on."""
    strategy = choose_strategy(state)
    messages = build_messages(ws, state, settings, strategy)
    if strategy.mode == "regenerate":
        state.regenerated.add(strategy.component)
        print(f"heal: round {number}: rewriting {strategy.component} whole ({strategy.why})", file=out)
    current = migrations.baseline(ws, load_tests(ws.tests_path))
    accepted = write_unwritten_routes(ws, state, settings, llm, current, out, number)
    accepted = accepted or write_unwritten_work(ws, state, settings, llm, current, out, number)
    if strategy.mode == "patch":  # a component to rewrite whole is not asked for a function at a time
        accepted = accepted or fix_failing_routes(ws, state, settings, llm, current, out, number)
    try:
        accepted = accepted or ask_for_patch(ws, llm, messages, settings, current, out)
    except AnswerInvalid as exc:  # e.g. unchanged files resent on every retry: a failed round, not a tool error
        return _missed(ws, state, out, number, len(messages[0]["content"]), f"no usable patch: {exc}")
    fingerprint = patch.fingerprint(accepted.answer)
    if fingerprint in state.fingerprints:
        why = "the model proposed a patch it had already tried"
        return _missed(ws, state, out, number, len(messages[0]["content"]), why)
    state.fingerprints.add(fingerprint)
    stats = accepted.stats()
    spent = stats.prompt_tokens + stats.completion_tokens
    state.tokens += spent
    it = record(ws, number, accepted, llm, messages, current)
    code = doit_run.run(ws, TEST_TASK, variables)
    report = read_results(it) if code in (0, 1) else None
    changed = [f.path for f in accepted.answer.files] + list(accepted.answer.deletions)
    outcome = "tool error" if report is None else outcome_text(report)
    state.lines.append(RoundLine(number, it.name, len(changed), len(messages[0]["content"]), spent, outcome))
    print(state.lines[-1], file=out)
    if report is None:
        return _tool_error(code or 2, it)
    if report.ok:
        _finish(ws, state, out, "")
        return 0
    same = signature(report) == signature(state.results)
    state.notes.append(healprompt.RoundNote(it.name, accepted.answer.summary, changed, outcome))
    state.results = report
    state.misses += 1
    state.escalate = same
    if same and exhausted(state):
        return _finish(ws, state, out, f"no progress: the same failures with the same evidence twice, {_tried(state)}")
    return None


def _missed(ws: Workspace, state: State, out: TextIO, number: int, prompt_chars: int, why: str) -> int | None:
    """A round that produced no iteration: recorded in the heal journal (shown by `doit history`)."""
    current = head(ws)
    journal.append(ws, number, current.name if current else "-", why)
    state.lines.append(RoundLine(number, "(no iteration)", 0, prompt_chars, 0, why))
    print(state.lines[-1], file=out)
    state.notes.append(healprompt.RoundNote(f"round {number}", "(rejected)", [], why))
    state.misses += 1
    state.escalate = True
    if exhausted(state) and state.misses > PATCHES_BEFORE_REGENERATE:
        return _finish(ws, state, out, f"{why}, {_tried(state)}")
    return None


def _tried(state: State) -> str:
    rewritten = ", ".join(sorted(state.regenerated))
    how = f"after patching and regenerating {rewritten}" if rewritten else "after patching (no component to regenerate)"
    return f"{how}: no other strategy left"


def _finish(ws: Workspace, state: State, out: TextIO, why: str) -> int:
    current = head(ws)
    name = current.name if current else "-"
    rounds = len(state.lines)
    if not why:
        print(f"heal: green after {rounds} round(s); HEAD is {name}; {state.tokens} tokens", file=out)
        return 0
    failing = len(state.results.failing)
    print(
        f"heal: stopped after {rounds} round(s): {why}; {failing} scenario(s) still fail; "
        f"HEAD is {name}; {state.tokens} tokens; see `doit history`",
        file=out,
    )
    return 1


def _tool_error(code: int, it: Iteration) -> int:
    print(
        f"ERROR: building or testing {it.name} failed (above), which is not a test failure; "
        "heal stopped; fix that and run `doit heal` again",
        file=sys.stderr,
    )
    return code
