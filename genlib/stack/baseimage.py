"""The offline base image: Debian bookworm with python3 and nodejs, for machines that cannot pull.

    debootstrap --variant=minbase --include=python3,python-is-python3,nodejs bookworm ROOTFS MIRROR
    tar -C ROOTFS -c .  ->  docker import (label genlib.base=VERSION)  ->  genlib/base:bookworm

    genlib/stack/dataimages/*.Dockerfile on it  ->  genlib/postgres:bookworm, genlib/redis:bookworm

The mirror is the one apt already uses, so a machine behind a Debian proxy or
snapshot keeps using it. Set GENLIB_IMAGE_PYTHON/NODE/STATIC to the image to run on it,
GENLIB_IMAGE_POSTGRES/REDIS to the data images (`genlib base-image --use` does all of it).

Components that bring dependencies are built in a second image, `<name>-build` (the same
system plus pip, venv and npm); their runtime images get only the installed packages.

Each image carries the label `genlib.base` (the images built on the base inherit it): an image whose label
is not VERSION was made by an older genlib and is built again, so an upgrade reaches machines that
already have the images (.ci/setup compares the same label).
"""

from __future__ import annotations

import re
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from genlib import process
from genlib.config import OFFLINE_DATA_IMAGES, OFFLINE_IMAGE, offline_build_image
from genlib.errors import CommandFailed, DockerError
from genlib.stack import engine
from genlib.stack.build import build_image

FALLBACK_MIRROR = "http://deb.debian.org/debian"
SUITE = "bookworm"
# python-is-python3: `python` is python3, as in the official image (`#!/usr/bin/env python`, `sh -c "python ..."`)
PACKAGES = ("python3", "python-is-python3", "nodejs")
LABEL = "genlib.base"
VERSION = "2"  # 2: python-is-python3. Raise it whenever the images change: present ones are then built again
NOBODY_UID = 65534
# Runs as the containers do (65534, read-only): proves the user, python3, python and node are all there.
_SELF_CHECK = [
    "python3",
    "-c",
    "import pwd, shutil, sys; pwd.getpwuid(65534); sys.exit(0 if shutil.which('node') else 3 if shutil.which("
    "'python') else 4)",
]


def mirror_from_apt(apt_dir: Path = Path("/etc/apt")) -> str:
    """The first plain Debian mirror in apt's sources (deb822 or one-line); the public one otherwise."""
    candidates: list[str] = []
    for path in sorted((apt_dir / "sources.list.d").glob("*.sources")):
        candidates += _deb822_uris(path.read_text(encoding="utf-8", errors="replace"))
    for path in [apt_dir / "sources.list", *sorted((apt_dir / "sources.list.d").glob("*.list"))]:
        if path.is_file():
            candidates += _one_line_uris(path.read_text(encoding="utf-8", errors="replace"))
    for uri in candidates:
        if uri.startswith(("http://", "https://")) and not re.search(r"-security|-updates|backports", uri):
            return uri.rstrip("/")
    return FALLBACK_MIRROR


def _deb822_uris(text: str) -> list[str]:
    uris = []
    for stanza in re.split(r"\n\s*\n", text):
        fields = dict(
            line.split(":", 1) for line in stanza.splitlines() if ":" in line and not line.lstrip().startswith("#")
        )
        if "deb" in fields.get("Types", "").split() and SUITE in fields.get("Suites", "").split():
            uris += fields.get("URIs", "").split()
    return uris


def _one_line_uris(text: str) -> list[str]:
    uris = []
    for line in text.splitlines():
        words = re.sub(r"\[[^]]*\]", "", line.split("#", 1)[0]).split()
        if len(words) >= 3 and words[0] == "deb" and words[2] == SUITE:
            uris.append(words[1])
    return uris


def has_nobody(rootfs: Path) -> bool:
    """Whether /etc/passwd of `rootfs` has the user the containers run as."""
    passwd = rootfs / "etc" / "passwd"
    if not passwd.is_file():
        return False
    return any(line.split(":")[2:3] == [str(NOBODY_UID)] for line in passwd.read_text().splitlines())


def build(
    name: str = OFFLINE_IMAGE, force: bool = False, say: Callable[[str], None] = print, mirror: str | None = None
) -> str:
    """Build `name` (or reuse it when present and not `force`); return what was done, in a line."""
    if not force and current(name):
        check(name)
        return f"{name} is already present (python3, node and user {NOBODY_UID} checked); --force rebuilds it"
    if engine.image_exists(name):
        say(f"{name} was made by an older genlib (label {LABEL} is not {VERSION}): building it again")
    started = time.monotonic()
    mirror = mirror or mirror_from_apt()
    with tempfile.TemporaryDirectory(prefix="genlib-base-") as tmp:
        rootfs, tarball = Path(tmp) / "rootfs", Path(tmp) / "rootfs.tar"
        _debootstrap(rootfs, mirror, say)
        if not has_nobody(rootfs):
            raise DockerError(f"the debootstrapped system has no user {NOBODY_UID}; the containers cannot run as it")
        say(f"packing {rootfs} into a tarball")
        process.run(["tar", "-C", str(rootfs), "-c", "-f", str(tarball), "."], timeout=600)
        say(f"importing it as {name} ({tarball.stat().st_size / 2**20:.0f} MiB)")
        engine.import_image(tarball, name, {LABEL: VERSION})
    check(name)
    return f"{name} built in {time.monotonic() - started:.0f}s from {mirror}"


# The build stage's image: the same system plus what installs packages. Its layer on top of the
# base image is shared, and runtime images never carry it (Dockerfile.j2 copies only the packages).
BUILD_PACKAGES = ("python3-pip", "python3-venv", "npm")
_BUILDER_DOCKERFILE = """FROM {base}
RUN apt-get update \\
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends {packages} \\
 && rm -rf /var/lib/apt/lists/*
"""


def build_builder(base: str = OFFLINE_IMAGE, force: bool = False, say: Callable[[str], None] = print) -> str:
    """`<base>-build`: `base` plus pip, venv and npm from the same Debian mirror (a few minutes, once)."""
    name = offline_build_image(base)
    if not force and current(name):
        return f"{name} is already present; --force rebuilds it"
    started = time.monotonic()
    say(f"building {name}: {base} plus {', '.join(BUILD_PACKAGES)} (apt, a few minutes)")
    dockerfile = _BUILDER_DOCKERFILE.format(base=base, packages=" ".join(BUILD_PACKAGES))
    outcome = build_image({"Dockerfile": dockerfile.encode()}, name, {}, timeout=3600, on_line=_StepLines(say))
    if not outcome.ok:
        tail = " | ".join(line.strip() for line in outcome.log[-5:] if line.strip())
        raise DockerError(f"building {name} failed ({outcome.error}; {tail}); can {base} reach its Debian mirror?")
    return f"{name} built in {time.monotonic() - started:.0f}s"


class _StepLines:
    """Show the build's steps and apt's summary, not every package it unpacks."""

    def __init__(self, say: Callable[[str], None]) -> None:
        self.say = say

    def __call__(self, line: str) -> None:
        if line.startswith(("Step ", "E: ", "Successfully")) or "newly installed" in line:
            self.say(f"   {line}")


def _debootstrap(rootfs: Path, mirror: str, say: Callable[[str], None]) -> None:
    say(f"debootstrap {SUITE} with {', '.join(PACKAGES)} from {mirror} (about a minute)")
    args = ["debootstrap", "--variant=minbase", f"--include={','.join(PACKAGES)}", SUITE, str(rootfs), mirror]
    progress = _Progress(say)
    try:
        process.run(args, timeout=1800, on_line=progress)
    except CommandFailed as exc:
        raise DockerError(
            f"debootstrap failed ({exc}); is apt-get install debootstrap done and {mirror} reachable?"
        ) from exc


_SAME_STAGE = {"Validating": "Retrieving"}  # debootstrap alternates the two per package


class _Progress:
    """Show debootstrap's stage lines (I: Retrieving…, I: Installing…), not every package."""

    def __init__(self, say: Callable[[str], None]) -> None:
        self.say = say
        self.last_stage = ""

    def __call__(self, line: str) -> None:
        stage = line.split(" ", 2)[1] if line.startswith("I: ") and " " in line[3:] else line
        stage = _SAME_STAGE.get(stage, stage)
        if line.startswith(("E: ", "W: ")) or (line.startswith("I: ") and stage != self.last_stage):
            self.say(f"   {line}")
            self.last_stage = stage


DATA_IMAGES_DIR = Path(__file__).parent / "dataimages"
# Each data image's program, run as the containers run it: present, and runnable by uid 999.
_DATA_CHECKS = {"postgres": ["postgres", "--version"], "redis": ["redis-server", "--version"]}


def build_data_images(
    base: str = OFFLINE_IMAGE, force: bool = False, say: Callable[[str], None] = print
) -> dict[str, str]:
    """genlib/postgres and genlib/redis on top of `base`, from Debian's packages (a classic docker build:
    the base image's apt reaches the Debian mirror over plain http). Reuse each one present unless `force`."""
    built = {}
    for runtime, name in OFFLINE_DATA_IMAGES.items():
        if force or not current(name):
            started = time.monotonic()
            say(f"building {name} from {base} with Debian's {runtime} package (about a minute)")
            files = {"Dockerfile": (DATA_IMAGES_DIR / f"{runtime}.Dockerfile").read_bytes()}
            files |= {p.name: p.read_bytes() for p in DATA_IMAGES_DIR.glob(f"{runtime}-*")}  # its entrypoint
            args = {"BASE": base}
            outcome = build_image(files, name, {}, timeout=1800, on_line=_StepLines(say), buildargs=args)
            if not outcome.ok:
                tail = " | ".join(line.strip() for line in outcome.log[-5:] if line.strip())
                raise DockerError(f"building {name} failed ({outcome.error}; {tail}); can {base} reach its mirror?")
            say(f"{name} built in {time.monotonic() - started:.0f}s")
        code, output = engine.run_once(name, _DATA_CHECKS[runtime], user="999:999")
        if code != 0:
            raise DockerError(
                f"image {name} cannot run {runtime} ({output.strip()[-200:]}); `genlib base-image --force`"
            )
        built[runtime] = name
    return built


def current(name: str) -> bool:
    """Whether image `name` is present and made by this genlib (its inherited label is VERSION)."""
    return engine.image_labels(name).get(LABEL) == VERSION


def check(name: str) -> None:
    """Run the image as the containers will: user 65534, read-only, python3, python and node present."""
    code, output = engine.run_once(name, _SELF_CHECK)
    if code != 0:
        missing = {3: "node is missing", 4: "python (python-is-python3) is missing"}
        what = missing.get(code, f"the self-check failed: {output.strip()[-200:]}")
        raise DockerError(
            f"image {name} cannot run genlib's services ({what}); rebuild it with `genlib base-image --force`"
        )
