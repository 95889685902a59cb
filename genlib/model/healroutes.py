"""Heal rounds that ask a small model for route functions one at a time (profile small), into one file.

    write_routes(run, path, routes, asked)    routes still a starter's stub (501), or stubs just added (404)
    write_work(run, path, asked)              a worker's work() still its starter's stub
    fix_routes(run, path, failures, asked)    written routes that answered their scenarios wrong

Each function is asked for alone, as in a gen (genlib.model.routefill), and the file they make is checked as any
arriving file; the round's answer is that one file. Why: shown a whole file and a route's failure, the 0.5B
rewrote the file and broke it; asked for one function, it writes one.
"""

from __future__ import annotations

from collections.abc import Callable

from genlib.answer import rules
from genlib.answer.syntax import Syntax
from genlib.documents.llm_output import Answer, FileSpec, Request, Step
from genlib.model import routefill, starters, stepgen, stubfill
from genlib.model.ask import Accepted


def write_routes(
    run: stepgen.Run, path: str, routes: list[starters.Route], asked: str, content: str | None = None
) -> Accepted[Answer] | None:
    """A heal round (profile small) for routes a scenario found unwritten (their stub's 501): each asked for
    alone, as in a gen, into the file as it is (or `content`: with stubs added); None when the model wrote none
    of them."""

    def write(content: str, ask: routefill.Ask, check: Callable[[str], None]) -> str:
        return routefill.fill(run.ws, content, routes, path, asked, ask, check)

    def summary(filled: str) -> str:
        return "write " + ", ".join(f"{r.method} {r.path}" for r in routes if routefill.marker(r) not in filled)

    return _routes_round(run, path, write, summary, content)


def write_work(run: stepgen.Run, path: str, asked: str) -> Accepted[Answer] | None:
    """A heal round (profile small) for a worker whose work() is still its starter's stub: asked for alone, as in
    a gen; None when the model wrote none."""

    def write(content: str, ask: routefill.Ask, check: Callable[[str], None]) -> str:
        return stubfill.fill_work(run.ws, content, path, asked, "", ask, check)

    return _routes_round(run, path, write, lambda _: "write work()")


def fix_routes(run: stepgen.Run, path: str, failures: list[routefill.Failure], asked: str) -> Accepted[Answer] | None:
    """A heal round (profile small) for written routes that answered their scenarios wrong: each function asked
    for alone, shown its failure, into the file as it is; None when the model changed none of them."""

    def write(content: str, ask: routefill.Ask, check: Callable[[str], None]) -> str:
        return routefill.fix(run.ws, content, failures, path, asked, ask, check)

    def summary(_: str) -> str:
        return "fix " + ", ".join(f"{f.route.method} {f.route.path} ({f.function})" for f in failures)

    return _routes_round(run, path, write, summary)


def _routes_round(
    run: stepgen.Run,
    path: str,
    write: Callable[[str, routefill.Ask, Callable[[str], None]], str],
    summary: Callable[[str], str],
    content: str | None = None,
) -> Accepted[Answer] | None:
    """A heal round that asks for functions of `path` one at a time (`write`) into `content` (else the file as it
    is) and lands the file they make; None when the model wrote none of them."""
    before = run.current.files[path] if content is None else content
    limits = rules.Limits.of(run.settings)
    steps: list[Step] = []
    made: list[Request] = []
    with Syntax() as syntax:
        app = rules.apply(Answer(), run.current)

        def check(content: str) -> None:
            rules.check_one_file(FileSpec(path=path, content=content), run.current, limits, app, syntax, patch=True)
            run.check(Answer(files=[FileSpec(path=path, content=content)]))

        written = write(before, stepgen.route_asker(run, steps, made), check)
    if written == before:  # no function came: a stub added for a missing route is not a fix either
        return None
    answer = Answer(summary=summary(written), files=[FileSpec(path=path, content=written)])
    return Accepted(answer, "", [], steps=steps, made=made[0])
