"""What `doit bisect` costs: stack runs and wall time on a history of N iterations of a one-page site whose
scenario breaks at a chosen iteration (tests/bisect_history.py builds it with the library, no model).

  recorded  every iteration's results recorded and current: no stack run, the time is reading and checking
  stack     nothing recorded, the stack down: HEAD's run plus about log2(N) more, then the stack put back down;
            then the same bisect again, which finds every answer it needs recorded by those runs

The stack rows need Docker and the offline base image (--image); --no-stack skips them.

    python bench/bisect.py [--sizes 16 64] [--no-stack]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))

from bisect_history import SCENARIO, record_line, site_history

from genlib.commands.cli import init_workspace
from genlib.config import OFFLINE_IMAGE
from genlib.workspace import Workspace


def bisect(ws: Workspace) -> tuple[float, int, str]:
    """Wall seconds, stack runs, and the iteration named."""
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "doit", "bisect", f"scenario={SCENARIO}"], cwd=ws.root, capture_output=True, text=True
    )
    took = time.monotonic() - started
    runs = re.search(r"^stack runs: (\d+)", proc.stdout, re.MULTILINE)
    named = re.search(r"broke at iteration (\d+)", proc.stdout)
    if proc.returncode != 0 or runs is None or named is None:
        raise SystemExit(f"bisect failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
    return took, int(runs.group(1)), named.group(1)


def history(root: Path, size: int, recorded: bool) -> Workspace:
    """`size` iterations, the scenario broken two thirds of the way; every result recorded, or none."""
    ws = Workspace(init_workspace(root))
    line = site_history(ws, length=size, broke=size * 2 // 3)
    if recorded:
        record_line(ws, line, broke=size * 2 // 3)
    return ws


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--no-stack", action="store_true")
    parser.add_argument("--image", default=OFFLINE_IMAGE, help="the image of static components")
    args = parser.parse_args()
    os.environ["GENLIB_IMAGE_STATIC"] = args.image
    print(f"{'iterations':>10}  {'case':<16}  {'stack runs':>10}  {'seconds':>8}  named")
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            ws = history(Path(tmp) / f"recorded-{size}", size, recorded=True)
            took, runs, named = bisect(ws)
            print(f"{size:>10}  {'recorded':<16}  {runs:>10}  {took:>8.1f}  {named}")
            if args.no_stack:
                continue
            ws = history(Path(tmp) / f"stack-{size}", size, recorded=False)
            for case in ("stack", "stack, again"):
                took, runs, named = bisect(ws)
                print(f"{size:>10}  {case:<16}  {runs:>10}  {took:>8.1f}  {named}", flush=True)


if __name__ == "__main__":
    main()
