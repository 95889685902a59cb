"""Every rule a model's answer must pass, for gen and heal alike, checked on the app it would produce.

    text        every string can be carried by a file, YAML and a prompt: no lone surrogates, no NUL or
                other control characters, each within `max_text_chars`
    files       `<layer>/<component>/<file>` of ASCII segments, each written once, at most `max_files`;
                each file's content by genlib.answer.file_rules (text, dependency files, empty only where
                no command runs it, syntax, not shortened): the same rules whether the file came in a whole
                answer or alone in steps (check_one_file)
    components  declared once, within `max_components`; a `shell` one never runs; health is a plain path
    the app     the current app with the answer applied (deletions included): every written file belongs
                to a component, every depends_on names one service, and no depends_on cycle
    scenarios   the answer's name services of that app; a person's scenario is never changed, and its
                service is never removed or stopped
    compose     the app's docker-compose.yml renders through the workspace's template (a failure there
                is the template's, a TemplateError, not the model's)
    a patch     deletes only files that exist, and changes something

The rules read plain data (`Baseline`, `Limits`, a render function), never gen's or heal's objects. A
broken rule raises OutputError (PatchRejected for a heal patch); its message goes back to the model.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from genlib.answer import depfiles, file_rules
from genlib.answer.file_rules import SURROGATE, SyntaxCheck
from genlib.config import Settings
from genlib.documents.llm_output import COMPONENT_PATTERN, DATA_RUNTIMES, Answer, ComponentSpec, FileSpec
from genlib.documents.scenarios import TestFile
from genlib.errors import OutputError, PatchRejected
from genlib.workspace import LAYERS

SEGMENT_CHARS = 100
_SEGMENT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]*$")  # ASCII only: no look-alikes
_MAX_DEPTH = 8
PATH_CHARS = _MAX_DEPTH * (SEGMENT_CHARS + 1) - 1  # the longest path check_path lets through
HEALTH_CHARS = 200
MAX_SCENARIOS = 50  # scenarios one answer adds or changes
MAX_INTERFACES = 100  # routes, variables and messages one plan names (genlib.model.stepgen)
MAX_COMMAND_ARGS = 64  # a component's command, as an exec scenario's (genlib.documents.scenarios)
_HEALTH = re.compile(rf"^/[A-Za-z0-9._~/?=&%+-]{{0,{HEALTH_CHARS - 1}}}$")  # inside a healthcheck's script: no quotes
# What YAML (so Compose) carries unchanged, as PyYAML defines it: no C0/C1 controls (U+0085 folds to a
# space), no lone surrogates, no U+FFFE/FFFF. Any string of an answer may reach docker-compose.yml.
_NOT_YAML_TEXT = re.compile("[^\t\n\r\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass(frozen=True)
class Limits:
    max_file_bytes: int = 256 * 1024
    max_files: int = 200
    max_components: int = 30
    max_text_chars: int = 4000

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        return cls(settings.max_file_bytes, settings.max_files, settings.max_components, settings.max_text_chars)


Key = tuple[str, str]  # (layer, name)


@dataclass(frozen=True)
class Baseline:
    """The app an answer lands on: its components, its files (path -> content) and test.yaml."""

    components: dict[Key, ComponentSpec] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    tests: TestFile = field(default_factory=TestFile)
    applied: dict[str, str] = field(default_factory=dict)  # migration path -> sha256 of what the database ran


@dataclass(frozen=True)
class App:
    """The app an answer would produce."""

    components: dict[Key, ComponentSpec]
    files: set[str]

    @property
    def services(self) -> set[str]:
        return {c.service for c in self.components.values() if c.runnable}


Render = Callable[[App], None]  # renders the app's docker-compose.yml in memory; raises TemplateError


def check(
    answer: Answer,
    current: Baseline,
    limits: Limits,
    *,
    patch: bool = False,
    render: Render | None = None,
    planned: bool = False,
    syntax: SyntaxCheck | None = None,
) -> App:
    """Apply every rule; return the app the answer produces. Raises OutputError (PatchRejected for a patch).

    `planned`: the plan of a gen in steps, its files' content still to come: each file's content rules
    (check_one_file) wait for it. `syntax`: the files' syntax is checked too."""
    try:
        app = _check(answer, current, limits, patch, planned, syntax)
    except OutputError as exc:
        raise (PatchRejected if patch else OutputError)(f"{'patch' if patch else 'answer'}: {exc}") from exc
    if render is not None:
        render(app)
    return app


def _check(
    answer: Answer, current: Baseline, limits: Limits, patch: bool, planned: bool, syntax: SyntaxCheck | None
) -> App:
    if not patch and not answer.files and not answer.deletions:
        raise OutputError("the answer holds no files; write the files of every new or changed component")
    check_text(answer, limits)
    check_files(answer, limits, contents=not planned)  # every file's text first: the cheapest reasons
    app = apply(answer, current)
    for spec in [] if planned else answer.files:
        check_one_file(spec, current, limits, app, syntax, patch=patch)
    check_components(answer.components, answer.files, limits)
    check_commands(answer.components, app)
    if patch:
        check_patch(answer, current)
    check_migrations(answer, current)
    check_scenarios(answer, current, app)  # first: a person's scenario is the reason that matters most
    check_app(answer, app, limits)
    return app


# -- text ------------------------------------------------------------------------------------------


def check_text(answer: Answer, limits: Limits) -> None:
    """Every string but file contents (checked per file): text, within the cap, named by its field."""
    data = answer.model_dump(mode="python", by_alias=True, exclude={"files"})
    for where, text in _strings(data, ""):
        if SURROGATE.search(text):
            raise OutputError(f"field {where}: holds a lone surrogate (\\ud800-\\udfff), which is not text")
        bad = _NOT_YAML_TEXT.search(text)
        if bad:
            raise OutputError(f"field {where}: holds the control character U+{ord(bad.group()):04X}; use plain text")
        if len(text) > limits.max_text_chars:
            raise OutputError(
                f"field {where}: {len(text)} characters, over the limit of {limits.max_text_chars} "
                "(setting max_text_chars); keep it short"
            )


def _strings(node: Any, where: str) -> Iterator[tuple[str, str]]:
    if isinstance(node, str):
        yield where or "(answer)", node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(str(key), f"{where}.{key} (key)".lstrip("."))
            yield from _strings(value, f"{where}.{key}".lstrip("."))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _strings(item, f"{where}[{index}]")


# -- files -----------------------------------------------------------------------------------------


def check_path(path: str) -> str:
    """Raise OutputError unless `path` is a safe `<layer>/<component>/<file>` path."""
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
    long = next((p for p in parts if len(p) > SEGMENT_CHARS), None)
    if long is not None:
        raise OutputError(f"file path {path[:80]!r}…: a segment is {len(long)} characters, over {SEGMENT_CHARS}")
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


def check_files(answer: Answer, limits: Limits, *, contents: bool = True) -> None:
    """The paths and contents (unless `contents` is False) an answer writes or deletes, on their own."""
    if len(answer.files) > limits.max_files:
        raise OutputError(f"{len(answer.files)} files, over the limit of {limits.max_files} (setting max_files)")
    seen: set[str] = set()
    for spec in answer.files:
        check_path(spec.path)
        if spec.path.lower() in seen:  # one file on a case-insensitive disk
            raise OutputError(f"file path {spec.path!r} appears twice (letter case aside)")
        seen.add(spec.path.lower())
        if contents:
            file_rules.check_content(spec.path, spec.content, limits.max_file_bytes)
            depfiles.check_answer_file(spec.path, spec.content)  # requirements.txt, package.json: what it installs
    for path in answer.deletions:
        check_path(path) if path.count("/") >= 2 else _check_component_dir(path)
        if path.lower() in seen:
            raise OutputError(f"file path {path!r} is both written and deleted")


def check_one_file(
    spec: FileSpec,
    current: Baseline,
    limits: Limits,
    app: App,
    syntax: SyntaxCheck | None = None,
    *,
    patch: bool = False,
    made_from: str | None = None,
) -> None:
    """The rules one file's content must pass, in a whole answer and alone as it arrives in steps alike:
    genlib.answer.file_rules (`app`: whose command may run it; a patch's file against its content now, a new
    file against the starter it was `made_from`), and a migration its database ran stays as it is."""
    before = current.files.get(spec.path) if patch else None
    runs = app.components.values()
    file_rules.check_file(spec.path, spec.content, limits.max_file_bytes, runs, syntax, before, app.files, made_from)
    check_migrations(Answer(files=[spec]), current)


def _check_component_dir(path: str) -> None:
    """A deletion may name a whole component: `<layer>/<component>`."""
    parts = path.split("/")
    if len(parts) != 2 or parts[0] not in LAYERS or not re.match(COMPONENT_PATTERN, parts[1]):
        raise OutputError(f"deletion {path!r} must be a file path or <layer>/<component>")


def check_stored(answer: Answer, known: set[Key], limits: Limits) -> None:
    """The rules materialize applies again to an llm_output.json on disk (a person may have edited it):
    the files, the components, and every file belonging to a component declared by it or before it."""
    check_files(answer, limits)
    check_components(answer.components, answer.files, limits)
    declared = {(c.layer, c.name) for c in answer.components} | known
    for spec in answer.files:
        layer, component = spec.path.split("/")[:2]
        if (layer, component) not in declared:
            raise OutputError(f"file {spec.path!r} belongs to no declared component {layer}/{component}")


# -- components and the app they make --------------------------------------------------------------


def check_components(components: list[ComponentSpec], files: list[FileSpec], limits: Limits) -> None:
    names: set[Key] = set()
    for comp in components:
        where = f"component {comp.layer}/{comp.name}"
        if len(comp.command or []) > MAX_COMMAND_ARGS:
            raise OutputError(f"{where}: its command has {len(comp.command or [])} arguments, over {MAX_COMMAND_ARGS}")
        if len(comp.depends_on) > limits.max_components:
            raise OutputError(f"{where}: depends_on names {len(comp.depends_on)}, over max_components")
        if comp.runtime == "shell" and comp.command:
            raise OutputError(
                f"{where}: runtime shell is an artifact that genlib keeps but never runs; "
                "drop its command, or make it a python or node component"
            )
        if comp.health is not None and not _HEALTH.match(comp.health):
            raise OutputError(f"{where}, field health: {comp.health[:60]!r} must be a plain URL path such as /health")
        if (comp.layer, comp.name) in names:
            raise OutputError(f"{where} is declared twice")
        names.add((comp.layer, comp.name))
        _check_data_component(comp, files)


def check_commands(components: list[ComponentSpec], app: App) -> None:
    """A command runs a script the component has (the 0.5B planned `node server.js` and wrote app.js: the
    container would exit at start, and no starter fits a file the command does not run)."""
    for comp in components:
        folder = f"{comp.layer}/{comp.name}/"
        for script in file_rules.scripts(comp.command) if comp.runnable else []:
            if folder + script in app.files:
                continue
            same_kind = sorted(p for p in app.files if p.startswith(folder) and p.endswith(Path(script).suffix))
            has = f" (it has {', '.join(same_kind[:3])})" if same_kind else ""
            raise OutputError(
                f"component {comp.layer}/{comp.name} runs `{' '.join(comp.command or [])}`, but there is no "
                f"{folder}{script}{has}: make its command run the file it has, or add that file"
            )


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


def apply(answer: Answer, current: Baseline) -> App:
    """The components and file paths once the answer is applied (deletions first, as the registry does)."""
    components = dict(current.components)
    files = set(current.files)
    for gone in answer.deletions:
        files = {p for p in files if p != gone and not p.startswith(gone + "/")}
        if gone.count("/") == 1:
            layer, name = gone.split("/")
            components.pop((layer, name), None)
    components.update({(c.layer, c.name): c for c in answer.components})
    files.update(f.path for f in answer.files)
    return App(components, files)


def check_app(answer: Answer, app: App, limits: Limits) -> None:
    if len(app.components) > limits.max_components:
        raise OutputError(
            f"the app would have {len(app.components)} components, over the limit of {limits.max_components} "
            "(setting max_components); merge some"
        )
    for spec in answer.files:
        layer, component = spec.path.split("/")[:2]
        if (layer, component) not in app.components:
            raise OutputError(f"file {spec.path!r} belongs to no declared component {layer}/{component}")
    check_dependencies(app)


def resolve(spec: ComponentSpec, services: set[str]) -> list[str]:
    """depends_on may name a service (`users-api`) or a component (`users`); the services, sorted."""
    resolved = []
    for dep in spec.depends_on:
        matches = [dep] if dep in services else [s for s in services if s.rsplit("-", 1)[0] == dep]
        if len(matches) != 1:
            what = "is ambiguous" if matches else "names no runnable component"
            known = ", ".join(sorted(services)) or "none"
            raise OutputError(f"component {spec.layer}/{spec.name}: depends_on {dep!r} {what} (services: {known})")
        if matches[0] != spec.service:
            resolved.append(matches[0])
    return sorted(set(resolved))


def check_dependencies(app: App) -> None:
    """Every depends_on resolves, and none loops back (Compose refuses a cycle only when starting)."""
    services = app.services
    graph = {c.service: resolve(c, services) for c in app.components.values() if c.runnable}
    done: set[str] = set()
    for service in sorted(graph):
        cycle = _cycle_from(service, graph, [], done)
        if cycle:
            raise OutputError(f"depends_on makes a cycle: {' -> '.join(cycle)}; a service may not wait on itself")


def _cycle_from(service: str, graph: dict[str, list[str]], path: list[str], done: set[str]) -> list[str]:
    """Depth first; `done` holds the services no cycle is reachable from, so each is walked once (without it,
    30 services each depending on every earlier one took 2^30 walks: a hang, issue 11 class 3)."""
    if service in path:
        return [*path[path.index(service) :], service]
    if service in done:
        return []
    for dep in graph.get(service, []):
        found = _cycle_from(dep, graph, [*path, service], done)
        if found:
            return found
    done.add(service)
    return []


# -- scenarios -------------------------------------------------------------------------------------


def check_scenarios(answer: Answer, current: Baseline, app: App) -> None:
    """The answer's scenarios test services of the app; a person's scenario keeps the service it tests."""
    if len(answer.scenarios) > MAX_SCENARIOS:
        raise OutputError(
            f"{len(answer.scenarios)} scenarios, over the limit of {MAX_SCENARIOS}; keep those that show the app works"
        )
    services = app.services
    for scenario in answer.scenarios:
        if scenario.service not in services:
            raise OutputError(
                f"scenario {scenario.name!r} names service {scenario.service!r}, which the app would not have "
                f"(services: {', '.join(sorted(services)) or 'none'}; a service is <component>-<layer>)"
            )
        if scenario.kind in ("http", "page") and scenario.service in _portless(app):
            raise OutputError(
                f"scenario {scenario.name!r} is {scenario.kind} on {scenario.service!r}, which listens on no port "
                "(a worker or a data service): test it with a `logs` scenario (a line it prints) instead"
            )
    before = App(current.components, set(current.files)).services
    for person in (s for s in current.tests.scenarios if s.origin == "user"):
        if person.service in before and person.service not in services:
            raise OutputError(
                f"the answer removes or stops service {person.service!r}, which scenario {person.name!r} "
                "(written by a person) tests; keep that component running"
            )


def _portless(app: App) -> set[str]:
    """Services no request can reach: a program without a port (a worker), a data service."""
    return {
        c.service
        for c in app.components.values()
        if c.runnable and (c.runtime in DATA_RUNTIMES or (c.runtime in ("python", "node") and not c.port))
    }


# -- heal patches ----------------------------------------------------------------------------------


def check_migrations(answer: Answer, current: Baseline) -> None:
    """A migration a database already ran is history: a change must come as the next numbered file."""
    for spec in answer.files:
        done = current.applied.get(spec.path)
        if done is not None and done != hashlib.sha256(spec.content.encode()).hexdigest():
            raise OutputError(
                f"{spec.path} is a migration already applied to its database; never change an applied "
                "migration: add a new file with the next number (e.g. ALTER TABLE or CREATE TABLE in it)"
            )


def check_patch(answer: Answer, current: Baseline) -> None:
    """A person's scenario is out of bounds; deletions name existing files; something changes."""
    protected = {s.name for s in current.tests.scenarios if s.origin == "user"}
    for scenario in answer.scenarios:
        if scenario.name in protected:
            raise OutputError(
                f"scenario {scenario.name!r} was written by a person (origin user) and may not be changed; "
                "fix the app so it passes instead"
            )
        if "origin" in scenario.model_fields_set and scenario.origin == "user":
            raise OutputError(f"scenario {scenario.name!r} claims origin user; a patch may only add origin model")
    for gone in answer.deletions:
        if not any(path == gone or path.startswith(gone + "/") for path in current.files):
            raise OutputError(f"deletion {gone!r} names no current file; delete only files listed in the app")
    changes = [f for f in answer.files if current.files.get(f.path) != f.content]
    if not changes and not answer.deletions and not answer.scenarios and not answer.components:
        raise OutputError("patch changes nothing: every file has the content it already has; fix the failure")
