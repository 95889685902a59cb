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

import json
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TextIO

from genlib import doit_run, healprompt, patch, registry
from genlib.config import Settings
from genlib.errors import LLMError, PatchRejected, RegistryError, WorkspaceError
from genlib.fsutil import read_json_object
from genlib.history import effective_tree
from genlib.iterations import PATCH_SLUG, Iteration, head, set_head, write_iteration
from genlib.llm import LLM, Accepted, Check, Message, ask, connect, token_meter
from genlib.llm_output import FORMAT, Answer, LLMOutput, dump_output
from genlib.materialize import declared_through
from genlib.scenarios import load_tests, merge_model_scenarios, save_tests
from genlib.workspace import Workspace

TEST_TASK = ("test",)  # materialize -> registry -> compose -> up -> test
_VOLATILE = ("log_tail", "log_head", "errors", "output_tail")  # evidence that differs run to run (counts, times)


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

    results: dict[str, Any]
    notes: list[healprompt.RoundNote] = field(default_factory=list)
    lines: list[RoundLine] = field(default_factory=list)
    fingerprints: set[str] = field(default_factory=set)
    tokens: int = 0


# -- reading results -------------------------------------------------------------------------------


def read_results(it: Iteration) -> dict[str, Any] | None:
    return read_json_object(it.results, "delete it and run `doit test`")


def signature(results: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """The failures as comparable data: the same signature twice means the last round changed nothing."""
    found = []
    for r in healprompt.failing_results(results):
        evidence = {k: v for k, v in (r.get("evidence") or {}).items() if k not in _VOLATILE}
        found.append(
            (str(r.get("name")), str(r.get("status")), str(r.get("reason")), json.dumps(evidence, sort_keys=True))
        )
    return sorted(found)


def outcome_text(results: dict[str, Any]) -> str:
    failing = healprompt.failing_results(results)
    if not failing:
        return "green"
    shown = "; ".join(f"{r.get('name')} ({r.get('reason')})" for r in failing[:3])
    return f"{len(failing)} failing: {shown}" + ("; …" if len(failing) > 3 else "")


# -- one round -------------------------------------------------------------------------------------


def build_messages(ws: Workspace, state: State, settings: Settings) -> list[Message]:
    prompt = healprompt.build(
        ws,
        results=state.results,
        registry=registry.load(ws),
        rounds=state.notes,
        budget=settings.prompt_budget_chars,
    )
    return [{"role": "user", "content": prompt.text}]


def patch_rules(ws: Workspace, current: Iteration, settings: Settings) -> Check:
    """The check `ask` runs on each answer: the patch rules, against the tree and test.yaml as they are now."""
    tree = effective_tree(ws, current)
    tests = load_tests(ws.tests_path)
    known = declared_through(ws, current)  # the patch's parent is HEAD: what materialize will accept
    services = {c["service"] for c in registry.services(registry.load(ws))}

    def check(answer: Answer) -> None:
        patch.validate(answer, tree=tree, tests=tests, known_components=known, settings=settings)
        runnable = services | {c.service for c in answer.components if c.runnable}
        try:  # now, not in the registry task: a bad name must not become a patch iteration
            registry.check_dependencies(answer.components, runnable)
        except RegistryError as exc:
            raise PatchRejected(str(exc)) from exc

    return check


def ask_for_patch(ws: Workspace, llm: LLM, messages: list[Message], settings: Settings, out: TextIO) -> Accepted:
    current = head(ws)
    assert current is not None  # the loop starts only with a HEAD
    check = patch_rules(ws, current, settings)
    on_progress, finish = token_meter(out, llm.model)
    try:
        return ask(
            llm,
            messages,
            check=check,
            retries=settings.retries,
            rejected_dir=ws.state_dir / "rejected",
            on_progress=on_progress,
        )
    finally:
        finish()


def record(ws: Workspace, number: int, accepted: Accepted, llm: LLM, messages: list[Message]) -> Iteration:
    """The patch iteration (all or nothing), the model's scenarios, then HEAD.

    `answer` keeps only the files that change; `raw` keeps everything the model said."""
    current = head(ws)
    assert current is not None  # the loop starts only with a HEAD
    answer = patch.only_changed(accepted.answer, effective_tree(ws, current))
    summary = answer.summary.strip() or "patch"
    output = LLMOutput(
        format=FORMAT,
        kind="patch",
        description=f"heal round {number}: {summary}",
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        request=accepted.request(llm.host, messages),
        attempts=accepted.attempts,
        raw=accepted.raw,
        answer=answer,
        stats=accepted.stats(),
    )
    files = {"desc.txt": f"heal round {number}: {summary}\n", "llm_output.json": dump_output(output)}
    it = write_iteration(ws, PATCH_SLUG, files)
    tests = load_tests(ws.tests_path)
    merged, changed = merge_model_scenarios(tests, list(accepted.answer.scenarios), it.name)
    if changed:
        save_tests(ws.tests_path, merged)
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
    results = read_results(current)
    if results is None:
        print(f"heal: {current.name} has no test results yet; building and testing it first", file=out)
        code = doit_run.run(ws, TEST_TASK, variables)
        results = read_results(current)
        if code >= 2 or results is None:
            return _tool_error(code or 2, current)
    if not healprompt.failing_results(results):
        passed = results.get("summary", {}).get("passed", 0)
        print(f"heal: nothing to heal: all {passed} scenario(s) of {current.name} pass", file=out)
        return 0
    state = State(results)
    if llm is not None:
        return _loop(ws, state, settings, variables, llm, out)
    with connect(settings, out) as served:
        return _loop(ws, state, settings, variables, served, out)


def _loop(ws: Workspace, state: State, settings: Settings, variables: dict[str, str], llm: LLM, out: TextIO) -> int:
    for number in range(1, settings.max_iter + 1):
        if settings.token_budget and state.tokens >= settings.token_budget:
            return _finish(
                ws, state, out, f"token budget spent ({state.tokens} of token_budget={settings.token_budget})"
            )
        try:
            stop = _round(ws, state, settings, variables, llm, number, out)
        except LLMError as exc:
            current = head(ws)
            kept = f"{len(state.lines)} finished round(s) kept, HEAD is {current.name if current else '-'}"
            raise type(exc)(f"{exc} ({kept})") from exc
        if stop is not None:
            return stop
    return _finish(ws, state, out, f"the limit of {settings.max_iter} round(s) was reached (max_iter=)")


def _round(
    ws: Workspace, state: State, settings: Settings, variables: dict[str, str], llm: LLM, number: int, out: TextIO
) -> int | None:
    """One round; an exit code ends the loop, None goes on."""
    messages = build_messages(ws, state, settings)
    accepted = ask_for_patch(ws, llm, messages, settings, out)
    fingerprint = patch.fingerprint(accepted.answer)
    if fingerprint in state.fingerprints:
        return _finish(ws, state, out, "no progress: the model proposed a patch it had already tried")
    state.fingerprints.add(fingerprint)
    stats = accepted.stats()
    spent = stats.prompt_tokens + stats.completion_tokens
    state.tokens += spent
    it = record(ws, number, accepted, llm, messages)
    code = doit_run.run(ws, TEST_TASK, variables)
    results = read_results(it) if code in (0, 1) else None
    changed = [f.path for f in accepted.answer.files] + list(accepted.answer.deletions)
    outcome = "tool error" if results is None else outcome_text(results)
    state.lines.append(RoundLine(number, it.name, len(changed), len(messages[0]["content"]), spent, outcome))
    print(state.lines[-1], file=out)
    if results is None:
        return _tool_error(code or 2, it)
    if not healprompt.failing_results(results):
        _finish(ws, state, out, "")
        return 0
    same = signature(results) == signature(state.results)
    state.notes.append(healprompt.RoundNote(it.name, accepted.answer.summary, changed, outcome))
    state.results = results
    if same:
        return _finish(ws, state, out, "no progress: the same failures with the same evidence twice")
    return None


def _finish(ws: Workspace, state: State, out: TextIO, why: str) -> int:
    current = head(ws)
    name = current.name if current else "-"
    rounds = len(state.lines)
    if not why:
        print(f"heal: green after {rounds} round(s); HEAD is {name}; {state.tokens} tokens", file=out)
        return 0
    failing = len(healprompt.failing_results(state.results))
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
