"""Named points of a run where the fault suite stops it for certain: a kill point proven in progress.

    checkpoint.reach("materialize")

Unset (always, outside tests/faults), `reach` is one environment lookup. With GENLIB_CHECKPOINT=<name>,
the run that reaches that point creates the file GENLIB_CHECKPOINT_FILE (the step is under way, its work
half done), then waits there up to WAIT_SECONDS for the test's signal before going on. The points:

    streaming       an answer from Ollama has started to arrive (gen, heal)
    write_iteration the new iteration's files are in its hidden temp folder, not yet renamed into place
    materialize     an iteration's layer files are written, its manifest not yet
    registry        the registry task is running, registry.yaml not yet written
    compose         the compose task is running, docker-compose.yml not yet written
    up              the stack is up, up.json not yet written
    test            the scenarios have run, results.json not yet written
"""

from __future__ import annotations

import os
import time
from pathlib import Path

NAME = "GENLIB_CHECKPOINT"
FILE = "GENLIB_CHECKPOINT_FILE"
WAIT_SECONDS = 120.0


def reach(name: str) -> None:
    """Announce `name` and wait for a signal, when GENLIB_CHECKPOINT names it (in the main thread only:
    that is where Python delivers SIGINT)."""
    if os.environ.get(NAME) != name:
        return
    marker = Path(os.environ[FILE])
    if marker.exists():
        return  # reached once already in this run (a loop): stop at the first
    marker.write_text(f"{name} {os.getpid()}\n")
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:  # short sleeps: a SIGINT the kernel gave another thread is seen
        time.sleep(0.05)  # between them (one long sleep would not wake for it)
