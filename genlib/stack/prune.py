"""`doit prune`: remove the dependency images this workspace used and no longer needs.

A dependency set is built once per machine and every workspace with the same set runs on its image
(genlib.stack.images), so an image is removed only when all of these hold:

- this workspace ran on it or built it (.genlib/images-used.json): other workspaces' images are theirs;
- no iteration of this workspace needs it: any iteration may become HEAD again (`doit rollback`), so the
  tag each one's dependency files make today is kept, not only HEAD's;
- no container uses it, running or stopped: another workspace's stack on the same set keeps it.

An image another workspace also ran on, whose stack is down, may go: that workspace builds it again the
next time it runs (a minute or two, never an error). Builds also leave their build stage behind, untagged
(~600 MB each): every one whose build is over goes too, whichever workspace built it (genlib.stack.disk).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from genlib.answer.depfiles import is_dependency_file
from genlib.app import snapshot
from genlib.app.iterations import chain
from genlib.config import Settings
from genlib.stack import images
from genlib.workspace import Workspace


def needed_tags(ws: Workspace, settings: Settings, ids: dict[str, str]) -> set[str]:
    """The tag of every dependency set an iteration of this workspace would run on, as built today
    (`ids`: image name -> id, for the images the sets are made from). Nothing is built or pulled."""
    snap = snapshot.load(ws)
    found = set(images.tags(ws).values())  # what the stack runs on now (a person may have edited since)
    for it in snap.iterations:
        lineage = chain(it, snap.parents)
        files = {path: ref.source for path, ref in snap.overlay(lineage).items() if is_dependency_file(path)}
        owners = images.declared_owners(set(files), [snap.manifests.get(i.name) for i in lineage])
        for component, (runtime, runnable) in owners.items():
            mine = {path: source for path, source in files.items() if path.startswith(component + "/")}
            deps = images.dep_set(component, runtime, mine) if runnable else None
            tag = _tag(ws, deps, settings, ids) if deps else None
            if tag:
                found.add(tag)
    return found


def _tag(ws: Workspace, deps: images.DepSet, settings: Settings, ids: dict[str, str]) -> str | None:
    bases = {name: ids.get(name, "") for name in images.base_images(deps.runtime, settings)}
    if not all(bases.values()):
        return None  # its base image is gone: no image here can have this set's tag
    try:
        contents = {name: Path(source).read_bytes() for name, (_, source) in deps.files.items()}
    except OSError:
        return None
    return images.plan(ws, deps, settings, contents, bases)[2]


def prune(ws: Workspace, settings: Settings, say: Callable[[str], None] = print) -> list[str]:
    """Remove this workspace's unneeded dependency images (see the module's docstring); return their tags."""
    from genlib.stack import disk, engine

    ids = engine.image_ids()
    keep = needed_tags(ws, settings, ids)
    in_use = engine.container_image_ids()
    removed, kept = [], []
    for tag in images.used_tags(ws):
        if tag not in ids or not tag.startswith(images.REPOSITORY + ":"):
            continue  # removed already (by hand, or by another workspace's prune)
        if tag in keep or ids[tag] in in_use or not engine.remove_image(tag):
            kept.append(tag)
        else:
            removed.append(tag)
    images.used(ws, keep=kept)
    for tag in removed:
        say(f"   removed {tag}")
    say(f"   prune: {len(removed)} dependency image(s) removed, {len(kept)} kept (needed by an iteration or in use)")
    stages, freed = disk.prune_stages(set(ids), settings.build_timeout)
    say(f"   prune: {stages} build stage(s) removed, {freed / 1e6:.0f} MB freed (left untagged by genlib's builds)")
    return removed
