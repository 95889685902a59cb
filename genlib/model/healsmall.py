"""The heal prompt for small models (profile small): one failure, one traceback, one file, ONE file changed.

    build(ws, results=..., registry=..., rounds=...) -> HealPrompt   (templates/small/heal.md.j2)

A small model given the large heal prompt (every failure, every log, many files) patched the wrong file or
rewrote several. This one takes the failure to fix first (a person's scenario before the model's own) and
shows, in order: its exact request and response, the one traceback that matters (the last in the log of the
service the evidence points at), then the file its evidence (no other failure's) ranks first, whole, with line
numbers (a traceback's "line 12" is found at a glance), and the names of the app's other files. The answer's
header names the one file it changes (heal checks that: `one_file`). Logs and responses are untrusted:
redacted and fenced as in the large prompt.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlparse

from genlib import prompts
from genlib.answer.file_rules import scripts
from genlib.app.iterations import up_to_head
from genlib.app.registry import Registry
from genlib.budget import head_tail
from genlib.documents.llm_output import Answer
from genlib.documents.results import HttpEvidence, Result, RunReport
from genlib.documents.scenarios import HttpScenario, TestFile
from genlib.errors import OutputError
from genlib.model.ask import Check
from genlib.model.healprompt import (
    HealPrompt,
    RoundNote,
    Strategy,
    _evidence_text,
    _iteration_of,
    fence,
    investigate,
    log_sections,
    read_digest,
)
from genlib.model.routefill import Failure, marker, routes_table
from genlib.model.starters import Route, expected
from genlib.model.stubfill import WORK_STUB
from genlib.redact import redact
from genlib.text import one_line
from genlib.workspace import Workspace

T = TypeVar("T")
TEMPLATE = "small/heal.md.j2"
EVIDENCE_CHARS = 1500  # the failing request and response
TRACEBACK_CHARS = 1500  # the one traceback
FILE_CHARS = 8000  # the file shown whole: its head and tail beyond this
OTHER_FILES = 8
ASKED = 3  # the last requests that built the app
ASKED_CHARS = 400  # names of the app's other files, most suspect first
_ENTRY = re.compile(r"^\[\d+x", re.MULTILINE)  # logscan's error entries: "[3x first .. last] text"
_ERROR_LIKE = re.compile(r"\b\w*(Error|Exception)\b|\bERROR\b|\bFATAL\b")
_KINDS = ("http", "page", "exec", "logs")  # the request-and-response kinds first: they show what went wrong


def build(
    ws: Workspace,
    *,
    results: RunReport,
    registry: Registry,
    rounds: list[RoundNote],
    known: Sequence[str] = (),
    strategy: Strategy | None = None,
) -> HealPrompt:
    failing = sorted(results.failing, key=_to_fix_first)
    first = failing[0]
    found = investigate(ws, _focused_on(results, first.service), registry)
    comps = registry.components
    files = [c for c in found.ranked if c.path.rsplit("/", 1)[-1] not in ("genlib-env.js",)]
    top = files[0].path if files else ""
    text = found.read(_iteration_of(comps, top), top) if top else None
    context: dict[str, object] = {
        "asked": _asked(ws),
        "failure": _failure(first, known),
        "others": [f"{r.name} ({r.service}: {r.reason})"[:200] for r in failing[1:4]],
        "traceback": _traceback(found.digests, [first.service, *found.involved], known),
        "file": {"path": top, "numbered": numbered(head_tail(text, FILE_CHARS))} if text is not None else None,
        "more_files": [c.path for c in files[1 : 1 + OTHER_FILES]],
        "rounds": [
            {"summary": r.summary[:200], "changed": ", ".join(r.changed) or "nothing", "outcome": r.outcome[:300]}
            for r in rounds[-3:]
        ],
        "why": strategy.why if strategy else "",
    }
    prompt = prompts.render(ws, TEMPLATE, context)
    return HealPrompt(prompt, [r.name for r in failing], [top] if text is not None else [], [])


def _to_fix_first(result: Result) -> tuple[bool, int]:
    """The person's own scenarios first (what was asked; a page the model added on its own waits), then the
    kinds that show a request and its response."""
    return result.origin != "user", _KINDS.index(result.kind) if result.kind in _KINDS else len(_KINDS)


def _focused_on(results: RunReport, service: str) -> RunReport:
    """The run as if only `service` failed: the file shown is one the chosen failure points at, not one another
    failure's traceback names (the 0.5B was shown a page's script three rounds running for an API's 404)."""
    kept = [r for r in results.results if not r.failing or r.service == service]
    return results.model_copy(update={"results": kept})


_UNWRITTEN = re.compile(r"\b(GET|POST|PUT|PATCH|DELETE) (/[^\s\"']*) is not written yet")


def unwritten_routes(
    results: RunReport, registry: Registry, files: Mapping[str, str], tests: TestFile
) -> tuple[str, list[Route]]:
    """The program file whose routes failing scenarios found still a starter's stub (its 501 "GET /x is not
    written yet"), and those routes, each with what its scenario expects; ("", []) when there are none. `files`:
    the app's, path -> content."""
    found: dict[str, list[Route]] = {}
    expects = _expectations(tests)
    for result in results.failing:
        said = _UNWRITTEN.search(json.dumps(result.evidence.fields()))
        comp = registry.services.get(result.service)
        if said is None or comp is None:
            continue
        route = Route(said.group(1), said.group(2), answers=expects.get(result.name, ""))
        for script in [f"{comp.layer}/{comp.name}/{s}" for s in scripts(comp.command)]:
            if marker(route) in files.get(script, "") and not _has_route(found.setdefault(script, []), route):
                found[script].append(route)
    return _first_file(found)


def unwritten_work(results: RunReport, registry: Registry, files: Mapping[str, str]) -> str:
    """The program file of a failing scenario's worker whose work() is still its starter's stub ("work is not
    written yet"), or ""."""
    for result in results.failing:
        comp = registry.services.get(result.service)
        for script in [f"{comp.layer}/{comp.name}/{s}" for s in scripts(comp.command)] if comp else []:
            if WORK_STUB in files.get(script, ""):
                return script
    return ""


def missing_routes(
    results: RunReport, registry: Registry, files: Mapping[str, str], tests: TestFile
) -> tuple[str, list[Route]]:
    """The starter-shaped program file that answered failing http scenarios 404 for routes it lacks, and those
    routes (the person's first), each with what its scenario expects; ("", []) when there are none. The 0.5B and
    1.5B, shown the file and the 404, rewrote the whole file; a stub added and asked for alone is the gen's way."""
    found: dict[str, list[Route]] = {}
    expects = _expectations(tests)
    for result, evidence, route, programs in _http_failures(results, registry):
        if evidence.status != 404:
            continue
        route = Route(route.method, route.path, answers=expects.get(result.name, ""))
        for script in programs:
            table = routes_table(files.get(script, ""), script)
            if table and (route.method, route.path) not in table and not _has_route(found.get(script, []), route):
                found.setdefault(script, []).append(route)
    return _first_file(found)


def _expectations(tests: TestFile) -> dict[str, str]:
    """Each http scenario's name -> what it expects, in the words a route's prompt shows (a route asked for with
    no shape was written to answer anything)."""
    return {s.name: expected(s) for s in tests.scenarios if isinstance(s, HttpScenario)}


def _has_route(routes: list[Route], route: Route) -> bool:
    """Whether `routes` hold `route`'s method and path (two scenarios may send the same route)."""
    return any((r.method, r.path) == (route.method, route.path) for r in routes)


def failing_routes(
    ws: Workspace,
    results: RunReport,
    registry: Registry,
    files: Mapping[str, str],
    tests: TestFile,
    known: Sequence[str],
) -> tuple[str, list[Failure]]:
    """The program file whose written routes answered failing http scenarios wrong (a status, from the route's
    own function in the file's ROUTES table), and those routes, the person's first; ("", []) when there are
    none: a service that does not answer, or a route the table lacks, is a whole-file fix."""
    found: dict[str, list[Failure]] = {}
    expects = _expectations(tests)
    for result, evidence, route, programs in _http_failures(results, registry):
        if evidence.status is None:
            continue  # the service did not answer: not one route's fault
        for script in programs:
            content = files.get(script, "")
            function = routes_table(content, script).get((route.method, route.path))
            asked = [f.function for f in found.get(script, [])]
            if function is None or function in asked or marker(route) in content:
                continue  # not a written route of this file (a stub is write_routes' to ask for), or asked already
            sent = fence(f"evidence of {result.name}", _evidence_text(result, EVIDENCE_CHARS, known))
            error = _traceback(
                {result.service: read_digest(ws, results.iteration, result.service)}, [result.service], known
            )
            wanted = Route(route.method, route.path, answers=expects.get(result.name, ""))
            found.setdefault(script, []).append(
                Failure(wanted, function, _fenced(sent), _fenced(error) if error else "")
            )
    return _first_file(found)


def _http_failures(results: RunReport, registry: Registry) -> Iterator[tuple[Result, HttpEvidence, Route, list[str]]]:
    """Each failing http scenario, the person's first: its evidence, the route it requested (one a starter can
    route), and the program files of its service."""
    for result in sorted(results.failing, key=_to_fix_first):
        evidence, comp = result.evidence, registry.services.get(result.service)
        if not isinstance(evidence, HttpEvidence) or not evidence.request or comp is None:
            continue
        route = Route.named(f"{evidence.request.method} {urlparse(evidence.request.url).path}")
        if route is not None:
            yield result, evidence, route, [f"{comp.layer}/{comp.name}/{s}" for s in scripts(comp.command)]


def _first_file(found: dict[str, list[T]]) -> tuple[str, list[T]]:
    """The first file found, and what was found in it: a round changes one file."""
    path = next(iter(found), "")
    return path, found.get(path, [])


def _fenced(part: Mapping[str, str]) -> str:
    return "\n".join([part["begin"], part["text"], part["end"]])


def asked_text(ws: Workspace) -> str:
    return " Then: ".join(_asked(ws))


def _asked(ws: Workspace) -> list[str]:
    """What the person asked for: the requests of the gens up to HEAD (a patch's desc.txt is heal's own)."""
    gens = [it for it in up_to_head(ws) if it.kind == "gen"][-ASKED:]
    return [one_line(_read(it.path / "desc.txt"), ASKED_CHARS) for it in gens if _read(it.path / "desc.txt")]


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return ""


def _failure(result: Result, known: Sequence[str]) -> dict[str, object]:
    item: dict[str, object] = result.model_dump(include={"name", "kind", "service"})
    item["reason"] = head_tail(redact(result.reason, known), 400)
    item["evidence"] = fence(f"evidence of {result.name}", _evidence_text(result, EVIDENCE_CHARS, known))
    return item


def _traceback(digests: dict[str, str], services: list[str], known: Sequence[str]) -> dict[str, str] | None:
    """The last traceback (else the last error-like entry) of the first of `services` that logged one."""
    for service in dict.fromkeys(services):
        found = _last_error(digests.get(service, ""))
        if found:
            return {"service": service, **fence(f"log of {service}", redact(head_tail(found, TRACEBACK_CHARS), known))}
    return None


def _last_error(digest: str) -> str:
    """From logscan's digest, its last error entry that is a traceback (else its last); from a plain log, the
    last traceback or the lines around the last error-like line."""
    sections = log_sections(digest)
    errors = sections.get("errors", "")
    starts = [m.start() for m in _ENTRY.finditer(errors)] or ([0] if errors.strip() else [])
    ends = [*starts[1:], len(errors)] if starts else []
    entries = [errors[a:b].strip() for a, b in zip(starts, ends, strict=True)]
    if entries:
        return next((e for e in reversed(entries) if "Traceback" in e or "    at " in e), entries[-1])
    last = sections.get("last", "")
    at = last.rfind("Traceback (most recent call last)")
    if at >= 0:
        return last[at:]
    lines = last.splitlines()
    hits = [n for n, line in enumerate(lines) if _ERROR_LIKE.search(line)]
    return "\n".join(lines[max(hits[-1] - 2, 0) : hits[-1] + 12]) if hits else ""


def numbered(text: str) -> str:
    """Each line with its number, as a traceback counts them: `  12 | code`."""
    lines = text.split("\n")
    width = len(str(len(lines)))
    return "\n".join(f"{n:>{width}} | {line}" for n, line in enumerate(lines, 1))


_NUMBERED = re.compile(r"^\s*\d+ \| ?")


def unnumbered(content: str) -> str:
    """A file sent back with the line numbers it was shown with, without them (only when every line has one)."""
    lines = content.split("\n")
    body = [line for line in lines if line.strip()]
    if not body or not all(_NUMBERED.match(line) for line in body):
        return content
    return "\n".join(_NUMBERED.sub("", line, count=1) for line in lines)


def one_file(check: Check) -> Check:
    """`check`, and a patch changes one file (a small model asked for one fix fixes one thing at a time)."""

    def checked(answer: Answer, *, planned: bool = False) -> None:
        touched = [f.path for f in answer.files] + list(answer.deletions)
        if len(touched) > 1:
            raise OutputError(
                f"this round changes ONE file, the one the error points at; the answer names {len(touched)} "
                f"({', '.join(touched[:4])}): keep the one that fixes this failure"
            )
        check(answer, planned=planned)

    return checked
