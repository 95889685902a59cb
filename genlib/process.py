"""The one wrapper around external commands (compose, debootstrap, docker import).

Argument lists only, never a shell. Ctrl-C is passed on politely: interrupt,
then terminate, then kill, so no child outlives genlib.
"""

from __future__ import annotations

import logging
import shlex
import signal
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

from genlib.errors import CommandFailed

log = logging.getLogger(__name__)

_GRACE_SECONDS = (3.0, 3.0)  # after SIGINT, after SIGTERM


def run(
    args: Sequence[str],
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float | None = None,
    check: bool = True,
    on_line: Callable[[str], None] | None = None,
    input_bytes: bytes | None = None,
) -> tuple[int, str]:
    """Run `args`, return (returncode, combined output).

    `on_line` sees each output line as it arrives (progress for long builds).
    Raises CommandFailed when the program is missing, times out, or (with
    `check`) exits non-zero.
    """
    log.debug("run: %s", shlex.join(args))
    try:
        proc = subprocess.Popen(
            list(args),
            cwd=cwd,
            env=env,
            stdin=subprocess.PIPE if input_bytes is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
    except FileNotFoundError as exc:
        raise CommandFailed(f"{args[0]} is not installed (or not on PATH)") from exc
    with proc:  # closes the pipes and reaps the child on every way out
        try:
            output = _collect(proc, on_line, input_bytes, timeout)
        except subprocess.TimeoutExpired as exc:
            _stop(proc)
            raise CommandFailed(f"{shlex.join(args[:3])} … timed out after {timeout:.0f}s") from exc
        except BaseException:
            _stop(proc)
            raise
    if check and proc.returncode != 0:
        tail = output.strip().splitlines()[-1:] or ["(no output)"]
        raise CommandFailed(
            f"{shlex.join(args[:3])} … exited {proc.returncode}: {tail[0]}",
            proc.returncode,
            output,
        )
    return proc.returncode, output


def _collect(
    proc: subprocess.Popen[bytes],
    on_line: Callable[[str], None] | None,
    input_bytes: bytes | None,
    timeout: float | None,
) -> str:
    if on_line is None:
        out, _ = proc.communicate(input_bytes, timeout=timeout)
        return out.decode(errors="replace")
    assert proc.stdout is not None
    if input_bytes is not None and proc.stdin is not None:
        proc.stdin.write(input_bytes)
        proc.stdin.close()
    lines = []
    with proc.stdout:  # closed even when on_line raises (e.g. Ctrl-C)
        for raw in proc.stdout:
            line = raw.decode(errors="replace").rstrip("\n")
            lines.append(line)
            on_line(line)
    proc.wait(timeout=timeout)
    return "\n".join(lines)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Interrupt, then terminate, then kill: give the child a chance to clean up."""
    for sig, grace in ((signal.SIGINT, _GRACE_SECONDS[0]), (signal.SIGTERM, _GRACE_SECONDS[1])):
        if proc.poll() is not None:
            return
        proc.send_signal(sig)
        try:
            proc.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue
    proc.kill()
    proc.wait()
