"""test.yaml: the scenarios that decide whether an iteration is green.

    version: 1
    scenarios:
      - name: profile answers
        kind: http            # http | logs | exec | page
        service: profile-api
        origin: user          # user (a person wrote it, the model may not touch it) | model
        request: {method: GET, path: /profile/1}
        expect: {status: 200, body_contains: ['"name"'], json: {name: Ada}}

Loading validates everything and names the file, line and field of the first problem.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import AfterValidator, Field, TypeAdapter, ValidationError, model_validator

from genlib.errors import ScenarioError
from genlib.fsutil import atomic_write_text
from genlib.strict import Strict

Origin = Literal["user", "model"]
# Every field is bounded where it enters test.yaml (from a person or a model), so the runner never meets a
# value it cannot send: a path of URL characters only (no CR/LF, no spaces, ASCII), header names as HTTP
# tokens and values as visible ASCII, finite timeouts, short lists of short strings.
Text = Annotated[str, Field(max_length=2000)]
Texts = Annotated[list[Text], Field(max_length=50)]
Seconds = Annotated[float, Field(gt=0, le=300, allow_inf_nan=False)]


def _matching(pattern: str, what: str) -> AfterValidator:
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise ValueError(f"{value[:60]!r} is not {what}")
        return value

    return AfterValidator(check)


UrlPath = Annotated[str, _matching(r"/[!#-~]{0,1999}", "a URL path: '/' then visible ASCII, no spaces or CR/LF")]
Headers = Annotated[
    dict[
        Annotated[str, _matching(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}", "a header name (letters, digits, '-')")],
        Annotated[str, _matching(r"[ -~]{0,1000}", "a header value: printable ASCII, at most 1000 characters")],
    ],
    Field(max_length=20),
]
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9 _.:/()-]{0,79}$"
SERVICE_PATTERN = r"^[a-z][a-z0-9-]{0,62}$"


class HttpRequest(Strict):
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"] = "GET"
    path: UrlPath = "/"
    headers: Headers = Field(default_factory=dict)
    json_body: Any = Field(default=None, alias="json")
    body: str | None = Field(default=None, max_length=65536)


class HttpExpect(Strict):
    status: int = Field(default=200, ge=100, le=599)
    body_contains: Texts = Field(default_factory=list)
    json_fields: dict[str, Any] = Field(default_factory=dict, alias="json", max_length=50)


class _Base(Strict):
    name: str = Field(pattern=NAME_PATTERN)
    service: str = Field(pattern=SERVICE_PATTERN)
    origin: Origin = "user"
    iteration: str | None = None  # where a model scenario came from


class HttpScenario(_Base):
    kind: Literal["http"]
    request: HttpRequest = Field(default_factory=HttpRequest)
    expect: HttpExpect = Field(default_factory=HttpExpect)
    timeout: Seconds = 10.0


class LogsScenario(_Base):
    kind: Literal["logs"]
    must_not_contain: Texts = Field(default_factory=lambda: ["Traceback", "ERROR"])
    must_contain: Texts = Field(default_factory=list)
    within: float = Field(default=10.0, ge=0, le=600, allow_inf_nan=False)  # seconds a must_contain line may take


class ExecExpect(Strict):
    exit_code: int = Field(default=0, ge=0, le=255)
    output_contains: Texts = Field(default_factory=list)


class ExecScenario(_Base):
    kind: Literal["exec"]
    command: list[Annotated[str, Field(max_length=4000)]] = Field(min_length=1, max_length=64)
    expect: ExecExpect = Field(default_factory=ExecExpect)
    timeout: Seconds = 30.0


class PageStep(Strict):
    """One thing a person does on the page: `{fill: "#text", value: "milk"}`, `{click: "#add"}`,
    `{wait_for: "#notes li"}` (a selector) or `{wait_for_text: "milk"}`."""

    fill: str | None = Field(default=None, min_length=1, max_length=2000)
    value: str | None = Field(default=None, max_length=2000)
    click: str | None = Field(default=None, min_length=1, max_length=2000)
    wait_for: str | None = Field(default=None, min_length=1, max_length=2000)
    wait_for_text: str | None = Field(default=None, min_length=1, max_length=2000)

    @model_validator(mode="after")
    def _one_action(self) -> PageStep:
        actions = [a for a in ("fill", "click", "wait_for", "wait_for_text") if getattr(self, a) is not None]
        if len(actions) != 1:
            raise ValueError("a step does exactly one of fill, click, wait_for, wait_for_text")
        if (self.fill is None) != (self.value is None):
            raise ValueError("`value` goes with `fill` (the text typed into that selector), and only with it")
        return self

    def describe(self) -> str:
        """`click '#add'`: the step as reasons and evidence name it."""
        if self.fill is not None:
            return f"fill {self.fill!r} with {self.value!r}"
        action = "click" if self.click else "wait_for" if self.wait_for else "wait_for_text"
        return f"{action} {getattr(self, action)!r}"


class PageScenario(_Base):
    """A page of a frontend service, loaded in headless Chromium. `{<service>}` in `path` becomes that
    service's address on the host (`http://127.0.0.1:<host_port>`), so a page can be told where its api is."""

    kind: Literal["page"]
    path: UrlPath = "/"
    steps: list[PageStep] = Field(default_factory=list, max_length=50)
    expect_text: Texts = Field(default_factory=list)
    expect_selectors: Texts = Field(default_factory=list)
    timeout: Seconds = 15.0


Scenario = Annotated[HttpScenario | LogsScenario | ExecScenario | PageScenario, Field(discriminator="kind")]
_scenario_list = TypeAdapter(list[Scenario])


class TestFile(Strict):
    __test__ = False  # not a pytest test class, despite the name

    version: Literal[1] = 1
    scenarios: list[Scenario] = Field(default_factory=list)


def definition(scenario: Scenario) -> str:
    """sha256 of what the scenario checks (not who wrote it, nor where it came from): results.json records it,
    so a result stays current only while its scenario is defined the same way (`doit bisect`)."""
    check = scenario.model_dump(mode="json", by_alias=True, exclude={"origin", "iteration"})
    return hashlib.sha256(json.dumps(check, sort_keys=True).encode()).hexdigest()


def definitions(tests: TestFile) -> dict[str, str]:
    """Scenario name -> its definition's sha256."""
    return {s.name: definition(s) for s in tests.scenarios}


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
        raise ScenarioError(
            f"{path}{line}: not valid YAML ({getattr(exc, 'problem', exc)}); fix the syntax there"
        ) from exc
    try:
        tests = TestFile.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(describe_problem(path, text, exc)) from exc
    _check_unique(tests.scenarios, path)
    return tests


_KINDS = ("http", "logs", "exec", "page")
_TAG_ERRORS = ("union_tag_invalid", "union_tag_not_found")


def describe_problem(path: Path, text: str, exc: ValidationError) -> str:
    """'test.yaml:7: scenario 2, field request.path: String should match pattern ...' for the first error."""
    err = exc.errors()[0]
    loc = [p for p in err["loc"] if p not in _KINDS]  # drop the union's tag pydantic inserts
    if err["type"] in _TAG_ERRORS:
        loc.append("kind")
    line = locate(text, loc)
    where = f"{path}:{line}" if line else str(path)
    if len(loc) >= 2 and loc[0] == "scenarios" and isinstance(loc[1], int):
        field = ".".join(str(p) for p in loc[2:]) or "(the scenario)"
        return f"{where}: scenario {loc[1] + 1}, field {field}: {err['msg']}; see docs/test-yaml.md"
    return f"{where}: field {'.'.join(str(p) for p in loc) or '(top level)'}: {err['msg']}; see docs/test-yaml.md"


def locate(text: str, loc: list[str | int]) -> int | None:
    """The 1-based line of the deepest node of `loc` present in the YAML text (a key's own line)."""
    try:
        node: yaml.Node | None = yaml.compose(text)
    except yaml.YAMLError:
        return None
    line = None
    for part in loc:
        if node is None:
            break
        step = _step(node, part)
        if step is None:
            break
        line, node = step
    return line


def _step(node: yaml.Node, part: str | int) -> tuple[int, yaml.Node] | None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if key.value == part:
                return key.start_mark.line + 1, value
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
        item = node.value[part]
        return item.start_mark.line + 1, item
    return None


def scenario_line(path: Path, index: int, field: str) -> str:
    """':N' for a scenario's field in test.yaml, or '' when it cannot be found."""
    try:
        line = locate(path.read_text(encoding="utf-8"), ["scenarios", index, field])
    except OSError:
        return ""
    return f":{line}" if line else ""


def _check_unique(scenarios: list[Scenario], path: Path) -> None:
    seen: set[str] = set()
    for index, scenario in enumerate(scenarios):
        if scenario.name in seen:
            raise ScenarioError(
                f"{path}{scenario_line(path, index, 'name')}: scenario {index + 1}, field name: "
                f"{scenario.name!r} is used twice; names must be unique"
            )
        seen.add(scenario.name)


def dump_tests(tests: TestFile) -> str:
    dumped = tests.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    data = {"version": 1, "scenarios": dumped.get("scenarios", [])}
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def save_tests(path: Path, tests: TestFile) -> None:
    atomic_write_text(path, dump_tests(tests))


def check_services(tests: TestFile, services: set[str], path: Path) -> None:
    """Every scenario must name a service the registry knows."""
    for index, scenario in enumerate(tests.scenarios):
        if scenario.service not in services:
            known = ", ".join(sorted(services)) or "none yet"
            raise ScenarioError(
                f"{path}{scenario_line(path, index, 'service')}: scenario {scenario.name!r}, field service: "
                f"unknown service {scenario.service!r} (known: {known}); fix the name in test.yaml"
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


def settle(tests: TestFile, services: set[str]) -> tuple[TestFile, list[str]]:
    """Drop the model's scenarios whose service the app no longer has (a person's are never dropped:
    the answer rules refuse an answer that would remove their service). Returns the file and the names."""
    dropped = [s.name for s in tests.scenarios if s.origin == "model" and s.service not in services]
    kept = [s for s in tests.scenarios if s.name not in dropped]
    return TestFile(scenarios=kept), dropped
