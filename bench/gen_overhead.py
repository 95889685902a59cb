"""What `doit gen` costs besides the model: prompt building, validation, writing, the graph.

Runs gen in-process against the scripted Ollama of the tests (answers arrive at
once), in a fresh workspace and then on top of an app with N extra components, and
prints the median wall time of each step group and the prompt size.

    python bench/gen_overhead.py [--runs 5] [--components 50]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from ollama_server import ScriptedOllama

from genlib import lock
from genlib.commands.cli import init_workspace
from genlib.loops import gen
from genlib.workspace import Workspace

NOTES = Path(__file__).resolve().parent.parent / "tests/resources/apps/notes/llm_output.json"


def big_app(components: int) -> dict[str, object]:
    """The notes app plus `components` small python workers (a larger prompt context)."""
    answer = json.loads(NOTES.read_text())["answer"]
    for n in range(components):
        answer["components"].append(
            {"name": f"w{n}", "layer": "workers", "runtime": "python", "command": ["python3", "w.py"]}
        )
        answer["files"].append({"path": f"workers/w{n}/w.py", "content": f"print('worker {n}', flush=True)\n" * 20})
    return answer


def timed_gen(server: ScriptedOllama, ws: Workspace, desc: str, answer: str) -> tuple[float, int]:
    server.enqueue(answer)
    started = time.perf_counter()
    code = gen.run(ws, {"desc": desc}, out=io.StringIO())
    lock.release(ws)
    assert code == 0, code
    return time.perf_counter() - started, len(server.chats()[-1]["messages"][0]["content"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--components", type=int, default=50)
    args = parser.parse_args()
    server = ScriptedOllama().start()
    os.environ["OLLAMA_HOST"] = server.url
    first, second, sizes = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.runs):
            ws = Workspace(init_workspace(Path(tmp) / f"ws{run}"))
            seconds, _ = timed_gen(server, ws, "a big app", json.dumps(big_app(args.components)))
            first.append(seconds)
            seconds, chars = timed_gen(server, ws, "add a worker", json.dumps(big_app(0) | {"scenarios": []}))
            second.append(seconds)
            sizes.append(chars)
    server.stop()
    print(f"gen overhead, median of {args.runs} (scripted model, answers arrive at once):")
    print(f"  first gen, {args.components + 3} components: {statistics.median(first) * 1000:.0f} ms")
    print(f"  second gen on top of it:         {statistics.median(second) * 1000:.0f} ms, prompt {sizes[0]} chars")


if __name__ == "__main__":
    main()
