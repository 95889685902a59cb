"""Numbered, append-only iterations and the overlay that picks each file's current version.

    iterations/iter_001_user_profile/   a gen iteration (slug of the request)
    iterations/iter_002_patch/          a heal patch: only the files it changed or deleted
    iterations/HEAD                     the iteration the graph targets (newest when absent)

Each iteration records its parent (HEAD when it was made) in parent.txt, so after
`rollback to=1` a new iteration builds on iter_001, not on what was rolled back.
Without parent.txt the parent is the previous number: a linear history.
A file's current version is the one in the newest iteration of HEAD's lineage
that has it; a deletion in a later iteration hides it.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from genlib import checkpoint
from genlib.errors import WorkspaceError
from genlib.fsutil import atomic_write_text
from genlib.workspace import Workspace

if TYPE_CHECKING:
    from genlib.documents.manifest import Manifest

ITERATION_RE = re.compile(r"^iter_(\d{3,})_([a-z0-9][a-z0-9_]*)$")
PATCH_SLUG = "patch"
MANIFEST = "manifest.json"
PARENT_FILE = "parent.txt"


@dataclass(frozen=True)
class Iteration:
    number: int
    name: str
    path: Path

    @property
    def kind(self) -> str:
        return "patch" if self.name.endswith(f"_{PATCH_SLUG}") else "gen"

    @cached_property  # read for every iteration on every run: build the Path once
    def llm_output(self) -> Path:
        return self.path / "llm_output.json"

    @cached_property
    def manifest(self) -> Path:
        return self.path / MANIFEST

    @property
    def results(self) -> Path:
        return self.path / "results.json"

    @property
    def logs_dir(self) -> Path:
        return self.path / "logs"

    @property
    def desc(self) -> Path:
        return self.path / "desc.txt"


def list_iterations(ws: Workspace) -> list[Iteration]:
    """All complete iterations, oldest first (half-built temp folders are skipped).

    Cached per process until the folder changes (an iteration appears by a rename,
    which changes the folder's mtime): the graph asks several times per run.
    """
    try:
        mtime = os.stat(ws.iterations_dir).st_mtime_ns
    except FileNotFoundError:
        return []
    cached = _listings.get(ws.iterations_dir)
    if cached is None or cached[0] != mtime:
        cached = _listings[ws.iterations_dir] = (mtime, _scan(ws.iterations_dir))
    return list(cached[1])


_listings: dict[Path, tuple[int, list[Iteration]]] = {}


def _scan(folder: Path) -> list[Iteration]:
    found = []
    try:
        entries = os.scandir(folder)  # d_type answers is_dir without a stat per entry
    except FileNotFoundError:
        return []
    with entries:
        for entry in entries:
            match = ITERATION_RE.match(entry.name)
            if match and entry.is_dir():
                found.append(Iteration(int(match.group(1)), entry.name, Path(entry.path)))
    return sorted(found, key=lambda it: it.number)


def find_iteration(ws: Workspace, ref: str | int) -> Iteration:
    """An iteration by number (`3`) or by name (`iter_003_patch`)."""
    text = str(ref).strip()
    for it in list_iterations(ws):
        if text in (it.name, str(it.number)) or (text.isdigit() and int(text) == it.number):
            return it
    known = ", ".join(str(it.number) for it in list_iterations(ws)) or "none"
    raise WorkspaceError(f"no iteration {text!r} (have: {known}); see `doit history`")


def head(ws: Workspace) -> Iteration | None:
    """The iteration HEAD names, or the newest one."""
    iterations = list_iterations(ws)
    if ws.head_file.exists():
        name = ws.head_file.read_text(encoding="utf-8").strip()
        for it in iterations:
            if it.name == name:
                return it
        raise WorkspaceError(f"{ws.head_file} names {name!r}, which does not exist; run `doit rollback to=N`")
    return iterations[-1] if iterations else None


def set_head(ws: Workspace, iteration: Iteration) -> None:
    atomic_write_text(ws.head_file, iteration.name + "\n")


def up_to_head(ws: Workspace) -> list[Iteration]:
    """HEAD's lineage, oldest first: the iterations whose files the graph sees."""
    current = head(ws)
    return lineage(ws, current) if current else []


def lineage(ws: Workspace, it: Iteration) -> list[Iteration]:
    """`it` and its ancestors, oldest first, following parent.txt."""
    return chain(it, parent_map(ws))


def chain(it: Iteration, parents: dict[str, Iteration | None]) -> list[Iteration]:
    """`it` and its ancestors, oldest first, from a parent map."""
    chain = []
    current: Iteration | None = it
    while current is not None:
        chain.append(current)
        current = parents[current.name]
    return chain[::-1]


def parent_map(ws: Workspace) -> dict[str, Iteration | None]:
    """Every iteration's parent, in one pass over the folder."""
    parents: dict[str, Iteration | None] = {}
    by_name: dict[str, Iteration] = {}
    previous: Iteration | None = None
    for it in list_iterations(ws):
        parents[it.name] = _parent(it, previous, by_name)
        by_name[it.name] = it
        previous = it
    return parents


def _parent(it: Iteration, previous: Iteration | None, earlier: dict[str, Iteration]) -> Iteration | None:
    try:
        name = (it.path / PARENT_FILE).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return previous  # a linear history (hand-made iterations, fixtures)
    if not name:
        return None  # a root: the first gen of the workspace
    if name not in earlier:
        raise WorkspaceError(f"{it.path / PARENT_FILE} names {name!r}, not an earlier iteration; fix or delete it")
    return earlier[name]


def slugify(text: str, limit: int = 40) -> str:
    """'Add a user profile view!' -> 'add_a_user_profile_view'."""
    import unicodedata  # only gen names an iteration; the graph of a no-op `doit` never does

    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "_", ascii_text.lower()).strip("_")
    slug = slug[:limit].rstrip("_")
    if not slug or slug == PATCH_SLUG:
        slug = f"app_{slug}" if slug else "app"
    return slug


def next_name(ws: Workspace, slug: str) -> str:
    iterations = list_iterations(ws)
    number = iterations[-1].number + 1 if iterations else 1
    return f"iter_{number:03d}_{slug}"


def write_iteration(ws: Workspace, slug: str, files: dict[str, str]) -> Iteration:
    """Create the next iteration holding `files` (name -> text), all or nothing.

    The files go into a hidden temp folder that is renamed into place last, so a
    crash or Ctrl-C never leaves a half-written iteration that the graph would pick up.
    Shared by gen (desc.txt + llm_output.json) and heal (the same, for a patch).
    """
    ws.iterations_dir.mkdir(parents=True, exist_ok=True)
    _remove_abandoned_temp_folders(ws)
    name = next_name(ws, slug)
    parent = head(ws)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=ws.iterations_dir))
    try:
        atomic_write_text(tmp / PARENT_FILE, (parent.name if parent else "") + "\n")
        for rel, text in files.items():
            atomic_write_text(tmp / rel, text)
        tmp.chmod(0o755)  # mkdtemp's 0700 would hide the layer files from the containers' user
        checkpoint.reach("write_iteration")
        tmp.rename(ws.iterations_dir / name)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    match = ITERATION_RE.match(name)
    assert match is not None
    return Iteration(int(match.group(1)), name, ws.iterations_dir / name)


def _remove_abandoned_temp_folders(ws: Workspace) -> None:
    """A run killed while writing leaves `.iter_*` behind; callers hold the workspace lock, so none is live."""
    for entry in ws.iterations_dir.glob(".iter_*"):
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)


def read_manifest(it: Iteration) -> Manifest | None:
    """What materialize wrote (genlib.documents.manifest.Manifest); None before it ran."""
    from genlib.documents import manifest  # pydantic: not on the path of a no-op `doit` (see tasks.py)

    try:
        stat = os.stat(it.manifest)
    except FileNotFoundError:
        return None
    key = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
    cached = _manifests.get(it.manifest)
    if cached is not None and cached[0] == key:
        return cached[1]  # the graph's creators read each manifest twice per run
    found = manifest.load(it.manifest)
    _manifests[it.manifest] = (key, found)
    return found


_manifests: dict[Path, tuple[tuple[int, int, int], Manifest | None]] = {}


class Declared(Protocol):
    """A component as a manifest declares it (what the graph's creators need of it)."""

    @property
    def layer(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def runtime(self) -> str: ...

    @property
    def command(self) -> Sequence[str] | None: ...


class Layout(Protocol):
    """What the graph needs of an iteration: a Manifest, or the index's copy of one (snapshot.py)."""

    @property
    def files(self) -> Mapping[str, str]: ...

    @property
    def deletions(self) -> Sequence[str]: ...

    @property
    def components(self) -> Sequence[Declared]: ...


@dataclass(frozen=True)
class FileRef:
    """The current version of one layer file."""

    path: str  # relative, e.g. api/profile/main.py
    iteration: Iteration
    sha256: str  # as materialized (the file on disk may have been edited since)

    @property
    def source(self) -> Path:
        return self.iteration.path / self.path


def overlay(
    iterations: list[Iteration], manifests: Callable[[Iteration], Layout | None] = read_manifest
) -> dict[str, FileRef]:
    """Resolve each path to its newest version; later deletions hide earlier files."""
    current: dict[str, tuple[Iteration, str]] = {}  # a FileRef only for the versions that win: a long history
    for it in iterations:  # of patches rewrites the same files over and over
        manifest = manifests(it)
        if manifest is None:
            continue
        for gone in manifest.deletions:
            for path in [p for p in current if p == gone or p.startswith(gone + "/")]:
                del current[path]
        for path, sha in manifest.files.items():
            current[path] = (it, sha)
    return {path: FileRef(path, it, sha) for path, (it, sha) in sorted(current.items())}
