"""The gen prompt within a fixed budget (setting `gen_budget_chars`), measured as heal's is: render, count.

    existing       the app in the workspace: its components, its files ranked by the request's words
    build          templates/gen.md.j2 with as much of that app as the budget holds -> GenPrompt
    plan_shown     a gen in steps: the plan as every file request repeats it, within PLAN_SHARE

Files are fitted as every prompt's are (genlib.budget: files by rank, each whole while it fits, the first
head+tail when it does not).

Never shortened: the template's own text, the person's request and the answer schema (a request longer
than the budget makes a longer prompt, never a lost one). The app fills what is left, most important first:
one line per component (its description and file list cut to one cap for all, lowered until the lines fit
their share), then the files the request most likely touches. What is left out is said in the prompt.

In steps mode the gen prompt gets STEPS_SHARE less: each file request repeats it and adds the plan and the
interface files within that share, so every request of a gen stays within the budget.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from genlib import prompts
from genlib.app.registry import Entry
from genlib.app.registry import build as build_registry
from genlib.budget import Candidate, ShownFile, clip_list, fit, head_tail
from genlib.text import one_line
from genlib.workspace import Workspace

TEMPLATE = "gen.md.j2"
PLAN_SHARE = 0.25  # of the budget (steps): the plan, as each file request repeats it
STEPS_SHARE = 0.4  # of the budget (steps): the plan, the interface files and the "write <path>" request
ASK_ROOM = 2500  # file.md.j2's own text and one file's path, purpose and component line, each capped below
ASK_TEXT_CAP = 300  # a purpose or a command, as a file request shows it
_COMPONENT_SHARE = 0.6  # of the room the fixed text leaves: the component lines at most; the files the rest
_CAPS = (4000, 1000, 300, 100, 40)  # chars per description and file list, tried in turn
_LIST_CAP = 1500  # the files not shown, the components named only: a line each at most
_WORD = re.compile(r"[a-z0-9]{3,}")


@dataclass(frozen=True)
class Source:
    path: str
    content: str


@dataclass(frozen=True)
class App:
    """The app already in the workspace: components in registry order, files most relevant first."""

    components: list[Entry]
    files: list[Source]


@dataclass(frozen=True)
class GenPrompt:
    text: str
    files_shown: list[str]
    omitted: list[str]  # files not shown
    left_out: list[str]  # what else was shortened or left out, as the prompt says it

    @property
    def chars(self) -> int:
        return len(self.text)


def existing(ws: Workspace, description: str) -> App | None:
    """None for an empty workspace; else its components and files, ranked by the request's words."""
    reg = build_registry(ws)
    if not reg.components:
        return None
    words = set(_WORD.findall(description.lower()))
    ranked = []
    for comp in reg.components:
        for ref in comp.files:
            content = (ws.iterations_dir / ref.iteration / ref.path).read_text(encoding="utf-8", errors="replace")
            haystack = f"{ref.path} {comp.description} {content}".lower()
            ranked.append((-sum(w in haystack for w in words), ref.path, content))
    return App(reg.components, [Source(path, content) for _, path, content in sorted(ranked)])


def build(ws: Workspace, context: dict[str, Any], app: App | None, budget: int, template: str = TEMPLATE) -> GenPrompt:
    """`template` (gen.md.j2, or a profile's) with `context` (every variable but `app`) and as much of `app` as
    `budget` chars hold."""
    if app is None:
        return GenPrompt(prompts.render(ws, template, {**context, "app": None}), [], [], [])
    size = _Measure(ws, context, template)
    names = [s.path for s in app.files]
    reserve = size({"omitted": clip_list(names, _LIST_CAP), "left_out": ["x" * (_LIST_CAP + 300)]})
    lines, notes = _component_lines(app.components, size, int((budget - reserve) * _COMPONENT_SHARE))

    def render(shown: list[ShownFile], omitted: list[str]) -> str:
        parts = {"components": lines, "files": shown, "omitted": clip_list(omitted, _LIST_CAP)}
        return size.render({**parts, "left_out": _left_out(notes, shown)})

    contents = {s.path: s.content for s in app.files}
    fitted = fit(render, [Candidate(s.path) for s in app.files], contents.get, budget)
    shown = [f.path for f in fitted.shown]
    return GenPrompt(fitted.text, shown, fitted.omitted, _left_out(notes, fitted.shown))


def _left_out(notes: list[str], shown: list[ShownFile]) -> list[str]:
    cut = [f.path for f in shown if f.truncated]
    return [*notes, f"{cut[0]} shown head and tail only"] if cut else notes


class _Measure:
    """Renders gen.md.j2 with some of the app's parts (the others empty); calling it gives the length."""

    def __init__(self, ws: Workspace, context: dict[str, Any], template: str) -> None:
        self.ws, self.context, self.template = ws, context, template

    def render(self, parts: dict[str, Any]) -> str:
        app = {"components": [], "files": [], "omitted": [], "left_out": [], **parts}
        return prompts.render(self.ws, self.template, {**self.context, "app": app})

    def __call__(self, parts: dict[str, Any]) -> int:
        return len(self.render(parts))


@dataclass(frozen=True)
class ComponentLine:
    """A component as gen.md.j2 shows it (the registry entry's names), its long fields within one cap."""

    layer: str
    name: str
    runtime: str
    service: str | None
    port: int | None
    depends_on: list[str]
    description: str
    files: list[Source]  # paths only (content "")

    @classmethod
    def of(cls, comp: Entry, cap: int) -> ComponentLine:
        files = [Source(p, "") for p in clip_list([f.path for f in comp.files], cap)]
        depends_on, description = clip_list(comp.depends_on, cap), one_line(comp.description, cap)
        return cls(comp.layer, comp.name, comp.runtime, comp.service, comp.port, depends_on, description, files)


def _component_lines(comps: list[Entry], size: _Measure, limit: int) -> tuple[list[ComponentLine], list[str]]:
    """One line per component, long fields cut to the largest cap that fits `limit`; at the smallest, the
    components that still do not fit are named only (in the notes)."""
    empty = size({})
    lines: list[ComponentLine] = []
    for cap in _CAPS:
        lines = [ComponentLine.of(c, cap) for c in comps]
        if size({"components": lines}) - empty <= limit:
            longest = max((len(c.description) for c in comps), default=0)
            return lines, [] if cap >= longest else [f"component descriptions and file lists cut to {cap} characters"]
    while len(lines) > 1 and size({"components": lines}) - empty > limit:
        lines.pop()
    rest = [f"{c.layer}/{c.name}" for c in comps[len(lines) :]]
    return lines, [f"descriptions cut to {_CAPS[-1]} characters; components named only: {', '.join(rest)}"]


def plan_shown(raw: str, plan: BaseModel, limit: int) -> tuple[str, list[str]]:
    """The plan as each file request repeats it: as answered when it fits `limit`, else its JSON with long
    strings and lists cut, then without what each request says anyway (a file's purpose) or needs least
    (descriptions, scenarios), then head+tail. The same text for every file: the server's cache."""
    if len(raw) <= limit:
        return raw, []
    data = plan.model_dump(mode="json", exclude_defaults=True)
    for cap in _CAPS:
        text = json.dumps(_cap_strings(data, cap), ensure_ascii=False)
        if len(text) <= limit:
            return text, [f"the plan above has its long strings and lists cut to {cap} characters"]
    files_first = {"files": data.get("files", []), **data}  # what a file request needs most: its neighbours
    text = json.dumps(_cap_strings(_bare(files_first), _CAPS[-1]), ensure_ascii=False)
    note = f"the plan above is shortened (strings cut to {_CAPS[-1]} characters; purposes, descriptions, scenarios"
    if len(text) <= limit:
        return text, [note + " left out)"]
    return head_tail(text, limit), [note + " left out, and its middle cut)"]


def _bare(data: Any) -> Any:
    """The plan's skeleton: file paths, interfaces and components."""
    drop = {"purpose", "description", "scenarios", "summary"}
    if isinstance(data, dict):
        return {k: _bare(v) for k, v in data.items() if k not in drop}
    if isinstance(data, list):
        return [_bare(v) for v in data]
    return data


def _cap_strings(node: Any, cap: int) -> Any:
    if isinstance(node, str):
        return one_line(node, cap) if len(node) > cap else node
    if isinstance(node, dict):
        return {k: v if k == "path" else _cap_strings(v, cap) for k, v in node.items()}  # a path: whole or none
    if isinstance(node, list):
        items = [_cap_strings(v, cap) for v in node]
        return clip_list(items, cap * 4) if items and all(isinstance(v, str) for v in items) else items
    return node
