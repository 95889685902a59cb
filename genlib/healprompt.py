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
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from genlib import prompts
from genlib.redact import redact
from genlib.workspace import Workspace

TEMPLATE = "heal.md.j2"
CHARS_PER_TOKEN = 3.5  # the same rough rate llm.num_ctx_for uses
_SHARES = {"evidence": 0.35, "registry": 0.12, "rounds": 0.08, "logs": 0.35}  # of the budget; files get the rest
_MIN_EVIDENCE = 240  # even with many failures, each keeps this much evidence
_MAX_ROUNDS = 5

# -- shortening ------------------------------------------------------------------------------------


def head_tail(text: str, limit: int) -> str:
    """At most `limit` chars: the start and the end (where errors are), cut at line ends when possible."""
    if len(text) <= limit:
        return text
    marker = "\n[… {} chars cut …]\n"
    room = max(limit - len(marker.format(len(text))), 0)
    head, tail = text[: room // 3], text[len(text) - (room - room // 3) :]
    # whole lines when that costs little; one huge line is cut mid-line instead of dropped
    if head.rfind("\n") >= len(head) // 2:
        head = head[: head.rfind("\n") + 1]
    if 0 <= tail.find("\n") < len(tail) // 2:
        tail = tail[tail.find("\n") + 1 :]
    return head + marker.format(len(text) - len(head) - len(tail)) + tail


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


def failing_results(results: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in results.get("results", []) if r.get("status") in ("failed", "error")]


def _evidence_text(result: dict[str, Any], limit: int, known: Sequence[str] = ()) -> str:
    """`key: value` lines, multi-line text (log tails, output) as is; each value gets a fair share of `limit`."""
    evidence = result.get("evidence") or {}
    share = max(limit // max(len(evidence), 1) - 20, 80)
    parts = []
    for key, value in evidence.items():
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            value = "\n".join(value)  # matched log lines, a command: one per line reads better
        if isinstance(value, str) and "\n" in value.strip():
            parts.append(f"{key}:\n{head_tail(value.rstrip(), share)}")
        else:
            text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
            parts.append(f"{key}: {head_tail(text, share)}")
    return redact(head_tail("\n".join(parts), limit), known)


def _failures(failing: list[dict[str, Any]], budget: int, known: Sequence[str] = ()) -> list[dict[str, Any]]:
    share = max(int(budget * _SHARES["evidence"]) // max(len(failing), 1), _MIN_EVIDENCE)
    out = []
    for r in failing:
        item: dict[str, Any] = {k: str(r.get(k, "")) for k in ("name", "kind", "service", "origin", "status")}
        item["reason"] = head_tail(redact(str(r.get("reason", "")), known), 400)
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


# -- relevance -------------------------------------------------------------------------------------

# `File "/app/worker.py", line 12` (python) and `(/app/server.js:12:5)` / `at /app/x.js:3` (node)
_FRAME = re.compile(r"""(?:File "|\(|at |\s)(/app/[\w./-]+?)(?:", line |:)(\d+)""")


def traceback_files(text: str) -> dict[str, int]:
    """Container paths named in stack frames -> the first line number mentioned."""
    found: dict[str, int] = {}
    for match in _FRAME.finditer(text):
        found.setdefault(match.group(1), int(match.group(2)))
    return found


@dataclass(frozen=True)
class Candidate:
    path: str
    source: Path
    size: int
    score: int  # 3 = in a traceback, 2 = the entry point of a failing service, 1 = another of its files


def candidates(ws: Workspace, registry: dict[str, Any], failing: list[dict[str, Any]], logs: str) -> list[Candidate]:
    """The failing services' files (from the registry), ranked most relevant first."""
    services = {r.get("service") for r in failing}
    mentioned = traceback_files(logs + json.dumps([r.get("evidence") for r in failing]))
    found = []
    for comp in registry.get("components", []):
        if comp.get("service") not in services:
            continue
        entry = {str(arg) for arg in comp.get("command") or []}
        for f in comp.get("files", []):
            rel = PurePosixPath(f["path"]).relative_to(f"{comp['layer']}/{comp['name']}").as_posix()
            source = ws.iterations_dir / f["iteration"] / f["path"]
            score = 3 if f"/app/{rel}" in mentioned else 2 if rel in entry else 1
            found.append(Candidate(f["path"], source, _size(source), score))
    return sorted(found, key=lambda c: (-c.score, c.size, c.path))


def _choose_files(found: list[Candidate], room: int) -> tuple[list[dict[str, Any]], list[str]]:
    """Greedy by rank; a top-ranked file too big for the room is shown head+tail, marked as cut."""
    shown: list[dict[str, Any]] = []
    omitted: list[str] = []
    for cand in found:
        overhead = len(cand.path) + 120
        if room - overhead < 400:
            omitted.append(cand.path)
            continue
        try:
            text = cand.source.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            omitted.append(cand.path)
            continue
        body = text if len(text) + overhead <= room else head_tail(text, room - overhead)
        if body is not text and cand.score < 3 and shown:
            omitted.append(cand.path)  # only a traceback's file (or the first one) is worth showing cut
            continue
        shown.append({"path": cand.path, "content": body, "size": len(text), "truncated": body is not text})
        room -= len(body) + overhead
    return shown, omitted


def _registry_summary(ws: Workspace, registry: dict[str, Any], failing_services: set[str], limit: int) -> str:
    """One line per component, file names and sizes only for the failing ones; never contents."""
    lines = []
    for comp in registry.get("components", []):
        files = comp.get("files", [])
        service = comp.get("service") or "(not runnable)"
        port = f" port {comp['port']}" if comp.get("port") else ""
        deps = f" depends on {', '.join(comp['depends_on'])}" if comp.get("depends_on") else ""
        cmd = f" command {json.dumps(comp['command'])}" if comp.get("command") else ""
        what = f"{comp['layer']}/{comp['name']} ({comp['runtime']})"
        lines.append(f"- {what}: service {service}{port}{cmd}{deps}; {len(files)} file(s)")
        if comp.get("service") in failing_services:
            lines += [f"    {f['path']} ({_size(ws.iterations_dir / f['iteration'] / f['path'])} bytes)" for f in files]
    text = "\n".join(lines)
    if len(text) <= limit:
        return text
    kept = text[:limit].rsplit("\n", 1)[0]
    return kept + f"\n- … and {text.count(chr(10)) - kept.count(chr(10))} more line(s)"


def _size(path: Path) -> int:
    return path.stat().st_size if path.is_file() else 0


def _logs(
    ws: Workspace, iteration: str, services: list[str], limit: int, known: Sequence[str] = ()
) -> list[dict[str, str]]:
    found = []
    for service in services:
        path = ws.iterations_dir / iteration / "logs" / f"{service}.log"
        try:
            found.append((service, path.read_text(encoding="utf-8", errors="replace")))
        except OSError:
            continue
    share = limit // max(len(found), 1)
    return [fence(f"log of {service}", redact(head_tail(text, share), known)) for service, text in found]


# -- assembling ------------------------------------------------------------------------------------


def build(
    ws: Workspace,
    *,
    results: dict[str, Any],
    registry: dict[str, Any],
    rounds: list[RoundNote],
    budget: int,
    known: Sequence[str] = (),
) -> HealPrompt:
    """The prompt for one heal round, at most `budget` characters (unless the failures alone exceed it).

    `known`: literal secret values (a database password) masked wherever they appear."""
    failing = failing_results(results)
    services = sorted({str(r.get("service")) for r in failing})
    context: dict[str, Any] = {
        "iteration": results.get("iteration", ""),
        "summary": results.get("summary", {}),
        "failures": _failures(failing, budget, known),
        "rounds": _rounds(rounds, budget, known),
        "registry": _registry_summary(ws, registry, set(services), int(budget * _SHARES["registry"])),
        "logs": _logs(ws, str(results.get("iteration", "")), services, int(budget * _SHARES["logs"]), known),
        "files": [],
        "omitted": [],
    }
    raw_logs = "\n".join(log["text"] for log in context["logs"])
    ranked = candidates(ws, registry, failing, raw_logs)
    base = len(prompts.render(ws, TEMPLATE, {**context, "omitted": [c.path for c in ranked]}))
    room = budget - base
    for _ in range(3):  # redaction and Jinja whitespace make the estimate slightly off: shrink files to fit
        context["files"], context["omitted"] = _choose_files(ranked, room)
        text = prompts.render(ws, TEMPLATE, context)
        if len(text) <= budget or not context["files"]:
            break
        room -= len(text) - budget
    return HealPrompt(
        text, [r["name"] for r in context["failures"]], [f["path"] for f in context["files"]], context["omitted"]
    )
