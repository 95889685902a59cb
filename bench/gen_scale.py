"""How a gen in steps (the default) scales: 5-, 40- and 200-file apps against an instant model.

Runs `doit gen` in-process against the scripted Ollama of the tests (each answer arrives in one chunk),
in a fresh workspace per app, and prints per app: requests, prompt tokens sent (the scripted server's
count: 4 characters a token), the share of them in the prefix repeated from the previous request (what
the model server's cache spares), genlib's own wall time per file while asking (plan and files: prompts,
checks, keeping each answer; the model costs nothing here), and the whole gen (with the graph's
materialize/registry/compose).

    python bench/gen_scale.py [--sizes 5 40 200]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tempfile
import time
from itertools import pairwise
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from ollama_server import ScriptedOllama
from resources import many_files

from genlib import lock
from genlib.commands.cli import init_workspace
from genlib.loops import gen
from genlib.model import stepgen
from genlib.model.stepgen import Plan
from genlib.workspace import Workspace


def prompt_text(chat: dict[str, Any]) -> str:
    return "".join(f"<{m['role']}>{m['content']}" for m in chat["messages"])


def shared_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


ASKING: list[float] = []
_generate = stepgen.generate


def timed_generate(*args: Any) -> Any:
    started = time.perf_counter()
    try:
        return _generate(*args)
    finally:
        ASKING.append(time.perf_counter() - started)


stepgen.generate = timed_generate  # gen.run calls it through the module


def run(count: int) -> dict[str, float]:
    server = ScriptedOllama().start()
    server.piece = 1 << 30  # the whole answer in one chunk: an instant model
    os.environ["OLLAMA_HOST"] = server.url
    plan = many_files.plan(count)
    order = [f.path for f in Plan.model_validate(plan).in_order()]
    server.enqueue(json.dumps(plan), *[many_files.fenced(many_files.content(p)) for p in order])
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace(init_workspace(Path(tmp) / "ws"))
        started = time.perf_counter()
        code = gen.run(ws, {"desc": f"an app of {count} files"}, out=io.StringIO())
        seconds = time.perf_counter() - started
        lock.release(ws)
    server.stop()
    assert code == 0, code
    texts = [prompt_text(c) for c in server.chats()]
    repeated = sum(shared_prefix(a, b) for a, b in pairwise(texts))
    sent = sum(len(t) for t in texts)
    return {
        "files": count,
        "requests": len(texts),
        "prompt_tokens": sent // 4,
        "prefix_share": repeated / sent,
        "ms_per_file": 1000 * ASKING[-1] / count,
        "gen_s": seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[5, 40, 200])
    args = parser.parse_args()
    print(
        f"{'files':>6} {'requests':>9} {'prompt tokens':>14} {'in repeated prefix':>19} {'genlib ms/file':>15}"
        f" {'whole gen s':>12}"
    )
    for count in args.sizes:
        r = run(count)
        print(
            f"{r['files']:>6} {r['requests']:>9} {r['prompt_tokens']:>14,} {r['prefix_share']:>18.1%} "
            f"{r['ms_per_file']:>15.1f} {r['gen_s']:>12.1f}"
        )


if __name__ == "__main__":
    main()
