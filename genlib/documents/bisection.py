"""iterations/bisect.json: what `doit bisect` found, per scenario (format `genlib.bisect/1`, docs/bisect-json.md).

    record(ws, findings)              add or replace the findings of the scenarios bisected
    load(ws) -> [Finding]             every finding kept
    prime_suspects(findings, failing, line) -> paths   what heal shows the model first

`doit report` marks each breaking iteration; heal treats the files it changed as prime suspects while the
scenario still fails and that iteration is still on HEAD's line.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from datetime import datetime
from typing import Final, Literal

from pydantic import ValidationError

from genlib.errors import WorkspaceError
from genlib.fsutil import atomic_write_text, read_json_object
from genlib.strict import Strict, describe_validation_error
from genlib.workspace import Workspace

FORMAT: Final = "genlib.bisect/1"
FILE = "bisect.json"
_FIX = "delete it and run `doit bisect` again"


class Finding(Strict):
    """The iteration that broke one scenario, as found with HEAD at `head`."""

    scenario: str
    broke: str  # the first iteration of HEAD's line where the scenario fails
    last_good: str  # its parent, where the scenario passes
    reason: str  # the scenario's reason at `broke`
    files: list[str]  # the layer files `broke` changed (added, edited or deleted)
    head: str
    found: datetime
    stack_runs: int  # how many times the bisect that found it ran the stack


class Bisections(Strict):
    format: Literal["genlib.bisect/1"] = FORMAT
    findings: list[Finding]


def load(ws: Workspace) -> list[Finding]:
    """Every finding kept; none when bisect never ran. A damaged file is a WorkspaceError saying what to do."""
    path = ws.iterations_dir / FILE
    data = read_json_object(path, _FIX)
    if data is None:
        return []
    try:
        return Bisections.model_validate(data).findings
    except ValidationError as exc:
        raise WorkspaceError(f"{path}: {describe_validation_error(exc, 1)}; {_FIX}") from exc


def record(ws: Workspace, findings: list[Finding]) -> None:
    """Keep `findings`, replacing earlier ones of the same scenarios (the newest answer counts)."""
    names = {f.scenario for f in findings}
    kept = [f for f in load(ws) if f.scenario not in names] + findings
    text = json.dumps(Bisections(findings=kept).model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"
    atomic_write_text(ws.iterations_dir / FILE, text)


def prime_suspects(findings: list[Finding], failing: Collection[str], line: Collection[str]) -> set[str]:
    """The files changed by the iterations that broke the scenarios still `failing`, where that iteration is
    on HEAD's `line` (a rolled-back one explains nothing about HEAD)."""
    return {path for f in findings if f.scenario in failing and f.broke in line for path in f.files}
