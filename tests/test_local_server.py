"""The local model server's life: started on first use, reused, restarted for another model, one per user
(the lock), stopped when asked or after its idle time, never under a connected run.

The background process is genlib's own (tests/fake_llama.py runs genlib.model.localserver); only the model
behind its HTTP port is scripted.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path

import pytest

from genlib.config import Settings
from genlib.model import local
from genlib.model.connect import connect

TESTS = Path(__file__).parent
ROOT = TESTS.parent


@pytest.fixture(autouse=True)
def scripted_model(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Runs tests/fake_llama.py as the server; whatever still runs at the end is stopped."""
    monkeypatch.setattr(local, "SERVER_COMMAND", (str(TESTS / "fake_llama.py"),))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), str(TESTS)]))  # this checkout's genlib
    yield
    local.stop()


def config(tmp_path: Path, idle: int = 600, name: str = "tiny") -> local.ServerConfig:
    model = tmp_path / f"{name}.gguf"
    model.write_bytes(b"GGUF")
    return local.ServerConfig(name=name, path=str(model), threads=1, n_ctx=2048, idle=idle)


def wait_for(condition: Callable[[], bool], seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_started_on_first_use_then_reused(tmp_path: Path) -> None:
    out = io.StringIO()
    with local.serving(config(tmp_path), out) as first:
        assert local.running() == first
        assert Path(f"/proc/{first.pid}/cwd").resolve() == local.local_dir().resolve()  # not the run's folder
    with local.serving(config(tmp_path), out) as second:
        assert second.pid == first.pid and second.port == first.port
    assert out.getvalue().count("starting the local model server (tiny, 1 thread)") == 1
    assert json.loads(local.state_path().read_text())["pid"] == first.pid
    assert local.log_path().is_file()


def test_another_model_restarts_it(tmp_path: Path) -> None:
    out = io.StringIO()
    with local.serving(config(tmp_path), out) as first:
        pass
    with local.serving(config(tmp_path, name="other"), out) as second:
        assert second.pid != first.pid and second.config.name == "other"
    assert "restarting the local model server for other (it served tiny)" in out.getvalue()
    wait_for(lambda: not pid_alive(first.pid))


def test_one_per_user_a_second_server_exits_at_once(tmp_path: Path) -> None:
    with local.serving(config(tmp_path), io.StringIO()) as state:
        second = subprocess.run(
            [sys.executable, str(TESTS / "fake_llama.py"), json.dumps(asdict(config(tmp_path)))],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode == 3
        assert "another local model server already runs for this user" in second.stdout
        assert local.running() == state


def test_idle_stop_waits_for_connected_runs(tmp_path: Path) -> None:
    with local.serving(config(tmp_path, idle=1), io.StringIO()) as state:
        time.sleep(5)  # two idle periods and more: a connected run keeps it
        assert (running := local.running()) is not None and running.pid == state.pid
    wait_for(lambda: local.running() is None)
    assert not local.state_path().exists()
    wait_for(lambda: not pid_alive(state.pid))
    assert "stopped (idle for 1s)" in local.log_path().read_text()


def test_stop_and_the_status_lines(tmp_path: Path) -> None:
    settings = Settings(local_model=str(tmp_path / "tiny.gguf"))
    assert local.status(settings)[0].startswith("no local model server runs; local_model = ")
    with local.serving(config(tmp_path), io.StringIO()) as state:
        pass
    lines = "\n".join(local.status(settings))
    assert f"pid {state.pid}, 1 thread, n_ctx 2048" in lines and "MB resident" in lines
    stopped = local.stop()
    assert stopped is not None and stopped.pid == state.pid
    assert local.running() is None and local.stop() is None


def test_connect_talks_to_it_and_keeps_the_last_run_s_figures(tmp_path: Path) -> None:
    model = config(tmp_path)
    settings = Settings(provider="local", local_model=model.path, local_threads=1, local_ctx=2048, num_predict=16)
    out = io.StringIO()
    with connect(settings, out) as llm:
        reply = llm.complete([{"role": "user", "content": "hi"}], None, None)
        wait_for(lambda: (s := local.running()) is not None and s.last_run is not None and s.last_run.tokens == 8)
    assert reply.text == "hello"
    assert out.getvalue().splitlines()[0] == "model: tiny (local llama.cpp, 1 thread)"
    assert "last run: 8 tokens generated at 16 tokens/s" in "\n".join(local.status(settings))


def test_a_server_that_dies_while_starting_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(local, "SERVER_COMMAND", ("-c", "raise SystemExit('cannot load the model')"))
    died = r"exited while starting \(cannot load the model\); see .*log"
    with pytest.raises(local.LLMUnavailable, match=died), local.serving(config(tmp_path), io.StringIO()):
        pass


def pid_alive(pid: int) -> bool:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # reap it when it is this process's child
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_server_gone_mid_run_is_said_with_its_log(tmp_path: Path) -> None:
    settings = Settings(provider="local", local_model=config(tmp_path).path, local_threads=1, local_ctx=2048)
    with pytest.raises(local.LLMUnavailable) as gone, connect(settings, io.StringIO()) as llm:
        local.stop()  # as if it crashed, or a person ran `genlib model stop`
        llm.complete([{"role": "user", "content": "hi"}], None, None)
    assert str(gone.value).endswith(f"(the local model server stopped: see {local.log_path()})")
