"""Edit -> green: one file edited, `doit up` until healthy, against recreating the whole stack.

Brings the notes fixture up on the real engine, then, --runs times each:
  edit cycle  append a line to api/notes/server.js, run `doit up` (registry, compose,
              up --wait until every healthcheck passes); count the containers replaced
  full cycle  `compose up -d --wait --force-recreate` of the same stack
and prints the medians and the containers recreated per edit (target: 1).
Needs Docker, Compose and the base image (`bash .ci/setup`).

    python bench/edit_cycle.py [--runs 5] [--image genlib/base:bookworm]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from genlib.commands.cli import init_workspace
from genlib.config import OFFLINE_IMAGE
from genlib.stack.engine import Stack
from genlib.workspace import Workspace

NOTES = Path(__file__).resolve().parent.parent / "tests/resources/apps/notes/llm_output.json"
EDITED = "iterations/iter_001_notes/api/notes/server.js"


def doit(ws: Workspace, *args: str) -> float:
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "doit", *args], cwd=ws.root, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"doit {' '.join(args)} failed:\n{proc.stdout}{proc.stderr}")
    return time.perf_counter() - started


def edit_cycle(ws: Workspace, stack: Stack, number: int) -> tuple[float, int]:
    """Seconds from the edit to a healthy stack, and how many containers were replaced."""
    before = stack.container_ids()
    server = ws.root / EDITED
    server.write_text(server.read_text() + f"// edit {number}\n")
    seconds = doit(ws, "up")
    after = stack.container_ids()
    if not all(state.ok for state in stack.states().values()):
        raise SystemExit(f"edit {number}: the stack is not healthy after `doit up`")
    return seconds, sum(after.get(name) != container for name, container in before.items())


def full_cycle(stack: Stack) -> float:
    started = time.perf_counter()
    stack.force_recreate()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--image", default=os.environ.get("GENLIB_IMAGE_NODE", OFFLINE_IMAGE))
    args = parser.parse_args()
    for runtime in ("PYTHON", "NODE", "STATIC"):
        os.environ[f"GENLIB_IMAGE_{runtime}"] = args.image
    tmp = Path(tempfile.mkdtemp(prefix="genlib-bench-"))
    ws = Workspace(init_workspace(tmp / "ws"))
    (ws.iterations_dir / "iter_001_notes").mkdir()
    shutil.copy(NOTES, ws.iterations_dir / "iter_001_notes/llm_output.json")
    stack = Stack(ws)
    try:
        print(f"first up (3 services, image {args.image}): {doit(ws, 'up'):.2f}s")
        edits = [edit_cycle(ws, stack, n) for n in range(args.runs)]
        fulls = [full_cycle(stack) for _ in range(args.runs)]
    finally:
        stack.down()
        shutil.rmtree(tmp, ignore_errors=True)
    seconds = [s for s, _ in edits]
    recreated = [n for _, n in edits]
    print(
        f"edit -> green (`doit up`, {args.runs} runs): median {statistics.median(seconds):.2f}s "
        f"(min {min(seconds):.2f}, max {max(seconds):.2f})"
    )
    print(
        f"full `compose up --force-recreate --wait` ({args.runs} runs): median {statistics.median(fulls):.2f}s "
        f"(min {min(fulls):.2f}, max {max(fulls):.2f})"
    )
    print(f"containers recreated per edit: {recreated} (target: 1 of 3)")


if __name__ == "__main__":
    main()
