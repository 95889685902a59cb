"""results.json: what one test run found, as data (format `genlib.results/1`, docs/results-json.md).

    RunReport.of(iteration, started, duration_s, results)   a run's outcome; `failing`, `ok`, `summary`
    report.current(basis, definitions)                      the results a later run would repeat (bisect)
    dump(report) -> str / load(path) -> RunReport | None   the file, round-tripped typed

The runner writes it, heal and history read it back, always through these models
(nox's `Result.serialize` / `from_dict` habit): one definition of "failing".
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, Final, Literal

from pydantic import Field, JsonValue, ValidationError, field_serializer

from genlib import bounded
from genlib.errors import WorkspaceError
from genlib.fsutil import atomic_write_text, read_json_object
from genlib.strict import Strict, describe_validation_error

FORMAT: Final = "genlib.results/1"
Status = Literal["passed", "failed", "skipped", "error"]
STATUSES: tuple[Status, ...] = ("passed", "failed", "skipped", "error")
FAILING: frozenset[Status] = frozenset({"failed", "error"})  # what heal tries to fix; `skipped` is not
Kind = Literal["http", "logs", "exec", "page", "service", "migrations", "build"]
Origin = Literal["user", "model", "genlib"]
Evidence = dict[str, JsonValue]  # per kind: status/body_head, log_tail, output_tail, screenshot, …
Outcome = tuple[Status, str, dict[str, Any]]  # what one scenario's check returns: status, reason, evidence
_FIX = "delete it and run `doit test`"


class Result(Strict):
    """One scenario's (or one service check's) outcome."""

    name: str
    kind: Kind
    service: str
    origin: Origin
    status: Status
    reason: str
    duration_s: float = 0.0
    evidence: Evidence = Field(default_factory=dict)
    # sha256 of the scenario's check as test.yaml defined it (documents.scenarios.definition); None: genlib's own
    definition: str | None = None

    @property
    def failing(self) -> bool:
        return self.status in FAILING

    @field_serializer("duration_s")
    def _rounded(self, value: float) -> float:
        return round(value, 3)

    @field_serializer("reason")
    def _clipped(self, value: str) -> str:
        return bounded.clip_text(value, 4000)

    @field_serializer("evidence")
    def _bounded(self, value: Evidence) -> Evidence:
        """Whatever the app printed, results.json stays small: every string and list clipped."""
        clipped: Evidence = bounded.bound(value)
        return clipped


class Basis(Strict):
    """What a run tested besides test.yaml: a run on the same basis finds the same (so `doit bisect` reuses it)."""

    app: str  # sha256 of registry.yaml's components: every current file as it was on disk, and how each runs
    images: dict[str, str]  # service -> the image it ran on (a dependency image's tag hashes what it is made of)


class RunReport(Strict):
    """Every result of one run against one iteration."""

    format: Literal["genlib.results/1"] = FORMAT
    iteration: str
    started: datetime
    duration_s: float
    basis: Basis | None = None  # None: an older genlib's run (never current)
    results: list[Result]

    @classmethod
    def of(
        cls, iteration: str, started: datetime, duration_s: float, results: list[Result], basis: Basis | None = None
    ) -> RunReport:
        return cls(iteration=iteration, started=started, duration_s=duration_s, basis=basis, results=results)

    @property
    def summary(self) -> dict[Status, int]:
        return {status: sum(r.status == status for r in self.results) for status in STATUSES}

    @property
    def failing(self) -> list[Result]:
        return [r for r in self.results if r.failing]

    @property
    def ok(self) -> bool:
        return not self.failing

    def current(self, basis: Basis, definitions: Mapping[str, str]) -> dict[str, Result]:
        """The scenarios' results a run now would repeat: the same basis, and each scenario defined as it is
        now (`definitions`: name -> its definition's sha256, from test.yaml)."""
        if self.basis != basis:
            return {}
        return {r.name: r for r in self.results if r.definition is not None and definitions.get(r.name) == r.definition}

    @field_serializer("started")
    def _seconds(self, value: datetime) -> str:
        return value.isoformat(timespec="seconds")

    @field_serializer("duration_s")
    def _rounded(self, value: float) -> float:
        return round(value, 3)


def to_json(report: RunReport) -> dict[str, JsonValue]:
    """The file's object; `summary` is derived, written for people and tools, recomputed on load."""
    data = report.model_dump(mode="json")
    results = data.pop("results")
    # fields added later are left out while unset, so an older file dumps to the same bytes
    if data["basis"] is None:
        del data["basis"]
    for result in results:
        if result["definition"] is None:
            del result["definition"]
    return {**data, "summary": dict(report.summary), "results": results}


def dump(report: RunReport) -> str:
    return json.dumps(to_json(report), indent=2, ensure_ascii=False) + "\n"


def save(path: Path, report: RunReport) -> None:
    atomic_write_text(path, dump(report))


def load(path: Path) -> RunReport | None:
    """The report in `path`; None when there is none. A damaged file is a WorkspaceError saying what to do."""
    data = read_json_object(path, _FIX)
    if data is None:
        return None
    if data.get("format") != FORMAT:
        raise WorkspaceError(f"{path}: field format: expected {FORMAT!r}; {_FIX}")
    data.pop("summary", None)
    try:
        return RunReport.model_validate(data)
    except ValidationError as exc:
        raise WorkspaceError(f"{path}: {describe_validation_error(exc, 1)}; {_FIX}") from exc
