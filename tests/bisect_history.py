"""Histories for `doit bisect` tests, written with the library (no model): a one-page static site whose
`home says ok` scenario breaks at a chosen iteration, and results.json recorded as the runner records it."""

from __future__ import annotations

from datetime import UTC, datetime

from genlib.app.iterations import Iteration, set_head, write_iteration
from genlib.app.materialize import materialize
from genlib.documents import results, scenarios
from genlib.documents.llm_output import FORMAT, Answer, ComponentSpec, FileSpec, LLMOutput, Stats, dump_output
from genlib.documents.results import Result, RunReport, Status
from genlib.loops import bisect
from genlib.workspace import Workspace

PAGE = "frontend/site/index.html"
VERSION = "frontend/site/version.txt"
SERVICE = "site-frontend"
SCENARIO = "home says ok"
TEST_YAML = f"""version: 1
scenarios:
- name: {SCENARIO}
  kind: http
  service: {SERVICE}
  request: {{path: /index.html}}
  expect: {{body_contains: [ok]}}
- name: version answers
  kind: http
  service: {SERVICE}
  request: {{path: /version.txt}}
"""
OK_PAGE = "<!doctype html><title>site</title><p>all ok</p>\n"
BROKEN_PAGE = "<!doctype html><title>site</title><p>all gone</p>\n"


def iteration(ws: Workspace, kind: str, summary: str, files: dict[str, str], components: bool = False) -> Iteration:
    """A gen or patch iteration on top of HEAD, materialized."""
    answer = Answer(
        summary=summary,
        components=[ComponentSpec(name="site", layer="frontend", runtime="static")] if components else [],
        files=[FileSpec(path=p, content=c) for p, c in files.items()],
    )
    output = LLMOutput(
        format=FORMAT,
        kind=kind,  # type: ignore[arg-type]
        description=summary,
        created="2026-12-01T10:00:00Z",
        answer=answer,
        stats=Stats(prompt_tokens=100, completion_tokens=50),
    )
    slug = "patch" if kind == "patch" else "site"
    it = write_iteration(ws, slug, {"desc.txt": summary + "\n", "llm_output.json": dump_output(output)})
    materialize(ws, it, ws.settings())
    if ws.head_file.exists():
        set_head(ws, it)  # as gen and heal do: a new iteration becomes HEAD
    return it


def site_history(ws: Workspace, length: int = 16, broke: int = 11) -> list[Iteration]:
    """iter_001 makes the site; each patch bumps version.txt, and patch `broke` also breaks the page."""
    ws.tests_path.write_text(TEST_YAML)
    line = [iteration(ws, "gen", "a one-page site", {PAGE: OK_PAGE, VERSION: "1\n"}, components=True)]
    for number in range(2, length + 1):
        files = {VERSION: f"{number}\n"} | ({PAGE: BROKEN_PAGE} if number == broke else {})
        summary = f"version {number}" + (" and a new wording" if number == broke else "")
        line.append(iteration(ws, "patch", summary, files))
    return line


def record(ws: Workspace, it: Iteration, status: Status, other: Status = "passed") -> None:
    """results.json at `it` as a run now would write it (the basis bisect checks): `home says ok` has
    `status`, `version answers` has `other`."""
    definitions = scenarios.definitions(scenarios.load_tests(ws.tests_path))
    found = [
        Result(
            name=name,
            kind="http",
            service=SERVICE,
            origin="user",
            status=state,
            reason="GET /index.html: body lacks 'ok'" if state != "passed" else "200",
            definition=definitions[name],
        )
        for name, state in ((SCENARIO, status), ("version answers", other))
    ]
    basis = bisect.basis_now(ws, it, ws.settings())
    report = RunReport.of(it.name, datetime(2026, 12, 1, tzinfo=UTC), 1.0, found, basis)
    results.save(it.results, report)


def record_line(ws: Workspace, line: list[Iteration], broke: int) -> None:
    """Every iteration of the line recorded: passing before iteration number `broke`, failing from it on."""
    for it in line:
        record(ws, it, "failed" if it.number >= broke else "passed")
