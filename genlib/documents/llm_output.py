"""llm_output.json, format `genlib.llm_output/2` (documented in docs/llm_output.md; /1 is still read).

It keeps everything the model said for one iteration: the request, every raw
attempt (rejected ones too, with a reasoning model's thinking), the accepted raw answer,
or, for a gen in steps, one `step` per request (the plan, then each file), the parsed
`answer` and the server's token and timing figures. The answer is untrusted input: genlib.answer.rules
holds every rule it must pass before a single file is written.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final, Literal

from pydantic import Field, ValidationError, model_validator

from genlib.documents.scenarios import Scenario
from genlib.errors import OutputError
from genlib.strict import Strict, describe_validation_error
from genlib.workspace import service_name

FORMAT: Final = "genlib.llm_output/2"
FORMATS: Final = ("genlib.llm_output/1", FORMAT)  # /1: before thinking and steps; read as it is
Layer = Literal["frontend", "backend", "workers", "api", "deployment"]
Runtime = Literal["python", "node", "static", "shell", "postgres", "redis"]
DATA_RUNTIMES: Final = ("postgres", "redis")  # genlib.app.dataservices runs them
COMPONENT_PATTERN = r"^[a-z][a-z0-9-]{0,30}$"
SCRIPT_SUFFIXES = (".py", ".js", ".mjs", ".cjs", ".sh")  # what a command runs by path


class FileSpec(Strict):
    path: str
    content: str


class ComponentSpec(Strict):
    name: str = Field(pattern=COMPONENT_PATTERN)
    layer: Layer
    runtime: Runtime
    description: str = ""
    port: int | None = Field(default=None, ge=1024, le=65535)
    command: list[str] | None = None  # run inside the component's folder (/app)
    health: str | None = None  # a plain URL path: genlib.answer.rules holds the rule
    depends_on: list[str] = Field(default_factory=list)

    @property
    def service(self) -> str:
        return service_name(self.name, self.layer)

    @property
    def runnable(self) -> bool:
        """A service of the stack: a static site, a data service, or a python/node program with a command.

        `shell` components (deployment scripts) are artifacts: they are kept and diffed, never run."""
        if self.runtime in ("static", *DATA_RUNTIMES):
            return True
        return self.runtime != "shell" and bool(self.command)


class Answer(Strict):
    """What the model must return: the JSON schema of this is sent to Ollama as `format`."""

    summary: str = ""
    components: list[ComponentSpec] = Field(default_factory=list)
    files: list[FileSpec] = Field(default_factory=list)
    deletions: list[str] = Field(default_factory=list)
    scenarios: list[Scenario] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _services_meant(cls, data: Any) -> Any:
        return scenarios_name_services(data)


def scenarios_name_services(data: Any) -> Any:
    """A scenario that names a component where its service is meant gets the service (as depends_on may).

    Models, small ones most, write `"service": "notes"` for component `notes` in layer api, whose service is
    `notes-api`; the one service the name can mean is written instead, before the rules look. A name two
    components share, or none has, is left for the rules to refuse."""
    if not isinstance(data, dict) or not isinstance(data.get("scenarios"), list):
        return data
    services: dict[str, list[str]] = {}
    for comp in data.get("components") or []:
        if isinstance(comp, dict) and isinstance(comp.get("name"), str) and isinstance(comp.get("layer"), str):
            services.setdefault(comp["name"], []).append(service_name(comp["name"], comp["layer"]))
    known = {service for named in services.values() for service in named}
    scenarios = []
    for scenario in data["scenarios"]:
        named = scenario.get("service") if isinstance(scenario, dict) else None
        meant = services.get(named) if isinstance(named, str) and named not in known else None
        if meant is not None and len(meant) == 1:
            scenario = {**scenario, "service": meant[0]}
        scenarios.append(scenario)
    return {**data, "scenarios": scenarios}


class Attempt(Strict):
    raw: str
    error: str | None = None  # why it was rejected; None for the accepted one
    thinking: str = ""  # /2: what a reasoning model thought first (never part of a file)
    parts: list[str] = Field(default_factory=list)  # /2: a cut file continued: each completion; raw joins them


class Request(Strict):
    host: str = ""
    model: str = ""
    options: dict[str, float | int | str] = Field(default_factory=dict)
    prompt_sha256: str = ""
    prompt_chars: int = 0


class Stats(Strict):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_duration_s: float = 0.0
    load_duration_s: float = 0.0
    prompt_eval_duration_s: float = 0.0
    eval_duration_s: float = 0.0
    wall_s: float = 0.0


class Step(Strict):
    """/2: one request of a gen in steps: `plan`, or the path of the file it asked for."""

    name: str
    prompt_sha256: str = ""
    prompt_chars: int = 0
    attempts: list[Attempt] = Field(default_factory=list)
    stats: Stats = Field(default_factory=Stats)


class LLMOutput(Strict):
    format: Literal["genlib.llm_output/1", "genlib.llm_output/2"]
    kind: Literal["gen", "patch"]
    description: str
    created: str = ""
    request: Request = Field(default_factory=Request)
    attempts: list[Attempt] = Field(default_factory=list)
    raw: str = ""
    steps: list[Step] = Field(default_factory=list)  # /2, a gen in steps: attempts and raw stay empty
    answer: Answer
    stats: Stats = Field(default_factory=Stats)


# Scenario fields genlib sets itself: the model is not offered them (a scenario it
# proposes is always origin: model, and a patch claiming `user` is rejected anyway).
_GENLIB_OWNED = ("origin", "iteration")


def answer_schema() -> dict[str, Any]:
    """The JSON schema sent to Ollama as `format`."""
    return schema_for(Answer)


def schema_for(model: type[Strict]) -> dict[str, Any]:
    """`model`'s JSON schema without the scenario fields genlib sets itself."""
    schema = model.model_json_schema()
    for name, definition in schema.get("$defs", {}).items():
        if name.endswith("Scenario"):
            for field in _GENLIB_OWNED:
                definition.get("properties", {}).pop(field, None)
    return schema


def load_output(path: Path) -> LLMOutput:
    """Read and validate an llm_output.json; every problem is one OutputError naming file and field."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise OutputError(f"{path}: missing; run `doit gen desc=...`") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise OutputError(f"{path}: not valid JSON ({exc})") from exc
    if isinstance(data, dict) and data.get("format") not in FORMATS:
        raise OutputError(
            f"{path}: field format: unknown version {data.get('format')!r}; this genlib reads {', '.join(FORMATS)}"
        )
    try:
        output = LLMOutput.model_validate(data)
    except ValidationError as exc:
        raise OutputError(f"{path}: {describe_validation_error(exc, 1)}") from exc
    return output


def dump_output(output: LLMOutput) -> str:
    return json.dumps(output.model_dump(mode="json", by_alias=True), indent=2, ensure_ascii=False) + "\n"
