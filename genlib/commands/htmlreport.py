"""`doit report`: one self-contained HTML file a person can look at (no network: no CDN, no fonts).

    iterations as a timeline   gen or patch, parent, HEAD, iterations off HEAD's line (rolled back)
    per iteration              scenarios with pass/fail and reasons, the diff it made,
                               the screenshots of failing pages (embedded as data: URIs)
    a chart                    tokens and model time per iteration (pygal, inline SVG)

Everything comes from files the graph and the model wrote; model text is data, so
the template escapes all of it (Jinja autoescape). Sizes are bounded: a long diff
or a huge screenshot is cut, never allowed to make the file unopenable.
"""

from __future__ import annotations

import base64
import functools
import re
from dataclasses import dataclass, field
from pathlib import Path

import jinja2

from genlib.app import trees
from genlib.app.iterations import Iteration, head, lineage, list_iterations, parent_map
from genlib.commands import history
from genlib.documents import bisection, results
from genlib.documents.llm_output import LLMOutput, load_output
from genlib.documents.results import PageEvidence, Result, Status
from genlib.errors import WorkspaceError
from genlib.fsutil import atomic_write_text
from genlib.workspace import Workspace

REPORT_FILE = "report.html"
DIFF_CHARS = 30_000  # per iteration
SCREENSHOT_BYTES = 3 * 1024 * 1024
REASON_CHARS = 600
TEMPLATE = "report.html.j2"
_SCRIPT = re.compile(r"<script\b.*?</script>", re.DOTALL)


@dataclass
class Scenario:
    name: str
    kind: str
    service: str
    status: str
    reason: str
    screenshot: str | None = None  # a data: URI


@dataclass
class Entry:
    """One iteration as the report shows it."""

    number: int
    name: str
    kind: str
    description: str
    parent: str | None
    is_head: bool
    on_head_line: bool  # False: rolled back (HEAD's line does not pass through it)
    created: str
    tokens: int
    model_s: float
    summary: dict[Status, int] | None  # None: never tested
    scenarios: list[Scenario] = field(default_factory=list)
    diff: str = ""
    diff_note: str = ""
    broke: list[str] = field(default_factory=list)  # scenarios `doit bisect` found this iteration broke

    @property
    def failing(self) -> int:
        return 0 if self.summary is None else self.summary["failed"] + self.summary["error"]


def default_path(ws: Workspace) -> Path:
    return ws.state_dir / REPORT_FILE


def write(ws: Workspace, out: Path | None = None) -> Path:
    """Render the report into `out` (default .genlib/report.html); return where it is."""
    target = out or default_path(ws)
    atomic_write_text(target, render(ws))
    return target


def render(ws: Workspace) -> str:
    found = entries(ws)
    return _template().render(project=ws.root.name, entries=found, charts=charts(found))


def entries(ws: Workspace) -> list[Entry]:
    current = head(ws)
    on_line = {it.name for it in lineage(ws, current)} if current else set()
    parents = parent_map(ws)
    found = [_entry(ws, it, parents[it.name], current, on_line) for it in list_iterations(ws)]
    for finding in history.best_effort(lambda: bisection.load(ws)) or []:
        for entry in found:
            if entry.name == finding.broke:
                entry.broke.append(finding.scenario)
    return found


def _entry(
    ws: Workspace, it: Iteration, parent: Iteration | None, current: Iteration | None, on_line: set[str]
) -> Entry:
    # the report shows what it can: a missing or damaged file is a gap, not a crash
    output = history.best_effort(lambda: load_output(it.llm_output))
    report = history.best_effort(lambda: results.load(it.results))
    stats = output.stats if output else None
    diff, note = _diff(ws, it, parent)
    return Entry(
        number=it.number,
        name=it.name,
        kind=output.kind if output else it.kind,
        description=_description(it, output),
        parent=parent.name if parent else None,
        is_head=current is not None and current.name == it.name,
        on_head_line=it.name in on_line,
        created=(output.created if output else "")[:16].replace("T", " "),
        tokens=stats.prompt_tokens + stats.completion_tokens if stats else 0,
        model_s=round(stats.total_duration_s, 1) if stats else 0.0,
        summary=report.summary if report else None,
        scenarios=[_scenario(ws, r) for r in report.results] if report else [],
        diff=diff,
        diff_note=note,
    )


def _description(it: Iteration, output: LLMOutput | None) -> str:
    try:
        return it.desc.read_text(encoding="utf-8").strip()
    except OSError:
        return output.description if output else ""


def _scenario(ws: Workspace, result: Result) -> Scenario:
    reason = result.reason
    return Scenario(
        name=result.name,
        kind=result.kind,
        service=result.service,
        status=result.status,
        reason=reason if len(reason) <= REASON_CHARS else reason[: REASON_CHARS - 1] + "…",
        screenshot=_embedded_png(ws, result.evidence.screenshot if isinstance(result.evidence, PageEvidence) else None),
    )


def _embedded_png(ws: Workspace, shown: str | None) -> str | None:
    """A screenshot inside the workspace as a data: URI (none when missing, outside, or too big)."""
    if not shown:
        return None
    path = (ws.root / shown).resolve()
    if not path.is_relative_to(ws.iterations_dir.resolve()) or not path.is_file():
        return None
    data = path.read_bytes()
    if len(data) > SCREENSHOT_BYTES or not data.startswith(b"\x89PNG"):
        return None
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def _diff(ws: Workspace, it: Iteration, parent: Iteration | None) -> tuple[str, str]:
    """What this iteration changed against its parent (everything, for a first gen), bounded."""
    try:
        text = history.diff(ws, parent.name, it.name) if parent else _added(ws, it)
    except WorkspaceError as exc:
        return "", str(exc)
    if len(text) > DIFF_CHARS:
        return text[:DIFF_CHARS], f"cut at {DIFF_CHARS} characters; `doit diff` shows all"
    return text, "" if text else "no changes"


def _added(ws: Workspace, it: Iteration) -> str:
    tree = trees.effective_tree(ws, it)
    return "".join(
        f"--- /dev/null\n+++ {it.name}/{path}\n" + "".join(f"+{line}\n" for line in text.splitlines())
        for path, text in sorted(tree.items())
    )


def charts(found: list[Entry]) -> list[str]:
    """Tokens and model time per iteration: two inline SVG bar charts, without scripts."""
    import pygal  # only `doit report` needs it
    from pygal.style import Style

    labels = [f"#{e.number}" for e in found]
    made = []
    for title, color, values in (
        ("tokens per iteration", "#6366f1", [e.tokens for e in found]),
        ("model time per iteration (s)", "#f59e0b", [e.model_s for e in found]),
    ):
        style = Style(
            background="transparent",
            plot_background="transparent",
            foreground="#334155",
            foreground_strong="#0f172a",
            foreground_subtle="#e2e8f0",
            colors=(color,),
            font_family="system-ui, sans-serif",
            title_font_size=15,
        )
        chart = pygal.Bar(
            js=[],  # pygal's tooltips load a script from a CDN: the report stays offline
            disable_xml_declaration=True,
            style=style,
            title=title,
            width=460,
            height=260,
            show_legend=False,
            print_values=len(found) <= 12,
            margin=12,
        )
        chart.x_labels = labels
        chart.add(title, values)
        # pygal still writes an inline config <script> for its tooltip script, which is not loaded: drop it
        made.append(_SCRIPT.sub("", str(chart.render(is_unicode=True))))
    return made


@functools.cache
def _template() -> jinja2.Template:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(Path(__file__).parent)),
        undefined=jinja2.StrictUndefined,
        autoescape=True,  # every string from the model or a log is escaped; only the chart is marked safe
    )
    return env.get_template(TEMPLATE)
