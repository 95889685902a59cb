"""The background process behind provider=local: llama.cpp's HTTP server, in-process through xllamacpp.

`genlib.model.local` starts it (`python -m genlib.model.localserver CONFIG_JSON`) detached from the run,
so it outlives one `doit` and keeps its prompt cache warm for the next. It holds the server lock for its
whole life (one per machine user), writes server.json once it listens, keeps the last run's figures
there, and exits when no run has used it for `idle` seconds.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import socket
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import replace
from typing import IO

from genlib.model.local import (
    RunFigures,
    ServerConfig,
    ServerState,
    clients_lock_path,
    local_dir,
    server_lock_path,
    state_path,
    write_state,
)

POLL_SECONDS = 2.0
_COUNTERS = (
    "prompt_tokens_total",
    "prompt_tokens_cached_total",
    "prompt_seconds_total",
    "tokens_predicted_total",
    "tokens_predicted_seconds_total",
    "n_decode_total",
    "requests_processing",
    "requests_deferred",
)


Serve = Callable[[ServerConfig, int], object]


def main(argv: list[str], serve: Serve | None = None) -> int:
    """Run until stopped or idle; `serve` starts the HTTP server on a port (llama.cpp; tests script one)."""
    config = ServerConfig(**json.loads(argv[0]))
    os.chdir(local_dir())  # not the first run's workspace: it may be moved or deleted while this runs
    lock = _hold(server_lock_path())
    if lock is None:
        print("another local model server already runs for this user", flush=True)
        return 3
    port = _free_port()
    started = time.monotonic()
    server = (serve or _serve)(config, port)  # noqa: F841 (the HTTP server lives as long as this object)
    state = ServerState(
        config=config,
        pid=os.getpid(),
        port=port,
        started=time.time(),
        load_seconds=round(time.monotonic() - started, 2),
    )
    write_state(state)
    print(f"listening on 127.0.0.1:{port}, loaded in {state.load_seconds}s", flush=True)
    stopping: list[int] = []
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda number, _frame: stopping.append(number))
    _watch(state, stopping)
    state_path().unlink(missing_ok=True)
    print("stopped", "(asked)" if stopping else f"(idle for {config.idle}s)", flush=True)
    os._exit(0)  # the llama.cpp threads need no orderly teardown; the kernel frees the model and the locks


def _watch(state: ServerState, stopping: list[int]) -> None:
    """Until asked to stop or idle: record each run's figures; a run is the time a genlib command is connected."""
    idle_since = time.monotonic()
    last = _metrics(state.port)
    run_start: dict[str, float] | None = None
    while not stopping:
        time.sleep(POLL_SECONDS)
        now = _metrics(state.port)
        connected = _held_by_others(clients_lock_path())
        busy = connected or now["requests_processing"] or now["requests_deferred"] or now != last
        if connected and run_start is None:
            run_start = last  # read before the run connected: its first requests may be done already
        last = now
        if run_start is not None:
            figures = _figures(run_start, now)
            if figures != state.last_run:
                state = replace(state, last_run=figures)
                write_state(state)
            if not connected:
                run_start = None
        if busy:
            idle_since = time.monotonic()
        elif time.monotonic() - idle_since >= state.config.idle and _hold(clients_lock_path()) is not None:
            return  # the clients lock stays held until exit: a run starting now waits, then starts a new server


def _figures(start: dict[str, float], now: dict[str, float]) -> RunFigures:
    d = {name: now[name] - start[name] for name in _COUNTERS}
    return RunFigures(
        prompt_tokens=int(d["prompt_tokens_total"]),
        cached_tokens=int(d["prompt_tokens_cached_total"]),
        prompt_per_second=round(d["prompt_tokens_total"] / d["prompt_seconds_total"], 1)
        if d["prompt_seconds_total"]
        else 0.0,
        tokens=int(d["tokens_predicted_total"]),
        per_second=round(d["tokens_predicted_total"] / d["tokens_predicted_seconds_total"], 1)
        if d["tokens_predicted_seconds_total"]
        else 0.0,
    )


def _metrics(port: int) -> dict[str, float]:
    """llama.cpp's Prometheus counters, by their short names."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    found = dict.fromkeys(_COUNTERS, 0.0)
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        short = name.removeprefix("llamacpp:")
        if short in found:
            found[short] = float(value)
    return found


def _serve(config: ServerConfig, port: int) -> object:
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = config.path
    params.model_alias = {config.name}  # a set: a str would become its characters
    params.port = port
    params.hostnames = ["127.0.0.1"]
    params.n_ctx = config.n_ctx
    params.n_parallel = 1  # one slot: its prompt cache is the one the next request reuses
    params.cpuparams.n_threads = config.threads
    params.cpuparams_batch.n_threads = config.threads
    params.use_jinja = True
    params.ui = False
    params.endpoint_metrics = True
    return xllamacpp.Server(params)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


_kept: list[IO[str]] = []


def _hold(path: os.PathLike[str] | str) -> IO[str] | None:
    """An exclusive flock on `path`, kept until the process exits; None when another process has it."""
    handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 (held for the process)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    _kept.append(handle)
    return handle


def _held_by_others(path: os.PathLike[str] | str) -> bool:
    with open(path, "a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
