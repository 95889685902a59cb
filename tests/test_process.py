from __future__ import annotations

import sys

import pytest

from genlib import process
from genlib.errors import CommandFailed


def test_streams_lines_and_returns_output() -> None:
    seen: list[str] = []
    code, output = process.run([sys.executable, "-c", "print('a'); print('b')"], on_line=seen.append)
    assert (code, output, seen) == (0, "a\nb", ["a", "b"])


def test_non_zero_exit_names_the_command_and_its_last_line() -> None:
    with pytest.raises(CommandFailed, match=r"exited 3: boom") as caught:
        process.run([sys.executable, "-c", "import sys; print('boom'); sys.exit(3)"])
    assert caught.value.returncode == 3


def test_missing_program_is_one_clear_error() -> None:
    with pytest.raises(CommandFailed, match="is not installed"):
        process.run(["genlib-no-such-program"])


def test_timeout_stops_the_child() -> None:
    with pytest.raises(CommandFailed, match="timed out"):
        process.run([sys.executable, "-c", "import time; time.sleep(30)"], timeout=0.5)


def test_an_exception_in_on_line_stops_the_child_and_closes_its_pipe() -> None:
    def stop(line: str) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        process.run([sys.executable, "-c", "print('x', flush=True); import time; time.sleep(30)"], on_line=stop)
