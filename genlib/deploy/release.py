"""`doit release [push=1] [force=1]`: HEAD as images that run anywhere, no bind mounts.

    program component  FROM its dependency image (genlib/deps:..., already built by `images`) or the
                       runtime's image, + its files at /app, its command       -> <project>/<service>
    postgres with .sql FROM the database's image (psql), + the files and genlib's migrate.sh: a one-shot
                       job that applies what the database has not applied yet -> <project>/<service>-migrate
    tag                <iteration>-<12 hex of the Dockerfile, the files and the base image's id>
    labels             genlib.iteration, genlib.registry_sha256, genlib.version
    .genlib/release.json   what was released, read by `doit deploy`

Migrations run as a job rather than from inside the database's image: the database image stays the one
`doit` runs (official or genlib's offline one), a failed migration is a failed job with psql's message, not
a database that will not start, and the job keeps genlib's ledger (the genlib_migrations table) as `doit up` does,
so a database migrated by either stays consistent. Data services keep their images.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import genlib
from genlib.app.dataservices import is_data
from genlib.app.iterations import head
from genlib.app.registry import Entry, Registry
from genlib.config import Settings
from genlib.defaults import defaults_dir
from genlib.documents import results
from genlib.errors import DeployError, WorkspaceError
from genlib.fsutil import atomic_write_text, read_json_object, sha256_bytes, sha256_file
from genlib.stack import images, migrations
from genlib.workspace import Workspace

FORMAT = "genlib.release/1"
TEMPLATE = "deploy/Dockerfile.j2"
MIGRATE_SCRIPT = Path(__file__).with_name("migrate.sh")
MIGRATE = "-migrate"  # <database>-migrate: the image (and job) applying its migrations
LABEL = "genlib.release"  # every released image carries it (value: the workspace's project)
_TAG_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


@dataclass
class Release:
    """.genlib/release.json: the images of one release, by service."""

    iteration: str
    registry_sha256: str
    images: dict[str, str] = field(default_factory=dict)  # program service -> image
    migrations: dict[str, str] = field(default_factory=dict)  # postgres service -> its migrations image
    pushed_to: str = ""  # the registry setting it was pushed to ("" = only here)


@dataclass(frozen=True)
class Planned:
    service: str
    ref: str  # repository:tag
    context: dict[str, bytes]  # the build context, Dockerfile included
    labels: dict[str, str]


def record_path(ws: Workspace) -> Path:
    return ws.state_dir / "release.json"


def template_path(ws: Workspace) -> Path:
    """The workspace's deploy/Dockerfile.j2, or genlib's own for a workspace made before it existed."""
    own = ws.root / TEMPLATE
    return own if own.is_file() else defaults_dir() / TEMPLATE


def load(ws: Workspace) -> Release:
    """The last release; a DeployError saying to run `doit release` when there is none."""
    data = read_json_object(record_path(ws), "run `doit release`")
    if data is None or data.get("format") != FORMAT:
        raise DeployError("nothing released yet: run `doit release` first")
    try:
        return Release(**{k: v for k, v in data.items() if k != "format"})
    except TypeError as exc:
        raise DeployError(f"{record_path(ws)} is damaged; run `doit release` again") from exc


def save(ws: Workspace, release: Release) -> None:
    text = json.dumps({"format": FORMAT, **asdict(release)}, indent=2, sort_keys=True) + "\n"
    atomic_write_text(record_path(ws), text)


# -- is HEAD fit to release ---------------------------------------------------------------------------


def check_green(ws: Workspace, allow_skipped: bool) -> str:
    """HEAD's name when its last test run was green and nothing changed since; else a DeployError."""
    it = head(ws)
    if it is None:
        raise DeployError('there is no iteration to release; run `doit gen desc="..."` first')
    report = results.load(it.results)
    if report is None:
        raise DeployError(f"HEAD {it.name} has not been tested: run `doit`, or release it untested with force=1")
    green = report.ok and (allow_skipped or not report.summary["skipped"])
    if not green:
        where = it.results.relative_to(ws.root)
        raise DeployError(
            f"HEAD {it.name} is not green ({len(report.failing)} of {len(report.results)} failed, see {where}): "
            "run `doit heal`, or release it anyway with force=1"
        )
    if ws.registry_path.stat().st_mtime > it.results.stat().st_mtime:
        raise DeployError(f"HEAD {it.name} changed since its tests ran: run `doit`, or release it anyway with force=1")
    return it.name


# -- planning and building ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Source:
    """What one image is made of, before its Dockerfile is rendered."""

    name: str  # the service (program) or <database>-migrate
    kind: str  # program | migrations
    base: str
    files: dict[str, bytes]  # the build context, without the Dockerfile
    command: list[str] | None = None
    port: int | None = None


def plan(ws: Workspace, registry: Registry, settings: Settings, ids: dict[str, str]) -> list[Planned]:
    """Every image of the release, its tag computed from what it is made of (nothing is built)."""
    if registry.head is None:
        raise DeployError('there is no iteration to release; run `doit gen desc="..."` first')
    labels = {
        LABEL: ws.project_name,
        "genlib.iteration": registry.head,
        "genlib.registry_sha256": sha256_file(ws.registry_path),
        "genlib.version": genlib.__version__,
    }
    return [_planned(ws, source, settings, ids, labels) for source in _sources(ws, registry, settings, ids)]


def _sources(ws: Workspace, registry: Registry, settings: Settings, ids: dict[str, str]) -> list[_Source]:
    deps = images.load(ws)
    found = []
    for service, comp in sorted(registry.services.items()):
        if comp.runtime == "postgres" and (sql := migrations.of_component(ws, comp)):
            found.append(_Source(service + MIGRATE, "migrations", settings.image_for("postgres"), _migrations(sql)))
        elif not is_data(comp.runtime):
            base = deps.images[service].tag if service in deps.images else settings.image_for(comp.runtime)
            if service in deps.failed or (service in deps.images and base not in ids):
                raise DeployError(f"the dependency image of {service} is missing or failed: run `doit` first")
            found.append(_Source(service, "program", base, _program_files(ws, comp), comp.command, comp.port))
    return found


def _program_files(ws: Workspace, comp: Entry) -> dict[str, bytes]:
    """The component's files at /app, as registry.yaml recorded them (an edit since is not what was tested)."""
    files = {}
    for f in comp.files:
        data = (ws.iterations_dir / f.iteration / f.path).read_bytes()
        if sha256_bytes(data) != f.sha256:
            raise DeployError(f"{f.path} changed since registry.yaml was written: run `doit` first")
        files["app/" + f.path.split("/", 2)[2]] = data
    return files


def _migrations(sql: list[migrations.Migration]) -> dict[str, bytes]:
    order = "".join(f"{m.sha256} {m.name}\n" for m in sql)  # migrate.sh applies them in this order
    files = {f"migrations/files/{m.name}": m.sql for m in sql}
    for m in sql:
        if sha256_bytes(files[f"migrations/files/{m.name}"]) != m.sha256:
            raise DeployError(f"{m.path} changed since registry.yaml was written: run `doit` first")
    return {**files, "migrations/ORDER": order.encode(), "genlib-migrate.sh": MIGRATE_SCRIPT.read_bytes()}


def _planned(
    ws: Workspace, source: _Source, settings: Settings, ids: dict[str, str], labels: dict[str, str]
) -> Planned:
    from genlib import templating

    template = template_path(ws)
    context = {"kind": source.kind, "base_image": source.base, "command": source.command, "port": source.port}
    dockerfile = templating.render([str(template.parent)], template.name, context)
    digest = hashlib.sha256(dockerfile.encode())
    for path, data in sorted(source.files.items()):
        digest.update(f"\0{path}\0{len(data)}\0".encode() + data)
    digest.update(f"\0{ids.get(source.base, source.base)}".encode())  # a rebuilt base image: a new release image
    prefix = f"{settings.registry.rstrip('/')}/" if settings.registry else ""
    tag = f"{_TAG_UNSAFE.sub('_', labels['genlib.iteration'])[:100]}-{digest.hexdigest()[:12]}"
    ref = f"{prefix}{ws.project_name}/{source.name}:{tag}"
    return Planned(source.name, ref, {**source.files, "Dockerfile": dockerfile.encode()}, labels)


def release(ws: Workspace, registry: Registry, settings: Settings, say: Callable[[str], None] = print) -> Release:
    """Build the images not already here; record the release (nothing is pushed)."""
    from genlib.stack import build, engine

    ids = engine.image_ids()
    for runtime in {c.runtime for c in registry.services.values()} - {"redis"}:
        image = settings.image_for(runtime)  # pulled when it is not here (online machines)
        ids.setdefault(image, engine.ensure_image(image))
    planned = plan(ws, registry, settings, ids)
    for item in planned:
        if item.ref in ids:
            say(f"   {item.service}: {item.ref} (already built)")
            continue
        say(f"   {item.service}: building {item.ref}")
        outcome = build.build_image(item.context, item.ref, item.labels, settings.build_timeout)
        if not outcome.ok:
            raise DeployError(f"the release image of {item.service} did not build: {outcome.error.strip()[:300]}")
    assert registry.head is not None  # plan() refused a registry without one
    previous = _previous(ws)
    made = Release(
        iteration=registry.head,
        registry_sha256=sha256_file(ws.registry_path),
        images={p.service: p.ref for p in planned if not p.service.endswith(MIGRATE)},
        migrations={p.service.removesuffix(MIGRATE): p.ref for p in planned if p.service.endswith(MIGRATE)},
    )
    if previous and (previous.images, previous.migrations) == (made.images, made.migrations):
        made.pushed_to = previous.pushed_to  # the same images: still pushed
    save(ws, made)
    return made


def _previous(ws: Workspace) -> Release | None:
    try:
        return load(ws)
    except (DeployError, WorkspaceError):
        return None


def push(ws: Workspace, made: Release, settings: Settings, say: Callable[[str], None] = print) -> Release:
    """Push every image of the release to the `registry` setting; a refusal is one line with its answer."""

    if not settings.registry:
        raise DeployError("push=1 needs the registry setting (host:port/prefix), e.g. registry=127.0.0.1:5000/team")
    for ref in [*made.images.values(), *made.migrations.values()]:
        say(f"   pushing {ref}")
        _push(ref, settings.registry)
    pushed = Release(**{**asdict(made), "pushed_to": settings.registry})
    save(ws, pushed)
    return pushed


def _push(ref: str, registry: str) -> None:
    """Push one image; the registry's refusal (or the engine's failure to reach it) is one line with its answer."""
    from genlib.stack import engine

    repository, tag = ref.rsplit(":", 1)
    with engine.docker_errors(f"push {ref}"):
        for chunk in engine.client(timeout=600).images.push(repository, tag=tag, stream=True, decode=True):
            if "error" in chunk:
                answer = " ".join(str(chunk["error"]).split())[:300]
                raise DeployError(f"registry {registry} refused {ref}: {answer}")


def remove_images(ws: Workspace) -> list[str]:
    """Remove every image this workspace released, with all its tags (the tests' clean-up)."""
    from genlib.stack import engine

    removed = []
    with engine.docker_errors("list the released images"):
        found = engine.client().images.list(filters={"label": f"{LABEL}={ws.project_name}"})
    for image in found:
        for tag in image.tags:
            if engine.remove_image(tag):
                removed.append(tag)
    return removed


def describe(made: Release) -> str:
    lines = [f"release of {made.iteration}" + (f", pushed to {made.pushed_to}" if made.pushed_to else "") + ":"]
    lines += [f"   {service}: {ref}" for service, ref in sorted(made.images.items())]
    lines += [f"   {service} migrations: {ref}" for service, ref in sorted(made.migrations.items())]
    return "\n".join(lines)
