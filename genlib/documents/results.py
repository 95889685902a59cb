"""results.json: what one test run found, as data (format `genlib.results/1`, docs/results-json.md).

    RunReport.of(iteration, started, duration_s, results)   a run's outcome; `failing`, `ok`, `summary`
    report.current(basis, definitions)                      the results a later run would repeat (bisect)
    Result.evidence                                         typed per kind: HttpEvidence, LogsEvidence, …
    dump(report) -> str / load(path) -> RunReport | None   the file, round-tripped typed

The runner writes it, heal and history read it back, always through these models
(nox's `Result.serialize` / `from_dict` habit): one definition of "failing".
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Final, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError, field_serializer, model_validator

from genlib import bounded
from genlib.errors import WorkspaceError
from genlib.fsutil import atomic_write_text, read_json_object
from genlib.redact import redact
from genlib.strict import Strict, describe_validation_error

FORMAT: Final = "genlib.results/1"
Status = Literal["passed", "failed", "skipped", "error"]
STATUSES: tuple[Status, ...] = ("passed", "failed", "skipped", "error")
FAILING: frozenset[Status] = frozenset({"failed", "error"})  # what heal tries to fix; `skipped` is not
Kind = Literal["http", "logs", "exec", "page", "service", "migrations", "build"]
Origin = Literal["user", "model", "genlib"]
_FIX = "delete it and run `doit test`"


# -- evidence, one model per kind -------------------------------------------------------------------


class _Evidence(BaseModel):
    """What a check saw. Only the keys a check set are written (`fields`); keys an older genlib wrote and this
    one does not know are kept as they are, so every older results.json still loads."""

    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)

    def fields(self) -> dict[str, JsonValue]:
        """The keys as results.json has them, in the order the check set them."""
        found: dict[str, JsonValue] = self.model_dump(mode="json", by_alias=True, exclude_unset=True)
        return found

    def with_fields(self, fields: dict[str, JsonValue]) -> Self:
        """The same kind of evidence from `fields` (e.g. every string redacted)."""
        return self.model_validate(fields)


class ServiceEvidence(_Evidence):
    state: str | None = None  # running | exited | restarting | …; None: the service has no container
    health: str | None = None
    exit_code: int | None = None
    restart_count: int | None = None
    errors: list[str] | None = None  # when it fails: the log's error-like lines
    log_tail: str | None = None


class SentRequest(BaseModel):
    model_config = ConfigDict(frozen=True)
    method: str
    url: str


class HttpEvidence(_Evidence):
    request: SentRequest | None = None
    status: int | None = None
    headers: dict[str, str] | None = None  # the few that explain an answer (content-type, location, …)
    body_head: str | None = None
    body_cut: str | None = None  # the body was read only in part
    found: dict[str, JsonValue] | None = Field(default=None, alias="json")  # the JSON fields checked, as found


class LogsEvidence(_Evidence):
    window: str | None = None  # which part of the log was read: "since `up` brought this stack up, <UTC>", ...
    matched: list[str] | None = None  # the forbidden lines found, or else the wanted ones
    errors: list[str] | None = None
    log_head: str | None = None  # when the log is longer than its tail
    log_tail: str | None = None


class ExecEvidence(_Evidence):
    command: list[str] | None = None
    exit_code: int | None = None
    output_tail: str | None = None


class PageEvidence(_Evidence):
    url: str | None = None
    failed_step: str | None = None
    errors: list[str] | None = None  # the page's errors (console, uncaught)
    failed_requests: list[str] | None = None
    blocked_requests: list[str] | None = None  # requests to hosts outside the stack, aborted
    page_text: str | None = None  # when it fails
    screenshot: str | None = None  # when it fails: a path under the iteration (None: nowhere to keep it)


class MigrationsEvidence(_Evidence):
    applied: list[str] | None = None
    failed: dict[str, str] | None = None  # {"file": path, "error": psql's message}


class BuildEvidence(_Evidence):
    files: list[str] | None = None  # the dependency files the image installs
    build_log: str | None = None  # the build log's telling lines


Evidence = (
    ServiceEvidence | HttpEvidence | LogsEvidence | ExecEvidence | PageEvidence | MigrationsEvidence | BuildEvidence
)
EVIDENCE: dict[Kind, type[Evidence]] = {
    "service": ServiceEvidence,
    "http": HttpEvidence,
    "logs": LogsEvidence,
    "exec": ExecEvidence,
    "page": PageEvidence,
    "migrations": MigrationsEvidence,
    "build": BuildEvidence,
}
Outcome = tuple[Status, str, Evidence | None]  # what one scenario's check returns: status, reason, evidence


class Result(Strict):
    """One scenario's (or one service check's) outcome."""

    name: str
    kind: Kind
    service: str
    origin: Origin
    status: Status
    reason: str
    duration_s: float = 0.0
    evidence: Evidence  # the model of its kind (EVIDENCE); from JSON, any object (none: empty)

    @model_validator(mode="before")
    @classmethod
    def _evidence_of_kind(cls, data: Any) -> Any:
        """The evidence (a JSON object, or none) as the model of the result's kind."""
        if isinstance(data, dict) and data.get("kind") in EVIDENCE:
            model = EVIDENCE[data["kind"]]
            evidence = data.get("evidence")
            if evidence is None or isinstance(evidence, dict):
                data = {**data, "evidence": model.model_validate(evidence or {})}
            elif not isinstance(evidence, model):
                raise ValueError(f"the evidence of kind {data['kind']} must be {model.__name__}")
        return data

    # sha256 of the scenario's check as test.yaml defined it (documents.scenarios.definition); None: genlib's own
    definition: str | None = None

    @property
    def failing(self) -> bool:
        return self.status in FAILING

    def redacted(self, known: Sequence[str]) -> Result:
        """This result with every secret in its reason and evidence masked (genlib.redact; `known`: literal ones)."""
        evidence = self.evidence.with_fields({k: _redacted(v, known) for k, v in self.evidence.fields().items()})
        return self.model_copy(update={"reason": redact(self.reason, known), "evidence": evidence})

    @field_serializer("duration_s")
    def _rounded(self, value: float) -> float:
        return round(value, 3)

    @field_serializer("reason")
    def _clipped(self, value: str) -> str:
        return bounded.clip_text(value, 4000)

    @field_serializer("evidence")
    def _bounded(self, value: Evidence) -> dict[str, JsonValue]:
        """Whatever the app printed, results.json stays small: every string and list clipped."""
        clipped: dict[str, JsonValue] = bounded.bound(value.fields())
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


def _redacted(value: JsonValue, known: Sequence[str]) -> JsonValue:
    """`value` with every string in it redacted (evidence is JSON: objects, arrays, scalars)."""
    if isinstance(value, str):
        return redact(value, known)
    if isinstance(value, dict):
        return {key: _redacted(item, known) for key, item in value.items()}
    if isinstance(value, list):
        return [_redacted(item, known) for item in value]
    return value


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
