"""The disk genlib's images use, and the build stages its builds leave behind.

A dependency image is built in two stages (Dockerfile.j2): the build stage, with pip or npm and
everything they downloaded (~600 MB), is left untagged ("dangling") once the final image is
tagged. Every image genlib builds carries the label `genlib.built=<the tag it was built for>`,
its stages too (genlib.stack.build), so they can be found and removed here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from genlib.stack import engine, images


@dataclass(frozen=True)
class Usage:
    images: int  # genlib's images here: its base images, dependency images and build stages
    own_bytes: int  # in layers no other image shares
    stages: int  # of them, dangling build stages (`doit prune` removes them)
    all_bytes: int  # every image layer on this engine, genlib's or not

    def line(self) -> str:
        return (
            f"disk: genlib's images: {self.images} ({self.stages} dangling build stage(s)), "
            f"{_size(self.own_bytes)} in layers only they hold; all images here: {_size(self.all_bytes)}"
        )


def usage() -> Usage:
    """One `docker system df` (it computes which layers images share)."""
    with engine.docker_errors("measure the images' disk use"):
        df = engine.client(timeout=120).df()
    mine = [image for image in map(_Image.of, df.get("Images") or []) if image.genlib]
    own = sum(max(0, image.size - max(0, image.shared)) for image in mine)
    stages = sum(1 for image in mine if not image.tags)
    return Usage(len(mine), own, stages, int(df.get("LayersSize") or 0))


def prune_stages(built: set[str], build_timeout: float) -> tuple[int, int]:
    """Remove genlib's dangling build stages whose build is over: its tag is in `built` (it finished; the tags
    here before `doit prune` removed any), or the stage is older than `build_timeout` (it failed long ago). A
    younger one may belong to a build still running in another workspace, which needs it. Returns (stages
    removed, bytes freed)."""
    with engine.docker_errors("list genlib's build stages"):
        api = engine.client().api
        found = api.images(filters={"dangling": True, "label": engine.BUILT_LABEL})
        before = int(api.df().get("LayersSize") or 0) if found else 0
    removed = 0
    for image in found:
        built_for = (image.get("Labels") or {}).get(engine.BUILT_LABEL, "")
        old = time.time() - int(image.get("Created") or 0) > build_timeout
        if (built_for in built or old) and engine.remove_image(str(image["Id"])):
            removed += 1
    if not removed:
        return 0, 0
    with engine.docker_errors("measure the images' disk use"):
        after = int(engine.client().api.df().get("LayersSize") or 0)
    return removed, max(0, before - after)


@dataclass(frozen=True)
class _Image:
    """One image of Docker's answer, the fields used here."""

    labels: dict[str, str]
    tags: list[str]
    size: int
    shared: int  # bytes in layers other images share too (-1: not computed)

    @classmethod
    def of(cls, raw: object) -> _Image:
        data = raw if isinstance(raw, dict) else {}
        tags = [str(tag) for tag in data.get("RepoTags") or [] if tag != "<none>:<none>"]
        labels = {str(k): str(v) for k, v in (data.get("Labels") or {}).items()}
        return cls(labels, tags, int(data.get("Size") or 0), int(data.get("SharedSize") or 0))

    @property
    def genlib(self) -> bool:
        marked = engine.BUILT_LABEL in self.labels or images.LABEL in self.labels
        return marked or any(tag.startswith("genlib/") for tag in self.tags)


def _size(count: int) -> str:
    return f"{count / 1e9:.2f} GB" if count >= 1e9 else f"{count / 1e6:.0f} MB"
