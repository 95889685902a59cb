"""The cost of dependencies: first build, cached no-op, code edit -> green, dependency edit -> green.

Brings the deps fixture (a python API with requirements.txt, a node server with
package.json) up on the real engine in a fresh workspace, then times:
  first build       `doit up` from nothing: images built (or reused from Docker's cache
                    when an earlier run built the same sets), compose up --wait
  cached no-op      `doit up` again: nothing to build or recreate
  code edit         a line appended to server.py, `doit up` until healthy (no build)
  dependency edit   requirements.txt changed (a unique comment, so no earlier run built
                    it), `doit up` until healthy (one build, one recreate)
and prints the sizes of the images beside their base image's.
Needs Docker, Compose and the base images (`bash .ci/setup`).

    python bench/deps_cycle.py [--image genlib/base:bookworm] [--cold]

--cold makes both dependency sets unique first, so the first build really builds both images.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import uuid
from pathlib import Path

from edit_cycle import doit  # a sibling bench (run as a script, bench/ is on sys.path)

from genlib.commands.cli import init_workspace
from genlib.config import OFFLINE_IMAGE, offline_build_image
from genlib.stack import images
from genlib.stack.engine import Stack, client
from genlib.workspace import Workspace

APP = Path(__file__).resolve().parent.parent / "tests/resources/apps/deps/llm_output.json"
ITERATION = "iter_001_deps"


def timed_edit(ws: Workspace, stack: Stack, rel: str, text: str) -> tuple[float, int]:
    """Seconds from appending `text` to `rel` to a healthy stack, and the containers replaced."""
    before = stack.container_ids()
    path = ws.iterations_dir / ITERATION / rel
    path.write_text(path.read_text() + text)
    seconds = doit(ws, "up")
    if not all(state.ok for state in stack.states().values()):
        raise SystemExit(f"the stack is not healthy after editing {rel}")
    return seconds, sum(stack.container_ids().get(name) != cid for name, cid in before.items())


def size_mib(name: str) -> float:
    return float(client().images.get(name).attrs["Size"]) / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--image", default=os.environ.get("GENLIB_IMAGE_PYTHON", OFFLINE_IMAGE))
    parser.add_argument("--cold", action="store_true", help="first build without Docker's cache of earlier runs")
    args = parser.parse_args()
    for runtime in ("PYTHON", "NODE", "STATIC"):
        os.environ[f"GENLIB_IMAGE_{runtime}"] = args.image
    if args.image == OFFLINE_IMAGE:
        for runtime in ("PYTHON", "NODE"):
            os.environ[f"GENLIB_BUILD_IMAGE_{runtime}"] = offline_build_image(args.image)
    tmp = Path(tempfile.mkdtemp(prefix="genlib-bench-"))
    ws = Workspace(init_workspace(tmp / "ws"))
    (ws.iterations_dir / ITERATION).mkdir()
    shutil.copy(APP, ws.iterations_dir / ITERATION / "llm_output.json")
    stack = Stack(ws)
    if args.cold:
        doit(ws, "materialize")
        folder = ws.iterations_dir / ITERATION
        requirements = folder / "api/quotes/requirements.txt"
        requirements.write_text(requirements.read_text() + f"# cold {uuid.uuid4().hex}\n")
        package = folder / "frontend/clock/package.json"
        package.write_text(json.dumps({**json.loads(package.read_text()), "description": uuid.uuid4().hex}))
    try:
        print(f"first build + up (2 services, image {args.image}): {doit(ws, 'up'):.1f}s")
        print(f"cached no-op `doit up`: {doit(ws, 'up'):.2f}s")
        seconds, recreated = timed_edit(ws, stack, "api/quotes/server.py", "# an edit\n")
        print(f"code edit -> green: {seconds:.2f}s, {recreated} container(s) recreated, 0 images built")
        seconds, recreated = timed_edit(ws, stack, "api/quotes/requirements.txt", f"# bench {uuid.uuid4().hex}\n")
        print(f"dependency edit -> green: {seconds:.1f}s, {recreated} container(s) recreated, 1 image built")
        print(f"image sizes (base {args.image}: {size_mib(args.image):.0f} MiB):")
        for service, tag in sorted(images.tags(ws).items()):
            print(f"  {service:15} {tag}  {size_mib(tag):.0f} MiB (+{size_mib(tag) - size_mib(args.image):.1f})")
    finally:
        stack.down()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
