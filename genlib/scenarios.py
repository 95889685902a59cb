"""test.yaml: the scenarios that decide whether an iteration is green.

    version: 1
    scenarios:
      - name: profile answers
        kind: http            # http | logs | exec
        service: profile-api
        origin: user          # user (a person wrote it, the model may not touch it) | model
        request: {method: GET, path: /profile/1}
        expect: {status: 200, body_contains: ['"name"'], json: {name: Ada}}

Loading validates everything and names the file, line and field of the first problem.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import Field, TypeAdapter, ValidationError

from genlib.errors import ScenarioError
from genlib.fsutil import atomic_write_text
from genlib.models import Strict, describe_validation_error

Origin = Literal["user", "model"]
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9 _.:/()-]{0,79}$"
SERVICE_PATTERN = r"^[a-z][a-z0-9-]{0,62}$"


class HttpRequest(Strict):
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"] = "GET"
    path: str = Field(default="/", pattern=r"^/")
    headers: dict[str, str] = Field(default_factory=dict)
    json_body: Any = Field(default=None, alias="json")
    body: str | None = None


class HttpExpect(Strict):
    status: int = 200
    body_contains: list[str] = Field(default_factory=list)
    json_fields: dict[str, Any] = Field(default_factory=dict, alias="json")


class _Base(Strict):
    name: str = Field(pattern=NAME_PATTERN)
    service: str = Field(pattern=SERVICE_PATTERN)
    origin: Origin = "user"
    iteration: str | None = None  # where a model scenario came from


class HttpScenario(_Base):
    kind: Literal["http"]
    request: HttpRequest = Field(default_factory=HttpRequest)
    expect: HttpExpect = Field(default_factory=HttpExpect)
    timeout: float = 10.0


class LogsScenario(_Base):
    kind: Literal["logs"]
    must_not_contain: list[str] = Field(default_factory=lambda: ["Traceback", "ERROR"])
    must_contain: list[str] = Field(default_factory=list)


class ExecExpect(Strict):
    exit_code: int = 0
    output_contains: list[str] = Field(default_factory=list)


class ExecScenario(_Base):
    kind: Literal["exec"]
    command: list[str] = Field(min_length=1)
    expect: ExecExpect = Field(default_factory=ExecExpect)
    timeout: float = 30.0


Scenario = Annotated[HttpScenario | LogsScenario | ExecScenario, Field(discriminator="kind")]
_scenario_list = TypeAdapter(list[Scenario])


class TestFile(Strict):
    version: Literal[1] = 1
    scenarios: list[Scenario] = Field(default_factory=list)


def parse_scenarios(raw: Any) -> list[Scenario]:
    """Validate a list of scenario mappings (from test.yaml or a model answer)."""
    return _scenario_list.validate_python(raw)


def load_tests(path: Path) -> TestFile:
    if not path.exists():
        return TestFile()
    text = path.read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        raise ScenarioError(f"{path}{line}: not valid YAML ({getattr(exc, 'problem', exc)})") from exc
    try:
        tests = TestFile.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(f"{path}{_line_of(text, exc)}: {describe_validation_error(exc, 1)}") from exc
    _check_unique(tests.scenarios, path)
    return tests


def _line_of(text: str, exc: ValidationError) -> str:
    """Best effort: the line of the n-th scenario the first error points into."""
    loc = exc.errors()[0]["loc"]
    if len(loc) < 2 or loc[0] != "scenarios" or not isinstance(loc[1], int):
        return ""
    starts = [n for n, line in enumerate(text.splitlines(), 1) if line.lstrip().startswith("- ")]
    # only top-level list items of `scenarios:` count; their indent is the smallest
    indents = {n: len(line) - len(line.lstrip()) for n, line in enumerate(text.splitlines(), 1)}
    if not starts:
        return ""
    top = min(indents[n] for n in starts)
    items = [n for n in starts if indents[n] == top]
    return f":{items[loc[1]]}" if loc[1] < len(items) else ""


def _check_unique(scenarios: list[Scenario], path: Path) -> None:
    seen: set[str] = set()
    for scenario in scenarios:
        if scenario.name in seen:
            raise ScenarioError(f"{path}: scenario name {scenario.name!r} is used twice; names must be unique")
        seen.add(scenario.name)


def dump_tests(tests: TestFile) -> str:
    dumped = tests.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    data = {"version": 1, "scenarios": dumped.get("scenarios", [])}
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def save_tests(path: Path, tests: TestFile) -> None:
    atomic_write_text(path, dump_tests(tests))


def check_services(tests: TestFile, services: set[str], path: Path) -> None:
    """Every scenario must name a service the registry knows."""
    for scenario in tests.scenarios:
        if scenario.service not in services:
            known = ", ".join(sorted(services)) or "none yet"
            raise ScenarioError(
                f"{path}: scenario {scenario.name!r} names unknown service {scenario.service!r} (known: {known})"
            )


def merge_model_scenarios(tests: TestFile, proposed: list[Scenario], iteration: str) -> tuple[TestFile, int]:
    """Add or update the model's scenarios; a person's scenario is never replaced or changed.

    Returns the new file and how many scenarios were added or changed.
    """
    by_name = {s.name: s for s in tests.scenarios}
    changed = 0
    for scenario in proposed:
        mine = scenario.model_copy(update={"origin": "model", "iteration": iteration})
        existing = by_name.get(mine.name)
        if existing is not None and existing.origin == "user":
            continue  # the person's version wins; the model's proposal is dropped
        if existing != mine:
            by_name[mine.name] = mine
            changed += 1
    return TestFile(scenarios=list(by_name.values())), changed
