"""The heal prompt: what failed, why, and the few files that matter, within a fixed budget.

    build(ws, results=..., registry=..., rounds=..., budget=...) -> HealPrompt

Sections, most important first: the failing results with their evidence (never
dropped, only shortened), what earlier rounds changed and how they failed, the
registry summary (names and sizes, no contents), the failing services' log
head+tail, and the implicated files ranked by relevance (named in a traceback,
then the failing services' own files) until the budget is spent.

Everything the app produced (logs, response bodies, command output) is
untrusted: it is redacted, then fenced by a delimiter the data cannot forge.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genlib import prompts
from genlib.app.iterations import up_to_head
from genlib.app.registry import Entry, Registry
from genlib.budget import Candidate, ShownFile, fit, head_tail
from genlib.documents import bisection
from genlib.documents.results import Result, RunReport
from genlib.errors import GenlibError
from genlib.model import suspects
from genlib.redact import redact
from genlib.stack import compose, ports
from genlib.text import CHARS_PER_TOKEN
from genlib.workspace import Workspace

TEMPLATE = "heal.md.j2"
_SHARES = {"evidence": 0.35, "registry": 0.12, "rounds": 0.08, "logs": 0.35}  # of the budget; files get the rest
_MIN_EVIDENCE = 240  # even with many failures, each keeps this much evidence
_MAX_ROUNDS = 5

# -- shortening ------------------------------------------------------------------------------------


def fence(label: str, text: str) -> dict[str, str]:
    """Untrusted text with a delimiter derived from the text itself, so the text cannot contain it."""
    tag = hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()[:12]
    return {"label": label, "begin": f"<<<DATA {tag} {label}>>>", "end": f"<<<END DATA {tag}>>>", "text": text}


# -- the pieces ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RoundNote:
    """What an earlier heal round did and what it led to."""

    iteration: str
    summary: str
    changed: list[str]
    outcome: str  # e.g. "2 failing: list notes (GET /notes: status 500)"


@dataclass(frozen=True)
class Strategy:
    """How this round asks for the fix: a patch, or (after patches failed) one component rewritten whole."""

    mode: str  # patch | regenerate
    component: str = ""  # layer/name, for regenerate
    why: str = ""

    def context(self, comps: list[Entry]) -> dict[str, Any]:
        comp = next((c for c in comps if f"{c.layer}/{c.name}" == self.component), None)
        if comp is None:
            return {"mode": "patch", "why": self.why}
        service = comp.service
        users = [c.service for c in comps if c.service and service and service in c.depends_on]
        interface = comp.model_dump(include={"runtime", "service", "port", "command", "healthcheck", "depends_on"})
        return {
            "mode": self.mode,
            "component": self.component,
            "description": comp.description,
            "interface": json.dumps({k: v for k, v in interface.items() if v}, ensure_ascii=False),
            "used_by": ", ".join(users),
            "files": [f.path for f in comp.files],
            "why": self.why,
        }


@dataclass(frozen=True)
class HealPrompt:
    text: str
    failing: list[str]  # names of the failing results it explains
    files_shown: list[str]
    files_omitted: list[str]

    @property
    def chars(self) -> int:
        return len(self.text)

    @property
    def est_tokens(self) -> int:
        return round(len(self.text) / CHARS_PER_TOKEN)


def _evidence_text(result: Result, limit: int, known: Sequence[str] = ()) -> str:
    """`key: value` lines, multi-line text (log tails, output) as is; each value gets a fair share of `limit`.
    A log digest (a failed build's) keeps its error-like lines first and whole, wherever they were (_log_excerpt)."""
    evidence = result.evidence.fields()
    share = max(limit // max(len(evidence), 1) - 20, 80)
    parts = []
    for key, value in evidence.items():
        text = _evidence_value(value)
        if _SECTION.search(text):
            parts.append(f"{key}:\n{_log_excerpt(text, share)}")
        elif "\n" in text:
            parts.append(f"{key}:\n{head_tail(text, share)}")
        else:
            parts.append(f"{key}: {head_tail(text, share)}")
    return redact(head_tail("\n".join(parts), limit), known)


def _evidence_value(value: Any) -> str:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "\n".join(value)  # matched log lines, a command: one per line reads better
    if isinstance(value, str):
        return value.rstrip() if "\n" in value.strip() else value
    return json.dumps(value, ensure_ascii=False)


def _failures(failing: list[Result], budget: int, known: Sequence[str] = ()) -> list[dict[str, Any]]:
    share = max(int(budget * _SHARES["evidence"]) // max(len(failing), 1), _MIN_EVIDENCE)
    out = []
    for r in failing:
        item: dict[str, Any] = r.model_dump(include={"name", "kind", "service", "origin", "status"})
        item["reason"] = head_tail(redact(r.reason, known), 400)
        item["evidence"] = fence(f"evidence of {item['name']}", _evidence_text(r, share, known))
        out.append(item)
    return out


def _rounds(rounds: list[RoundNote], budget: int, known: Sequence[str] = ()) -> list[dict[str, str]]:
    share = int(budget * _SHARES["rounds"]) // _MAX_ROUNDS
    notes = []
    for note in rounds[-_MAX_ROUNDS:]:
        changed = ", ".join(note.changed) or "no files"
        notes.append(
            {
                "iteration": note.iteration,
                "summary": head_tail(note.summary, 300),
                "changed": head_tail(changed, 300),
                "outcome": head_tail(redact(note.outcome, known), max(share - 600, 200)),
            }
        )
    return notes


# -- the files -------------------------------------------------------------------------------------


def _registry_summary(ws: Workspace, registry: Registry, failing_services: set[str], limit: int) -> str:
    """One line per component, file names and sizes only for the failing ones; never contents."""
    lines = []
    for comp in registry.components:
        files = comp.files
        service = comp.service or "(not runnable)"
        port = f" port {comp.port}" if comp.port else ""
        deps = f" depends on {', '.join(comp.depends_on)}" if comp.depends_on else ""
        cmd = f" command {json.dumps(comp.command)}" if comp.command else ""
        names = compose.environment_names(comp, registry.services) if comp.service else []
        env = f"; env {', '.join(names)}" if names else ""
        what = f"{comp.layer}/{comp.name} ({comp.runtime})"
        lines.append(f"- {what}: service {service}{port}{cmd}{deps}{env}; {len(files)} file(s)")
        if comp.service in failing_services:
            lines += [f"    {f.path} ({_size(ws.iterations_dir / f.iteration / f.path)} bytes)" for f in files]
    text = "\n".join(lines)
    if len(text) <= limit:
        return text
    kept = text[:limit].rsplit("\n", 1)[0]
    return kept + f"\n- … and {text.count(chr(10)) - kept.count(chr(10))} more line(s)"


def _size(path: Path) -> int:
    return path.stat().st_size if path.is_file() else 0


def read_digest(ws: Workspace, iteration: str, service: str) -> str:
    path = ws.iterations_dir / iteration / "logs" / f"{service}.log"
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


_SECTION = re.compile(r"^--- (.+?) ---$", re.MULTILINE)


def log_sections(digest: str) -> dict[str, str]:
    """logscan's digest as {"first": …, "errors": …, "last": …}; a plain log is all "last"."""
    marks = list(_SECTION.finditer(digest))
    if not marks:
        return {"last": digest}
    found = {}
    for mark, nxt in zip(marks, [*marks[1:], None], strict=True):
        key = mark.group(1).split()[0].replace("error-like", "errors")
        found[key] = digest[mark.end() + 1 : nxt.start() if nxt else len(digest)].rstrip("\n")
    return found


def _log_excerpt(digest: str, limit: int) -> str:
    """The error-like lines first (they may come from anywhere in the log), then the first and last lines."""
    parts = log_sections(digest)
    out = []
    if parts.get("errors"):
        out.append(
            "error-like lines, deduplicated ([count, first .. last time]):\n"
            + head_tail(parts["errors"], limit * 11 // 20)
        )
    if parts.get("first"):
        out.append("first lines:\n" + head_tail(parts["first"], limit // 10))
    used = sum(len(p) for p in out)
    out.append("last lines:\n" + head_tail(parts.get("last", ""), max(limit - used - 40, 200)))
    return head_tail("\n".join(out), limit)


def _logs(digests: dict[str, str], failing: list[str], limit: int, known: Sequence[str] = ()) -> list[dict[str, str]]:
    """The failing services' logs, and those of the other involved services that hold error-like lines."""
    shown = {s: d for s, d in digests.items() if s in failing or log_sections(d).get("errors")}
    share = limit // max(len(shown), 1)
    return [fence(f"log of {service}", redact(_log_excerpt(text, share), known)) for service, text in shown.items()]


# -- assembling ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Findings:
    """What the evidence points at: the services involved, their log digests, and every file ranked by suspicion."""

    involved: list[str]
    digests: dict[str, str]
    ranked: list[suspects.Suspect]
    read: Callable[[str, str], str | None]  # (iteration, path) -> the file's text


def investigate(ws: Workspace, results: RunReport, registry: Registry) -> Findings:
    failing = results.failing
    iteration = results.iteration
    comps = registry.components
    failing_services = list(dict.fromkeys(r.service for r in failing))
    evidence = {s: _service_evidence(failing, s) for s in failing_services}
    digests = {s: read_digest(ws, iteration, s) for s in failing_services}
    named_in = "\n".join([*evidence.values(), *(log_sections(d).get("errors", "") for d in digests.values())])
    host_ports = ports.load(ws)  # the evidence may name a service by the host port it answers on
    involved = suspects.involved_services(comps, failing_services, named_in, host_ports)
    digests |= {s: read_digest(ws, iteration, s) for s in involved if s not in digests}
    texts = {s: evidence.get(s, "") + "\n" + _errors_and_tail(digests.get(s, "")) for s in involved}
    reader = _reader(ws)
    prime = _bisected(ws, {r.name for r in failing})
    ranked = suspects.rank(comps, involved, texts, _changed_in(comps, iteration), reader, prime)
    return Findings(involved, digests, ranked, reader)


def build(
    ws: Workspace,
    *,
    results: RunReport,
    registry: Registry,
    rounds: list[RoundNote],
    budget: int,
    known: Sequence[str] = (),
    strategy: Strategy | None = None,
) -> HealPrompt:
    """The prompt for one heal round, at most `budget` characters (unless the failures alone exceed it).

    `known`: literal secret values (a database password) masked wherever they appear; `strategy`: patch
    (the default) or regenerate one component whole."""
    failing = results.failing
    iteration = results.iteration
    comps = registry.components
    failing_services = list(dict.fromkeys(r.service for r in failing))
    found = investigate(ws, results, registry)
    involved, digests, ranked, reader = found.involved, found.digests, found.ranked, found.read
    if strategy and strategy.mode == "regenerate":  # the component to rewrite: all of its files, first
        ranked.sort(key=lambda c: c.component != strategy.component)
    context: dict[str, Any] = {
        "iteration": iteration,
        "summary": results.summary,
        "failures": _failures(failing, budget, known),
        "rounds": _rounds(rounds, budget, known),
        "strategy": strategy.context(comps) if strategy else {"mode": "patch", "why": ""},
        "registry": _registry_summary(ws, registry, set(involved), int(budget * _SHARES["registry"])),
        "logs": _logs(
            {s: digests[s] for s in involved if digests.get(s)}, failing_services, int(budget * _SHARES["logs"]), known
        ),
        "files": [],
        "omitted": [],
    }

    def render(files: list[ShownFile], omitted: list[str]) -> str:
        return prompts.render(ws, TEMPLATE, {**context, "files": files, "omitted": omitted})

    candidates = [Candidate(c.path, c.score >= suspects.NAMED, c.score > suspects.REST) for c in ranked]
    fitted = fit(render, candidates, lambda path: reader(_iteration_of(comps, path), path), budget)
    return HealPrompt(
        fitted.text, [f["name"] for f in context["failures"]], [f.path for f in fitted.shown], fitted.omitted
    )


def _service_evidence(failing: list[Result], service: str) -> str:
    return "\n".join(
        f"{r.reason}\n{json.dumps(r.evidence.fields(), ensure_ascii=False)}" for r in failing if r.service == service
    )


def _errors_and_tail(digest: str) -> str:
    parts = log_sections(digest)
    return parts.get("errors", "") + "\n" + "\n".join(parts.get("last", "").splitlines()[-40:])


def _bisected(ws: Workspace, failing: set[str]) -> set[str]:
    """The files changed by the iteration `doit bisect` found broke a scenario still failing (on HEAD's line)."""
    try:
        findings = bisection.load(ws)
    except GenlibError:
        return set()  # a damaged bisect.json only loses a hint
    return bisection.prime_suspects(findings, failing, {it.name for it in up_to_head(ws)}) if findings else set()


def _changed_in(comps: list[Entry], iteration: str) -> str | None:
    """The tested iteration, when it changed only some files (a patch): those are suspects."""
    its = {f.iteration for c in comps for f in c.files}
    return iteration if iteration in its and len(its) > 1 else None


def _iteration_of(comps: list[Entry], path: str) -> str:
    return next((f.iteration for c in comps for f in c.files if f.path == path), "")


def _reader(ws: Workspace) -> Callable[[str, str], str | None]:
    cache: dict[str, str | None] = {}

    def read(iteration: str, path: str) -> str | None:
        if path not in cache:
            try:
                cache[path] = (ws.iterations_dir / iteration / path).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                cache[path] = None
        return cache[path]

    return read
