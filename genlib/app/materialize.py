"""llm_output.json -> layer files (+ manifest.json), safely and without losing a person's edits.

Every path is checked again (`rules.check_stored`: the file may have been edited), parent folders may not be
symlinks, each file is written atomically and the manifest last, so a missing
manifest means "not materialized yet" and re-running finishes the job.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from genlib import checkpoint
from genlib.answer import rules
from genlib.app.iterations import Iteration, list_iterations, parent_map, read_manifest
from genlib.config import Settings
from genlib.documents import manifest
from genlib.documents.llm_output import load_output
from genlib.errors import HandEditConflict, OutputError
from genlib.fsutil import atomic_write_bytes, atomic_write_text, sha256_bytes, sha256_file
from genlib.workspace import Workspace


def materialize(
    ws: Workspace,
    it: Iteration,
    settings: Settings,
    *,
    force: bool = False,
    known_components: set[tuple[str, str]] | None = None,
) -> list[str]:
    """Write the iteration's layer files; return the paths written (unchanged ones are skipped).

    `known_components` are those its ancestors declared (materialize_stale passes them);
    when omitted they are looked up.
    """
    output = load_output(it.llm_output)
    answer = output.answer
    known = known_components if known_components is not None else _declared_before(ws, it)
    try:
        rules.check_stored(answer, known, rules.Limits.of(settings))
    except OutputError as exc:
        raise OutputError(f"{it.llm_output}: {exc}") from exc
    previous = read_manifest(it)
    new_files = {spec.path: spec.content.encode("utf-8") for spec in answer.files}
    if not force and previous is not None:
        _refuse_hand_edits(it, previous.files, new_files)
    written = []
    for rel, data in new_files.items():
        target = safe_target(it.path, rel)
        if target.exists() and sha256_file(target) == sha256_bytes(data):
            continue
        atomic_write_bytes(target, data)
        written.append(rel)
    checkpoint.reach("materialize")
    written_manifest = manifest.Manifest(
        source_sha256=sha256_file(it.llm_output),
        files={rel: sha256_bytes(data) for rel, data in sorted(new_files.items())},
        deletions=sorted(answer.deletions),
        components=list(answer.components),
    )
    atomic_write_text(it.manifest, manifest.dump(written_manifest))
    return written


def _refuse_hand_edits(it: Iteration, materialized: dict[str, str], new_files: dict[str, bytes]) -> None:
    """A file whose disk content differs from what we last wrote was edited by a person."""
    for rel, old_sha in sorted(materialized.items()):
        on_disk = it.path / rel
        if not on_disk.is_file():
            continue
        current = sha256_file(on_disk)
        if current == old_sha:
            continue
        if rel not in new_files or sha256_bytes(new_files[rel]) != current:
            raise HandEditConflict(
                f"{on_disk.relative_to(it.path.parent.parent)} was edited by hand and "
                f"{it.llm_output.name} changed under it; keep your edit (revert {it.llm_output.name}) "
                "or overwrite it with `doit force=1`"
            )


def safe_target(base: Path, rel: str) -> Path:
    """`base/rel`, refusing any existing symlink on the way (a planted link could escape)."""
    current = base
    for part in rel.split("/")[:-1]:
        current = current / part
        if current.is_symlink():
            raise OutputError(f"{current} is a symlink; refusing to write through it")
        current.mkdir(exist_ok=True)
    target = current / rel.split("/")[-1]
    if target.is_symlink():
        raise OutputError(f"{target} is a symlink; refusing to write through it")
    resolved = target.resolve()
    if not resolved.is_relative_to(base.resolve()):
        raise OutputError(f"{rel!r} resolves outside its iteration ({resolved})")
    return target


def materialize_stale(ws: Workspace, stale: set[str], settings: Settings, *, force: bool = False) -> dict[str, int]:
    """Materialize the iterations named in `stale`, oldest first; return files written per iteration."""
    written: dict[str, int] = {}
    for it, known in _with_known_components(ws):
        if it.name in stale:
            written[it.name] = len(materialize(ws, it, settings, force=force, known_components=set(known)))
    return written


def _declared_before(ws: Workspace, it: Iteration) -> set[tuple[str, str]]:
    return next(set(known) for each, known in _with_known_components(ws) if each.name == it.name)


def _with_known_components(ws: Workspace) -> Iterator[tuple[Iteration, frozenset[tuple[str, str]]]]:
    """Each iteration, oldest first, with the components its ancestors declared.

    One pass along the lineage (O(n) for a long history). The iteration's own
    manifest is read after the consumer's turn, so materializing it on the way counts.
    """
    parents = parent_map(ws)
    declared: dict[str, frozenset[tuple[str, str]]] = {}
    for it in list_iterations(ws):
        parent = parents[it.name]
        known = declared[parent.name] if parent else frozenset()
        yield it, known
        declared[it.name] = _after(known, read_manifest(it))


def _after(known: frozenset[tuple[str, str]], found: manifest.Manifest | None) -> frozenset[tuple[str, str]]:
    """The declared components once this iteration's manifest is applied."""
    if found is None:
        return known
    result = set(known) - set(found.removed_components)
    result.update((comp.layer, comp.name) for comp in found.components)
    return frozenset(result)
