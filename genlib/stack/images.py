"""One image per dependency set: the runtime's image plus a component's installed packages.

    registry.yaml -> dependency_sets()   python components with requirements.txt,
                                         node components with package.json (+ package-lock.json),
                                         that name a package to install
    Dockerfile.j2 + the set's files -> tag genlib/deps:<runtime>-<hash>, built only when absent
    .genlib/images.json                  service -> tag, and the builds that failed (with their log)

The tag is a hash of everything the image is made of: the rendered Dockerfile (runtime,
images, index settings), the dependency files, and the ids of the images it starts from.
So an unchanged set is never rebuilt, in this workspace or any other (Docker keeps the
image), a code edit builds nothing (the code is bind-mounted, not in the image), and
a rebuilt base image makes new tags. A failed build is not a tool error: it is recorded
and becomes a failed result (runner), so `doit heal` can fix the dependency file.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from genlib.answer import depfiles
from genlib.config import DEPS_REPOSITORY, Settings
from genlib.defaults import defaults_dir
from genlib.errors import OutputError, WorkspaceError
from genlib.fsutil import read_json_object, write_if_changed
from genlib.workspace import Workspace

if TYPE_CHECKING:
    from genlib import logscan
    from genlib.app.iterations import Layout
    from genlib.app.registry import Registry

FORMAT = "genlib.images/1"
REPOSITORY = DEPS_REPOSITORY
TEMPLATE = "Dockerfile.j2"
CA_FILE = "genlib-ca.crt"
LABEL = "genlib.deps"
EVIDENCE_LINES = 30  # the last lines of the failed step kept (its error-like lines are kept wherever they are)
# Of the error-like lines pip and npm print, those that name the package at fault: the reason's line.
_NAMES_IT = re.compile(r"No matching|not found|ResolutionImpossible|conflict|incompatible", re.IGNORECASE)


class DepSet(NamedTuple):
    """A component's dependency files: the image of its service installs them. (A NamedTuple: cheaper than a
    dataclass to define, and a no-op `doit` defines it.)"""

    service: str
    runtime: str
    files: dict[str, tuple[str, Path]]  # name in the build context -> (layer path, the file in its iteration)

    @property
    def paths(self) -> list[str]:
        """backend/notes/requirements.txt, ...: how people and heal name them."""
        return [path for path, _ in self.files.values()]


@dataclass
class Built:
    tag: str
    files: list[str]
    bases: dict[str, str]  # image name -> the id it had when the tag was computed


@dataclass
class Failure:
    files: list[str]
    reason: str
    log: str = ""


@dataclass
class Record:
    """.genlib/images.json: what compose uses (`images`) and what heal must fix (`failed`)."""

    images: dict[str, Built] = field(default_factory=dict)
    failed: dict[str, Failure] = field(default_factory=dict)

    def to_json(self) -> str:
        data = {"format": FORMAT, **asdict(self)}
        return json.dumps(data, indent=2, sort_keys=True) + "\n"


def record_path(ws: Workspace) -> Path:
    return ws.state_dir / "images.json"


def template_path(ws: Workspace) -> Path:
    """The workspace's Dockerfile.j2, or genlib's own for a workspace made before it existed."""
    own = ws.root / TEMPLATE
    return own if own.is_file() else defaults_dir() / TEMPLATE


def load(ws: Workspace) -> Record:
    """The last record; an empty one when there is none or it is damaged (the next build rewrites it)."""
    try:
        data = read_json_object(record_path(ws), "")
    except WorkspaceError:
        return Record()
    if data is None or data.get("format") != FORMAT:
        return Record()
    try:
        return Record(
            images={name: Built(**entry) for name, entry in data.get("images", {}).items()},
            failed={name: Failure(**entry) for name, entry in data.get("failed", {}).items()},
        )
    except TypeError:
        return Record()


def tags(ws: Workspace) -> dict[str, str]:
    """Service -> the image compose runs it on, for services that have one."""
    return {service: built.tag for service, built in load(ws).images.items()}


def in_use(ws: Workspace, registry: Registry, settings: Settings) -> dict[str, str]:
    """Service -> the image compose runs it on: its dependency image when one was built, else its runtime's."""
    built = tags(ws)
    return {service: built.get(service) or settings.image_for(c.runtime) for service, c in registry.services.items()}


def planned(ws: Workspace, registry: Registry, settings: Settings) -> dict[str, str]:
    """Service -> the image a run of `registry`'s app would get now, nothing built (doit bisect: are the
    results recorded for an older iteration still current?). One Docker call, none without dependencies."""
    found = {service: settings.image_for(c.runtime) for service, c in registry.services.items()}
    sets = dependency_sets(ws, registry)
    if not sets:
        return found
    from genlib.stack import engine

    ids = engine.image_ids()
    for deps in sets:
        try:
            contents = {name: _read(source) for name, (_, source) in deps.files.items()}
        except _BuildFailed:
            found[deps.service] = ""  # unreadable: no image can match it
            continue
        bases = {name: ids.get(name, "") for name in base_images(deps.runtime, settings)}
        found[deps.service] = plan(ws, deps, settings, contents, bases)[2]
    return found


def up_to_date(ws: Workspace) -> bool:
    """doit `uptodate`: no failed build to retry, and every recorded image still here and made from
    the images it was made from (one Docker call, none when no component has dependencies)."""
    record = load(ws)
    if record.failed:
        return False
    if not record.images:
        return True
    from genlib.stack import engine

    ids = engine.image_ids()
    return all(
        built.tag in ids and all(ids.get(name) == image_id for name, image_id in built.bases.items())
        for built in record.images.values()
    )


def settings_key(settings: Settings) -> dict[str, object]:
    """The settings a build depends on (a change re-runs the images task)."""
    return {
        "images": {rt: (settings.image_for(rt), settings.build_image_for(rt)) for rt in ("python", "node")},
        "pip": [settings.pip_index_url, settings.pip_extra_index_url],
        "npm": settings.npm_registry,
        "ca_bundle": settings.ca_bundle,
    }


def declared_owners(paths: set[str], manifests: list[Layout | None]) -> dict[str, list[Any]]:
    """`layer/name` -> [runtime, has a command] of each component owning one of the dependency `paths`,
    folded from HEAD's lineage of manifests (cheap: the graph's creators run on every `doit`)."""
    declared: dict[str, list[Any]] = {}
    for manifest in filter(None, manifests):
        for gone in manifest.deletions:
            declared.pop(gone, None)
        for comp in manifest.components:
            declared[f"{comp.layer}/{comp.name}"] = [comp.runtime, bool(comp.command)]
    owners = {path.rsplit("/", 1)[0] for path in paths}
    return {key: value for key, value in sorted(declared.items()) if key in owners}


def dependency_sets(ws: Workspace, registry: Registry) -> list[DepSet]:
    """Every runnable python component with requirements.txt, node component with package.json."""
    found = []
    for service, comp in registry.services.items():
        files = {ref.path: ws.iterations_dir / ref.iteration / ref.path for ref in comp.files}
        deps = dep_set(service, comp.runtime, files)
        if deps is not None:
            found.append(deps)
    return found


def dep_set(service: str, runtime: str, files: dict[str, Path]) -> DepSet | None:
    """The dependency set of a component's files (layer path -> the file on disk); None when it installs nothing."""
    if runtime not in ("python", "node"):
        return None
    wanted = depfiles.PYTHON_FILES if runtime == "python" else depfiles.NODE_FILES
    refs = {
        path.rsplit("/", 1)[1]: (path, source)
        for path, source in files.items()
        if depfiles.is_dependency_file(path) and path.rsplit("/", 1)[1] in wanted
    }
    if wanted[0] not in refs:  # a lock file alone installs nothing
        return None
    if _installs_nothing(wanted[0], refs[wanted[0]][1]):  # a package.json holding only `scripts`
        return None
    return DepSet(service, runtime, dict(sorted(refs.items())))


def _installs_nothing(name: str, path: Path) -> bool:
    try:
        content = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False  # the build says the file cannot be read
    return depfiles.installs_nothing(name, content)


# -- building --------------------------------------------------------------------------------------


def build(ws: Workspace, registry: Registry, settings: Settings, say: Callable[[str], None] = print) -> Record:
    """Build the images that are missing; record every set's tag or why it failed. Never raises for
    a set's own fault (a bad dependency file, a failed install): that is a `failed` entry."""
    from genlib.stack import engine

    previous = load(ws)
    sets = dependency_sets(ws, registry)
    ids = engine.image_ids() if sets else {}  # no Docker call for an app without dependencies
    record = Record()
    for deps in sets:
        try:
            record.images[deps.service] = _image_for(ws, deps, settings, ids, say)
        except _BuildFailed as exc:
            record.failed[deps.service] = Failure(deps.paths, exc.reason, exc.log)
            say(f"   {deps.service}: FAILED: {exc.reason}")
            kept = previous.images.get(deps.service)
            if kept is not None and kept.tag in ids:  # the stack keeps the last image that built
                record.images[deps.service] = kept
    text = record.to_json()
    path = record_path(ws)
    write_if_changed(path, text)
    return record


class _BuildFailed(Exception):
    def __init__(self, reason: str, log: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.log = log


def _image_for(
    ws: Workspace, deps: DepSet, settings: Settings, ids: dict[str, str], say: Callable[[str], None]
) -> Built:
    from genlib.stack import build, engine

    contents = {name: _read(source) for name, (_, source) in deps.files.items()}
    for name, (path, _) in deps.files.items():
        try:  # a person's edit is checked as a model's answer is
            depfiles.check(path, contents[name].decode("utf-8", errors="replace"))
        except OutputError as exc:
            raise _BuildFailed(str(exc)) from exc
    bases = {name: ids.get(name) or engine.ensure_image(name) for name in base_images(deps.runtime, settings)}
    ca = settings.ca_bundle_path()
    dockerfile, args, tag = plan(ws, deps, settings, contents, bases)
    used(ws, tag)
    if tag not in ids:
        say(f"   {deps.service}: building {tag} from {', '.join(deps.paths)}")
        context = {"Dockerfile": dockerfile.encode(), **contents}
        if ca is not None:
            context[CA_FILE] = ca.read_bytes()
        labels = {LABEL: "1", f"{LABEL}.runtime": deps.runtime}
        outcome = build.build_image(context, tag, labels, settings.build_timeout, _indented(say), args)
        if not outcome.ok:
            found = scan_build(outcome.log, outcome.error)
            raise _BuildFailed(_reason(deps, outcome.error, found), found.digest("of the failed build step"))
        ids[tag] = outcome.image_id
    return Built(tag, deps.paths, bases)


def base_images(runtime: str, settings: Settings) -> list[str]:
    """The images a set's image is made from: the runtime's, and the build stage's."""
    return list(dict.fromkeys([settings.image_for(runtime), settings.build_image_for(runtime)]))


def plan(
    ws: Workspace, deps: DepSet, settings: Settings, contents: dict[str, bytes], bases: dict[str, str]
) -> tuple[str, dict[str, str], str]:
    """The rendered Dockerfile, its build arguments and the tag they make (nothing is built)."""
    dockerfile = render_dockerfile(ws, deps, settings, with_ca=settings.ca_bundle_path() is not None)
    args = build_args(deps.runtime, settings)
    tag = image_tag(deps.runtime, dockerfile, {**contents, **{f"arg:{k}": v.encode() for k, v in args.items()}}, bases)
    return dockerfile, args, tag


def used_path(ws: Workspace) -> Path:
    return ws.state_dir / "images-used.json"


def used_tags(ws: Workspace) -> list[str]:
    """Every tag this workspace has run on or built (what `doit prune` may consider removing)."""
    try:
        data = read_json_object(used_path(ws), "")
    except WorkspaceError:
        return []
    found = data.get("tags") if data else None
    return [str(tag) for tag in found] if isinstance(found, list) else []


def used(ws: Workspace, *tags: str, keep: list[str] | None = None) -> None:
    """Add `tags` to .genlib/images-used.json (`keep`: replace the list). Not a file any task depends on."""
    known = used_tags(ws) if keep is None else keep
    write_if_changed(used_path(ws), json.dumps({"tags": sorted({*known, *tags})}, indent=2) + "\n")


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise _BuildFailed(f"{path} cannot be read ({exc.strerror}); run `doit` to materialize it again") from exc


def render_dockerfile(ws: Workspace, deps: DepSet, settings: Settings, with_ca: bool) -> str:
    from genlib import templating

    template = template_path(ws)
    context = {
        "runtime": deps.runtime,
        "base_image": settings.image_for(deps.runtime),
        "build_image": settings.build_image_for(deps.runtime),
        "files": list(deps.files),
        "ca_bundle": with_ca,
        "pip": {"index_url": settings.pip_index_url, "extra_index_url": settings.pip_extra_index_url},
        "npm": {"registry": settings.npm_registry},
    }
    return templating.render([str(template.parent)], template.name, context)


def build_args(runtime: str, settings: Settings) -> dict[str, str]:
    """The index settings, passed as build arguments (only those set: pip reads an empty one as no index)."""
    if runtime == "python":
        named = {"PIP_INDEX_URL": settings.pip_index_url, "PIP_EXTRA_INDEX_URL": settings.pip_extra_index_url}
    else:
        named = {"npm_config_registry": settings.npm_registry}
    return {name: value for name, value in named.items() if value}


def image_tag(runtime: str, dockerfile: str, contents: dict[str, bytes], bases: dict[str, str]) -> str:
    """genlib/deps:<runtime>-<16 hex>: the same inputs give the same tag on every machine and workspace."""
    digest = hashlib.sha256(dockerfile.encode())
    for name, data in sorted(contents.items()):
        digest.update(f"\0{name}\0{len(data)}\0".encode() + data)
    for name, image_id in sorted(bases.items()):
        digest.update(f"\0{name}={image_id}".encode())
    return f"{REPOSITORY}:{runtime}-{digest.hexdigest()[:16]}"


def _reason(deps: DepSet, error: str, found: logscan.LogScan) -> str:
    """What failed, in a line: the error line naming the package (pip's `No matching distribution found for
    x==9`, npm's `404 Not Found - GET .../x`), else the first error-like one, else Docker's own."""
    entries = [entry.text.splitlines()[0] for entry in found.errors.values()]
    line = next((e for e in entries if _NAMES_IT.search(e)), entries[0] if entries else "")
    last = line or (error.strip().splitlines()[-1] if error.strip() else "the build failed")
    return f"installing {', '.join(deps.paths)} failed: {last[:300]}"


def scan_build(log: list[str], error: str, tail: int = EVIDENCE_LINES) -> logscan.LogScan:
    """The failed step's output (from its `Step N/M` line) scanned as a service's log is (genlib.logscan):
    colours stripped, every error-like line kept whole wherever it is, the first and the last lines; Docker's
    error last."""
    from genlib import logscan  # only a failed build reads its log: not on a no-op `doit`'s path

    steps = [i for i, line in enumerate(log) if line.startswith("Step ")]
    step = log[steps[-1] if steps else 0 :]
    lines = (logscan.strip_ansi(line).rstrip() for line in [*step, error])
    return logscan.scan((("", line) for line in lines if line.strip()), tail=tail)


def _indented(say: Callable[[str], None]) -> Callable[[str], None]:
    def show(line: str) -> None:
        say(f"      {line.rstrip()}")

    return show
