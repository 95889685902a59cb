"""The one `docker build`: a classic build (no BuildKit here) of an in-memory context.

Every image it makes is labelled `genlib.built=<tag>`, its build stages too (genlib.stack.disk finds
those that are left untagged), and a failed step is an outcome with its log, not an error.
"""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from genlib.stack.engine import BUILT_LABEL, client, docker_errors, split_lines


@dataclass(frozen=True)
class BuildOutcome:
    """What a build did: the new image's id, or the error and the log that led to it."""

    image_id: str  # "" when the build failed
    log: list[str]
    error: str = ""

    @property
    def ok(self) -> bool:
        return bool(self.image_id)


def label_stages(dockerfile: str, tag: str) -> str:
    """`LABEL genlib.built=<tag>` after every FROM: a build stage, left untagged once the final image is
    tagged, is then genlib's to find and prune (genlib.stack.disk)."""
    lines = []
    for line in dockerfile.splitlines():
        lines.append(line)
        if line.strip().upper().startswith("FROM "):
            lines.append(f"LABEL {BUILT_LABEL}={json.dumps(tag)}")
    return "\n".join(lines) + "\n"


def build_image(
    files: dict[str, bytes],
    tag: str,
    labels: dict[str, str],
    timeout: float,
    on_line: Callable[[str], None] | None = None,
    buildargs: dict[str, str] | None = None,
) -> BuildOutcome:
    """A classic `docker build` (no BuildKit here) of an in-memory context holding a Dockerfile.

    A step that fails (pip cannot find a package, npm a version) is an outcome, not an
    error: it is the app's dependency file that needs fixing, and heal reads the log.
    """
    import requests

    log: list[str] = []
    failed: list[str] = []  # Docker's error, when a step failed
    files = {**files, "Dockerfile": label_stages(files["Dockerfile"].decode(), tag).encode()}
    try:
        with docker_errors(f"build image {tag}"):
            chunks = client(timeout=timeout).api.build(
                fileobj=_tarball(files),
                custom_context=True,
                tag=tag,
                labels={**labels, BUILT_LABEL: tag},
                buildargs=buildargs or {},
                rm=True,
                forcerm=True,
                decode=True,
                pull=False,
            )
            for line in split_lines(_build_text(chunks, failed)):  # a step's stderr comes in pieces of lines
                log.append(line)
                if on_line is not None and line.strip():
                    on_line(line)
            if failed:
                return BuildOutcome("", log, failed[0])
            return BuildOutcome(str(client().images.get(tag).id), log)
    except requests.exceptions.ReadTimeout:
        return BuildOutcome("", log, f"the build took longer than {timeout:g}s (setting build_timeout)")


def _build_text(chunks: Iterator[dict[str, object]], failed: list[str]) -> Iterator[bytes]:
    """The text of a build's stream, as it comes; stops at Docker's error, which goes into `failed`."""
    for chunk in chunks:
        if "error" in chunk:
            failed.append(str(chunk["error"]).strip())
            yield b"\n"  # ends a line the failed step left open
            return
        status = chunk.get("status")
        yield str(chunk.get("stream") or (f"{status}\n" if status else "")).encode()


def _tarball(files: dict[str, bytes]) -> io.BytesIO:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 0  # mtime 0: the same bytes, the same layer cache
            tar.addfile(info, io.BytesIO(data))
    buffer.seek(0)
    return buffer
