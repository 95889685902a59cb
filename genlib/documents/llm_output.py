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
from genlib.workspace import LAYERS, service_name

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


def paths_under_their_layer(data: Any) -> Any:
    """A planned file whose path does not begin with a layer, but names exactly one planned component, goes
    under that component's layer: `db/001_schema.sql` is backend/db's, `front/home/index.html` frontend/home's
    (small models drop or clip the layer). Anything else is left for the rules to refuse."""
    if not isinstance(data, dict) or not isinstance(data.get("files"), list):
        return data
    layers: dict[str, list[str]] = {}
    for comp in data.get("components") or []:
        if isinstance(comp, dict) and isinstance(comp.get("name"), str) and isinstance(comp.get("layer"), str):
            layers.setdefault(comp["name"], []).append(comp["layer"])
    files = [_under_its_layer(f, layers) for f in data["files"]]
    return {**data, "files": files}


def _under_its_layer(spec: Any, layers: dict[str, list[str]]) -> Any:
    path = spec.get("path") if isinstance(spec, dict) else None
    if not isinstance(path, str) or path.split("/")[0] in LAYERS:
        return spec
    parts = path.split("/")
    for rest in (parts, parts[1:]):  # `db/...`: the component first; `front/home/...`: the component second
        found = layers.get(rest[0], []) if len(rest) > 1 else []
        if len(found) == 1:
            return {**spec, "path": "/".join([found[0], *rest])}
    return spec


def single_service_meant(data: Any) -> Any:
    """In an app with one service a request can reach, a scenario naming a service the app does not have
    (`worker-tickers` for ticker-workers) means that one."""
    if not isinstance(data, dict) or not isinstance(data.get("scenarios"), list):
        return data
    services = [
        service_name(c["name"], c["layer"])
        for c in data.get("components") or []
        if isinstance(c, dict) and isinstance(c.get("name"), str) and isinstance(c.get("layer"), str)
        and c.get("runtime") not in ("postgres", "redis")
    ]  # fmt: skip
    if len(services) != 1:
        return data
    scenarios = [
        {**s, "service": services[0]} if isinstance(s, dict) and isinstance(s.get("service"), str)
        and s["service"] not in services else s
        for s in data["scenarios"]
    ]  # fmt: skip
    return {**data, "scenarios": scenarios}


def components_named_by_their_files(data: Any) -> Any:
    """A component named after its layer (`notes-api` in api) whose files the answer puts under the name
    without it (`api/notes/...`) is that component: `notes`, whose service is the `notes-api` its scenarios
    name. Small models mix the component, its folder and its service up so; nothing is renamed while a file
    sits under the name as written, and depends_on follows the rename."""
    if not isinstance(data, dict) or not isinstance(data.get("components"), list):
        return data
    paths = [str(f["path"]) for f in data.get("files") or [] if isinstance(f, dict) and isinstance(f.get("path"), str)]
    renamed: dict[str, str] = {}
    for comp in data["components"]:
        name, layer = (comp.get("name"), comp.get("layer")) if isinstance(comp, dict) else (None, None)
        if not (isinstance(name, str) and isinstance(layer, str) and name.endswith(f"-{layer}")):
            continue
        short = name.removesuffix(f"-{layer}")
        under = [p for p in paths if p.startswith(f"{layer}/{name}/")]
        if not under and any(p.startswith(f"{layer}/{short}/") for p in paths):
            renamed[name] = short
    if not renamed:
        return data
    components = [_renamed(comp, renamed) for comp in data["components"]]
    return {**data, "components": components}


def commands_run_their_files(data: Any) -> Any:
    """A command naming a script the component does not plan (`node server.js` beside api/time/app.js) runs the
    one script of that kind the component plans instead: small models name the example's file in the command
    and their own in the files. Two candidates, or none, are left for the rules to refuse."""
    if not isinstance(data, dict) or not isinstance(data.get("components"), list):
        return data
    paths = [str(f["path"]) for f in data.get("files") or [] if isinstance(f, dict) and isinstance(f.get("path"), str)]
    return {**data, "components": [_running_its_file(comp, paths) for comp in data["components"]]}


def _running_its_file(comp: Any, paths: list[str]) -> Any:
    if not isinstance(comp, dict) or not isinstance(comp.get("command"), list):
        return comp
    folder = f"{comp.get('layer')}/{comp.get('name')}/"
    mine = [p.removeprefix(folder) for p in paths if p.startswith(folder)]
    command = []
    for arg in comp["command"]:
        if isinstance(arg, str) and arg.endswith(SCRIPT_SUFFIXES) and arg.removeprefix("./") not in mine:
            same_kind = [rel for rel in mine if rel.endswith(Path(arg).suffix)]
            arg = same_kind[0] if len(same_kind) == 1 else arg
        command.append(arg)
    return {**comp, "command": command}


def _renamed(comp: Any, renamed: dict[str, str]) -> Any:
    if not isinstance(comp, dict):
        return comp
    name, depends = comp.get("name"), comp.get("depends_on")
    comp = {**comp, "name": renamed.get(name, name)} if isinstance(name, str) else comp
    return {**comp, "depends_on": [renamed.get(d, d) for d in depends]} if isinstance(depends, list) else comp


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
