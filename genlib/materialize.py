"""llm_output.json -> layer files (+ manifest.json), safely and without losing a person's edits.

Every path is checked (`llm_output.check_answer`), parent folders may not be
symlinks, each file is written atomically and the manifest last, so a missing
manifest means "not materialized yet" and re-running finishes the job.
"""

from __future__ import annotations

import json
from pathlib import Path

from genlib.config import Settings
from genlib.errors import HandEditConflict, OutputError
from genlib.fsutil import atomic_write_bytes, atomic_write_text, sha256_bytes, sha256_file
from genlib.iterations import MANIFEST_FORMAT, Iteration, list_iterations, read_manifest
from genlib.llm_output import check_answer, load_output
from genlib.workspace import Workspace


def materialize(ws: Workspace, it: Iteration, settings: Settings, *, force: bool = False) -> list[str]:
    """Write the iteration's layer files; return the paths written (unchanged ones are skipped)."""
    output = load_output(it.llm_output)
    answer = output.answer
    check_answer(
        answer,
        where=str(it.llm_output),
        max_file_bytes=settings.max_file_bytes,
        max_files=settings.max_files,
        known_components=declared_before(ws, it),
    )
    previous = read_manifest(it) or {"files": {}}
    new_files = {spec.path: spec.content.encode("utf-8") for spec in answer.files}
    if not force:
        _refuse_hand_edits(it, previous["files"], new_files)
    written = []
    for rel, data in new_files.items():
        target = safe_target(it.path, rel)
        if target.exists() and sha256_file(target) == sha256_bytes(data):
            continue
        atomic_write_bytes(target, data)
        written.append(rel)
    manifest = {
        "format": MANIFEST_FORMAT,
        "source_sha256": sha256_file(it.llm_output),
        "files": {rel: sha256_bytes(data) for rel, data in sorted(new_files.items())},
        "deletions": sorted(answer.deletions),
        "components": [c.model_dump(mode="json") for c in answer.components],
    }
    atomic_write_text(it.manifest, json.dumps(manifest, indent=1, sort_keys=True) + "\n")
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


def declared_before(ws: Workspace, it: Iteration) -> set[tuple[str, str]]:
    """(layer, name) of the components declared by earlier iterations (a patch may edit their files)."""
    known: set[tuple[str, str]] = set()
    for earlier in list_iterations(ws):
        if earlier.number >= it.number:
            break
        manifest = read_manifest(earlier) or {}
        for comp in manifest.get("components", []):
            known.add((comp["layer"], comp["name"]))
        for gone in manifest.get("deletions", []):
            if gone.count("/") == 1:  # a whole component was removed
                layer, name = gone.split("/")
                known.discard((layer, name))
    return known
