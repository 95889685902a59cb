"""llm_output.json, format `genlib.llm_output/1` (documented in docs/llm_output.md).

It keeps everything the model said for one iteration: the request, every raw
attempt (rejected ones too), the accepted raw answer, the parsed `answer` and
Ollama's token and timing figures. The answer is untrusted input: `check_answer`
enforces the path and content rules before a single file is written.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Final, Literal

from pydantic import Field, ValidationError

from genlib import depfiles
from genlib.errors import OutputError
from genlib.scenarios import Scenario
from genlib.strict import Strict, describe_validation_error
from genlib.workspace import LAYERS

FORMAT: Final = "genlib.llm_output/1"
Layer = Literal["frontend", "backend", "workers", "api", "deployment"]
Runtime = Literal["python", "node", "static", "shell", "postgres", "redis"]
DATA_RUNTIMES: Final = ("postgres", "redis")  # genlib.dataservices runs them
COMPONENT_PATTERN = r"^[a-z][a-z0-9-]{0,30}$"
_SEGMENT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,99}$")  # ASCII only: no look-alikes
_MAX_DEPTH = 8
_CONTROL = {chr(c) for c in range(32)} - {"\t", "\n", "\r"}


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
    health: str | None = Field(default=None, pattern=r"^/")
    depends_on: list[str] = Field(default_factory=list)

    @property
    def service(self) -> str:
        return f"{self.name}-{self.layer}"

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


class Attempt(Strict):
    raw: str
    error: str | None = None  # why it was rejected; None for the accepted one


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


class LLMOutput(Strict):
    format: Literal["genlib.llm_output/1"]
    kind: Literal["gen", "patch"]
    description: str
    created: str = ""
    request: Request = Field(default_factory=Request)
    attempts: list[Attempt] = Field(default_factory=list)
    raw: str = ""
    answer: Answer
    stats: Stats = Field(default_factory=Stats)


# Scenario fields genlib sets itself: the model is not offered them (a scenario it
# proposes is always origin: model, and a patch claiming `user` is rejected anyway).
_GENLIB_OWNED = ("origin", "iteration")


def answer_schema() -> dict[str, Any]:
    """The JSON schema sent to Ollama as `format`."""
    schema = Answer.model_json_schema()
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
    if isinstance(data, dict) and data.get("format") != FORMAT:
        raise OutputError(f"{path}: field format: unknown version {data.get('format')!r}; this genlib reads {FORMAT}")
    try:
        output = LLMOutput.model_validate(data)
    except ValidationError as exc:
        raise OutputError(f"{path}: {describe_validation_error(exc, 1)}") from exc
    check_answer(output.answer, where=str(path))
    return output


def dump_output(output: LLMOutput) -> str:
    return json.dumps(output.model_dump(mode="json", by_alias=True), indent=2, ensure_ascii=False) + "\n"


def check_path(path: str) -> str:
    """Raise OutputError unless `path` is a safe `<layer>/<component>/<file>` path; return why-not as message."""
    if not path:
        raise OutputError("file path is empty")
    if "\x00" in path:
        raise OutputError(f"file path {path!r} contains a NUL byte")
    if "\\" in path:
        raise OutputError(f"file path {path!r} uses a backslash; use '/'")
    if path.startswith(("/", "~")):
        raise OutputError(f"file path {path!r} is absolute; paths are relative to the iteration")
    parts = path.split("/")
    if any(p in ("", ".", "..") for p in parts):
        raise OutputError(f"file path {path!r} has an empty, '.' or '..' segment")
    bad = next((p for p in parts if not _SEGMENT.match(p)), None)
    if bad is not None:
        raise OutputError(f"file path {path!r}: segment {bad!r} may only use ASCII letters, digits, '.', '_', '-'")
    if parts[0] not in LAYERS:
        raise OutputError(f"file path {path!r}: unknown layer {parts[0]!r} (layers: {', '.join(LAYERS)})")
    if len(parts) < 3:
        raise OutputError(f"file path {path!r}: must be <layer>/<component>/<file>")
    if len(parts) > _MAX_DEPTH:
        raise OutputError(f"file path {path!r} is nested deeper than {_MAX_DEPTH} levels")
    return path


def check_content(path: str, content: str, max_bytes: int) -> None:
    size = len(content.encode("utf-8"))
    if size > max_bytes:
        raise OutputError(f"file {path!r} is {size} bytes, over the limit of {max_bytes} (setting max_file_bytes)")
    if any(ch in _CONTROL for ch in content):
        raise OutputError(f"file {path!r} looks binary (control characters); only text files are accepted")


def check_answer(
    answer: Answer,
    *,
    where: str = "answer",
    max_file_bytes: int = 256 * 1024,
    max_files: int = 200,
    known_components: set[tuple[str, str]] | None = None,
) -> None:
    """The safety rules for an answer, in one place (used on load and before writing).

    With `known_components` (those declared by earlier iterations) every file must
    also belong to a declared component; without it that check is skipped.
    """
    try:
        _check_answer(answer, max_file_bytes, max_files, known_components)
    except OutputError as exc:
        raise OutputError(f"{where}: {exc}") from exc


def _check_answer(answer: Answer, max_bytes: int, max_files: int, known: set[tuple[str, str]] | None) -> None:
    if len(answer.files) > max_files:
        raise OutputError(f"{len(answer.files)} files, over the limit of {max_files} (setting max_files)")
    seen: set[str] = set()
    for spec in answer.files:
        check_path(spec.path)
        if spec.path.lower() in seen:
            raise OutputError(f"file path {spec.path!r} appears twice")
        seen.add(spec.path.lower())
        check_content(spec.path, spec.content, max_bytes)
        depfiles.check(spec.path, spec.content)
    for path in answer.deletions:
        check_path(path) if path.count("/") >= 2 else _check_component_dir(path)
        if path.lower() in seen:
            raise OutputError(f"file path {path!r} is both written and deleted")
    names: set[tuple[str, str]] = set()
    for comp in answer.components:
        if comp.runtime == "shell" and comp.command:
            raise OutputError(
                f"component {comp.layer}/{comp.name}: runtime shell is an artifact that genlib keeps but never runs; "
                "drop its command, or make it a python or node component"
            )
        if (comp.layer, comp.name) in names:
            raise OutputError(f"component {comp.layer}/{comp.name} is declared twice")
        names.add((comp.layer, comp.name))
        _check_data_component(comp, answer.files)
    if known is None:
        return
    declared = names | known
    for spec in answer.files:
        layer, component = spec.path.split("/")[:2]
        if (layer, component) not in declared:
            raise OutputError(f"file {spec.path!r} belongs to no declared component {layer}/{component}")


def _check_data_component(comp: ComponentSpec, files: list[FileSpec]) -> None:
    """A data service holds no program: no command, no port of its own; postgres may hold `.sql` migrations."""
    if comp.runtime not in DATA_RUNTIMES:
        return
    where = f"component {comp.layer}/{comp.name} (runtime {comp.runtime})"
    if comp.command or comp.port or comp.health or comp.depends_on:
        raise OutputError(
            f"{where} is run by genlib from its image: give it no command, port, health or depends_on; "
            "list it in the depends_on of the components that use it"
        )
    prefix = f"{comp.layer}/{comp.name}/"
    for spec in files:
        if spec.path.startswith(prefix) and (comp.runtime == "redis" or not spec.path.endswith(".sql")):
            allowed = "no files" if comp.runtime == "redis" else "only .sql migrations (001_schema.sql, ...)"
            raise OutputError(f"file {spec.path!r}: {where} holds {allowed}")


def _check_component_dir(path: str) -> None:
    """A deletion may name a whole component: `<layer>/<component>`."""
    parts = path.split("/")
    if len(parts) != 2 or parts[0] not in LAYERS or not re.match(COMPONENT_PATTERN, parts[1]):
        raise OutputError(f"deletion {path!r} must be a file path or <layer>/<component>")
