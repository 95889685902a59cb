"""provider=local: a llama.cpp server genlib runs itself, shared by every run of this machine user.

    serving(settings, out)  the running server for `local_model` (started, or restarted for another model);
                            held as a client until the block ends, so the server never idles out under a run
    running()               what runs now (server.json, trusted only while the server lock is held)
    stop()                  ask it to stop and wait

The server itself is genlib.model.localserver, a detached process: it outlives one `doit`, so gen and heal
keep its prompt cache warm, and it exits after `local_idle` seconds with no run connected. Everything lives in
$XDG_CACHE_HOME/genlib/local/: server.json, server.log and the locks. genlib talks to it as provider=openai.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import IO, TextIO

from genlib.config import Settings
from genlib.errors import LLMUnavailable
from genlib.fsutil import atomic_write_text
from genlib.model import catalogue

START_TIMEOUT = 300.0  # a cold 1.5B on a loaded 2-core machine
SERVER_COMMAND = ("-m", "genlib.model.localserver")  # run by this Python; tests run a scripted model instead


@dataclass(frozen=True)
class ServerConfig:
    """What a server was started with; a run wanting another model, window or thread count restarts it."""

    name: str
    path: str
    threads: int
    n_ctx: int
    idle: int  # seconds with no run connected, then it exits


@dataclass(frozen=True)
class RunFigures:
    """The last run's totals, from llama.cpp's counters while that run was connected."""

    prompt_tokens: int = 0
    cached_tokens: int = 0
    prompt_per_second: float = 0.0
    tokens: int = 0
    per_second: float = 0.0


@dataclass(frozen=True)
class ServerState:
    config: ServerConfig
    pid: int
    port: int
    started: float  # time.time()
    load_seconds: float
    last_run: RunFigures | None = field(default=None)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"


def config_for(settings: Settings) -> ServerConfig:
    """The server `settings` ask for (local_model, local_threads, local_ctx, local_idle); threads 0: any."""
    path = str(catalogue.model_path(settings.local_model))
    name = catalogue.model_name(settings.local_model)
    return ServerConfig(name, path, settings.local_threads, settings.local_ctx, settings.local_idle)


def threads_for(config: ServerConfig) -> int:
    """The threads that will answer: the running server's when it serves `config`, else what a start takes."""
    state = running()
    if state is not None and _serves(state.config, config):
        return state.config.threads
    return config.threads or idle_cores()


def threads(count: int) -> str:
    return f"{count} thread{'' if count == 1 else 's'}"


def idle_cores() -> int:
    """The cores nobody else keeps busy (the 1-minute load average), at least one.

    llama.cpp's threads wait for each other after every layer: on a 2-core machine busy with other work,
    the 1.5B made ~5 tokens/s on 1 thread and under 1 on 2 (measured, 2026-12-06)."""
    cores = len(os.sched_getaffinity(0))
    return max(1, min(cores, round(cores - os.getloadavg()[0])))


def _serves(running: ServerConfig, wanted: ServerConfig) -> bool:
    """A server started for `running` serves `wanted`: all the same, the threads too unless any will do."""
    return running == replace(wanted, threads=wanted.threads or running.threads)


def local_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    path = Path(base) / "genlib" / "local"
    path.mkdir(parents=True, exist_ok=True)
    return path


def state_path() -> Path:
    return local_dir() / "server.json"


def log_path() -> Path:
    return local_dir() / "server.log"


def server_lock_path() -> Path:
    return local_dir() / "server.lock"


def clients_lock_path() -> Path:
    return local_dir() / "clients.lock"


def write_state(state: ServerState) -> None:
    atomic_write_text(state_path(), json.dumps(asdict(state), indent=1) + "\n")


def read_state() -> ServerState | None:
    try:
        data = json.loads(state_path().read_text(encoding="utf-8"))
        figures = data.pop("last_run", None)
        config = ServerConfig(**data.pop("config"))
        return ServerState(config=config, last_run=RunFigures(**figures) if figures else None, **data)
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None  # absent, half-written by a crash, or from another genlib: not a server to trust


def running() -> ServerState | None:
    """The server that runs now: its lock is held and its state file names a live pid."""
    if not _locked(server_lock_path()):
        return None
    state = read_state()
    if state is None or not _alive(state.pid):
        return None
    return state


@contextmanager
def serving(config: ServerConfig, out: TextIO) -> Iterator[ServerState]:
    """A server for `config`, kept from idling out until the block ends."""
    with _flock(clients_lock_path(), fcntl.LOCK_SH):  # held for the run: the server never idles out under it
        with _flock(local_dir() / "start.lock", fcntl.LOCK_EX):  # one run starts it, the others wait and reuse
            state = running()
            if state is not None and not _serves(state.config, config):
                out.write(f"restarting the local model server for {config.name} (it served {state.config.name})\n")
                stop()
                state = None
            if state is None:
                state = _start(replace(config, threads=config.threads or idle_cores()), out)
        yield state


def stop(timeout: float = 30.0) -> ServerState | None:
    """Ask the running server to stop (SIGTERM) and wait until its lock is free; None when none runs."""
    state = running()
    if state is None:
        return None
    os.kill(state.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _locked(server_lock_path()):
        if time.monotonic() > deadline:
            os.kill(state.pid, signal.SIGKILL)
            deadline += timeout
        time.sleep(0.1)
    return state


def status(settings: Settings) -> list[str]:
    """What `genlib model` shows: the running server, or what would run and whether it is installed."""
    state = running()
    if state is None:
        name = settings.local_model
        where = catalogue.model_path(name)
        have = f"installed at {where}" if catalogue.installed(name) else f"not installed (genlib model install {name})"
        return [f"no local model server runs; local_model = {name}, {have}", f"log: {log_path()}"]
    c, run = state.config, state.last_run
    idle = f"stops after {c.idle}s with no run connected"
    lines = [
        f"model:    {c.name} ({c.path})",
        f"server:   local llama.cpp at {state.base_url}, pid {state.pid}, {threads(c.threads)}, n_ctx {c.n_ctx}",
        f"memory:   {_resident_mb(state.pid)} MB resident",
        f"up:       {_minutes(time.time() - state.started)} (loaded in {state.load_seconds:g}s); {idle}",
    ]
    if run is not None:
        lines.append(
            f"last run: {run.tokens} tokens generated at {run.per_second:g} tokens/s; {run.prompt_tokens} prompt "
            f"tokens read at {run.prompt_per_second:g} tokens/s, {run.cached_tokens} more from the cache"
        )
    return [*lines, f"log:      {log_path()}"]


def _resident_mb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) // 1024
    except OSError:
        pass
    return 0


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 60 else f"{seconds:.0f}s"


def _start(config: ServerConfig, out: TextIO) -> ServerState:
    out.write(f"starting the local model server ({config.name}, {threads(config.threads)}); log: {log_path()}\n")
    out.flush()
    began = time.monotonic()
    with open(log_path(), "a", encoding="utf-8") as log:
        log.write(f"\n--- {time.strftime('%Y-%m-%d %H:%M:%S')} starting {config.path}\n")
    pid = _spawn([sys.executable, *SERVER_COMMAND, json.dumps(asdict(config))])
    while time.monotonic() - began < START_TIMEOUT:
        state = read_state()
        if state is not None and state.pid == pid and _healthy(state.port):
            out.write(f"local model server ready in {time.monotonic() - began:.1f}s (pid {state.pid})\n")
            return state
        if os.waitpid(pid, os.WNOHANG) != (0, 0):
            raise LLMUnavailable(
                f"the local model server exited while starting ({_last_line(log_path())}); see {log_path()}"
            )
        time.sleep(0.2)
    os.kill(pid, signal.SIGTERM)
    raise LLMUnavailable(f"the local model server did not start in {START_TIMEOUT:g}s; see {log_path()}")


def _spawn(argv: list[str]) -> int:
    """Start `argv` in a session of its own (a Ctrl-C in the run does not reach it), output to the log.

    Not subprocess.Popen: it outlives this process on purpose, and Popen warns about a child left running."""
    log = os.open(log_path(), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        stdin = (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0)
        actions = (stdin, (os.POSIX_SPAWN_DUP2, log, 1), (os.POSIX_SPAWN_DUP2, log, 2))
        return os.posix_spawn(argv[0], argv, os.environ, file_actions=actions, setsid=True)
    finally:
        os.close(log)


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _last_line(path: Path) -> str:
    lines = [line.strip() for line in path.read_text(encoding="utf-8", errors="replace").splitlines() if line.strip()]
    return lines[-1][:200] if lines else "no output"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _locked(path: Path) -> bool:
    """Someone holds an exclusive flock on `path` (the server on its lock)."""
    with open(path, "a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        return False


@contextmanager
def _flock(path: Path, kind: int) -> Iterator[IO[str]]:
    with open(path, "a+", encoding="utf-8") as handle:
        fcntl.flock(handle, kind)
        try:
            yield handle
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
