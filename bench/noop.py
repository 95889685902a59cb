"""How much a no-op `doit` costs as history grows, against doit's own floor.

Builds synthetic workspaces of 10, 100 and 1,000 iterations x 10 files each,
in two shapes:
  patch  every iteration rewrites 10 of a pool of 50 files (what heal rounds do);
  new    every iteration adds 10 new files (worst case: HEAD uses all 10,000).
It runs the build graph once, then times >= 5 no-op runs of the graph beside
>= 5 runs of an empty dodo.py, interleaved in the same session, and prints
the medians and their ratio.

Then the whole plain `doit` (materialize .. up, test) of the notes app with its
stack running and its tests green, beside the graph-only no-op of the same
workspace and the empty dodo.py, interleaved: `up`'s up-to-date check asks the
engine whether the stack still runs, so this is the no-op a person waits for.
It needs Docker and the offline base image (--image); --no-stack skips it.

Every run caches bytecode, as people's machines do: PYTHONDONTWRITEBYTECODE (set on some CI and
development machines) is removed from the runs' environment, or each start would compile genlib again.

    python bench/noop.py [--sizes 10 100 1000] [--runs 7] [--shapes patch new] [--no-stack]
"""

from __future__ import annotations

import argparse
import json
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
from genlib.documents.scenarios import TestFile, merge_model_scenarios, parse_scenarios, save_tests
from genlib.stack.engine import Stack
from genlib.workspace import Workspace

FILES_PER_ITERATION = 10
COMPONENTS = 10
POOL = 5  # files per component in the "patch" shape: 50 in all
GRAPH = ["materialize", "registry", "compose"]
NOTES = Path(__file__).parents[1] / "tests/resources/apps/notes/llm_output.json"


def file_name(shape: str, number: int) -> str:
    return f"module_{number:04d}.py" if shape == "new" else f"module_{number % POOL}.py"


def synthetic_output(number: int, shape: str) -> dict[str, object]:
    files = [
        {"path": f"backend/c{j}/{file_name(shape, number)}", "content": f"VALUE = {number * 100 + j}\n"}
        for j in range(FILES_PER_ITERATION)
    ]
    components = [
        {"name": f"c{j}", "layer": "backend", "runtime": "python", "port": 9000 + j, "command": ["python3", "main.py"]}
        for j in range(COMPONENTS)
    ]
    return {
        "format": "genlib.llm_output/1",
        "kind": "gen" if number == 1 else "patch",
        "description": f"synthetic iteration {number}",
        "answer": {"components": components if number == 1 else [], "files": files},
    }


def make_workspace(root: Path, iterations: int, shape: str) -> Path:
    ws = init_workspace(root)
    for number in range(1, iterations + 1):
        folder = ws / "iterations" / f"iter_{number:03d}_{'bench' if number == 1 else 'patch'}"
        folder.mkdir()
        (folder / "llm_output.json").write_text(json.dumps(synthetic_output(number, shape)))
    return ws


def cached() -> dict[str, str]:
    """The environment without PYTHONDONTWRITEBYTECODE: bytecode cached after the first start, as people run."""
    return {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}


def doit(cwd: Path, *args: str) -> float:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "doit", *args], cwd=cwd, capture_output=True, text=True, env=cached())
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"doit failed in {cwd}:\n{proc.stdout}{proc.stderr}")
    return elapsed


def medians_ms(ws: Path, empty: Path, runs: int) -> tuple[float, float]:
    """Interleaved, so a busy machine slows both sides alike."""
    noop, floor = [], []
    for _ in range(runs):
        noop.append(doit(ws, *GRAPH))
        floor.append(doit(empty))
    return statistics.median(noop) * 1000, statistics.median(floor) * 1000


def green(ws: Path, attempts: int = 3) -> float:
    """The first plain `doit`: build, bring the stack up, run the scenarios; again while a scenario fails
    (a loaded machine can fail one), so the timed runs are no-ops."""
    for _ in range(attempts - 1):
        start = time.perf_counter()
        if subprocess.run([sys.executable, "-m", "doit"], cwd=ws, capture_output=True, env=cached()).returncode == 0:
            return time.perf_counter() - start
    return doit(ws)


def running_stack(tmp: Path, empty: Path, runs: int) -> None:
    """Plain `doit` with the notes stack up and green, graph-only and empty dodo.py interleaved."""
    ws = Workspace(init_workspace(tmp / "notes"))
    folder = ws.iterations_dir / "iter_001_notes"
    folder.mkdir()
    shutil.copy(NOTES, folder / "llm_output.json")
    proposed = parse_scenarios(json.loads(NOTES.read_text())["answer"]["scenarios"])
    save_tests(ws.tests_path, merge_model_scenarios(TestFile(), proposed, folder.name)[0])
    try:
        first = green(ws.root) * 1000
        whole, graph, floor = [], [], []
        for _ in range(runs):
            whole.append(doit(ws.root))
            graph.append(doit(ws.root, *GRAPH))
            floor.append(doit(empty))
    finally:
        Stack(ws).down()
    floor_ms = statistics.median(floor) * 1000
    print(f"\nthe notes app (3 services) running, tests green; first plain doit {first:.0f}ms; medians of {runs}:")
    for label, times in (("plain doit (.. up, test)", whole), ("graph only (" + " ".join(GRAPH) + ")", graph)):
        ms = statistics.median(times) * 1000
        print(f"  {label:<45} {ms:>6.0f}ms  {ms / floor_ms:>5.2f}x")
    print(f"  {'empty dodo.py':<45} {floor_ms:>6.0f}ms  {1:>5.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--shapes", nargs="+", default=["patch", "new"], choices=["patch", "new"])
    parser.add_argument("--no-stack", action="store_true", help="skip the running-stack figure (needs Docker)")
    parser.add_argument("--image", default=os.environ.get("GENLIB_IMAGE_NODE", OFFLINE_IMAGE))
    args = parser.parse_args()
    print("bytecode caching on (PYTHONDONTWRITEBYTECODE removed from the runs' environment), as people run it")
    with tempfile.TemporaryDirectory(prefix="genlib-bench-") as tmp:
        empty = Path(tmp) / "empty"
        empty.mkdir()
        (empty / "dodo.py").write_text("DOIT_CONFIG = {'backend': 'sqlite3', 'dep_file': 'deps.sqlite3'}\n")
        header = f"{'shape':>6} {'iterations':>10} {'files':>7} {'used':>6} {'first build':>12}"
        print(header + f" {'no-op':>9} {'empty dodo':>11} {'ratio':>6}")
        for shape in args.shapes:
            for size in args.sizes:
                ws = make_workspace(Path(tmp) / f"{shape}{size}", size, shape)
                first = doit(ws, *GRAPH) * 1000
                noop, floor = medians_ms(ws, empty, args.runs)
                used = len(list((ws / "iterations").glob("iter_*/backend/*/*.py")))
                used = min(used, COMPONENTS * POOL) if shape == "patch" else used
                print(
                    f"{shape:>6} {size:>10} {size * FILES_PER_ITERATION:>7} {used:>6} {first:>10.0f}ms"
                    f" {noop:>7.0f}ms {floor:>9.0f}ms {noop / floor:>5.2f}x"
                )
        if not args.no_stack:
            for runtime in ("PYTHON", "NODE", "STATIC"):
                os.environ[f"GENLIB_IMAGE_{runtime}"] = args.image
            running_stack(Path(tmp), empty, args.runs)


if __name__ == "__main__":
    main()
