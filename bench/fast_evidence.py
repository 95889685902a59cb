"""How soon does `doit up` report a service that will never be healthy, and do slow starters still pass?

    python bench/fast_evidence.py          (target: exited at once, never-healthy within ~10 s)

Variants of the notes app on the real engine: the api exits at start-up, listens on the wrong port,
answers 404 on its health path, or starts slowly (listens after 15 s). Prints the seconds `Stack.up`
took and what it reported for notes-api.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from conftest import APPS, BASE_IMAGE, add_iteration, run_doit

from genlib.commands.cli import init_workspace
from genlib.stack.engine import Stack
from genlib.workspace import Workspace

LISTEN = ".listen(port, () => console.log(`notes api listening on ${port}`));"
VARIANTS: dict[str, list[tuple[str, str]]] = {
    "exits at start-up": [('const http = require("http");', 'throw new Error("corrupt store");')],
    "listens on the wrong port": [("Number(process.env.PORT || 3000)", "3001")],
    "health path answers 404": [('req.url === "/health"', 'req.url === "/healthz"')],
    "slow starter (15 s)": [
        ("http\n  .createServer", "const server = http\n  .createServer"),
        (LISTEN, ";\nsetTimeout(() => server" + LISTEN.removesuffix(";") + ", 15000);"),
    ],
}


def variant(root: Path, name: str, edits: list[tuple[str, str]]) -> Workspace:
    ws = Workspace(init_workspace(root / "".join(c if c.isalnum() else "_" for c in name)))
    data = json.loads((APPS / "notes" / "llm_output.json").read_text())
    for f in data["answer"]["files"]:
        if f["path"] == "api/notes/server.js":
            for old, new in edits:
                assert old in f["content"], old
                f["content"] = f["content"].replace(old, new, 1)
    source = root / f"{ws.root.name}.json"
    source.write_text(json.dumps(data))
    add_iteration(ws, "iter_001_notes", source)
    built = run_doit(ws, "compose")
    assert built.returncode == 0, built.output
    return ws


def main() -> None:
    for runtime in ("PYTHON", "NODE", "STATIC"):
        os.environ[f"GENLIB_IMAGE_{runtime}"] = BASE_IMAGE
    print(f"{'notes-api':28} {'told s':>6} {'up s':>6}  reported")
    with tempfile.TemporaryDirectory() as tmp:
        for name, edits in VARIANTS.items():
            ws = variant(Path(tmp), name, edits)
            stack = Stack(ws, up_timeout=120)
            start = time.monotonic()
            told: list[float] = []  # when `up` first printed the failure (it does not wait for the others)

            def on_line(line: str, told: list[float] = told, start: float = start) -> None:
                if "notes-api" in line and "not waiting" in line and not told:
                    told.append(time.monotonic() - start)

            try:
                result = stack.up(on_line=on_line)
                took = time.monotonic() - start
                failed = {f.service: f.reason for f in result.failed}
                first = f"{told[0]:6.1f}" if told else f"{'-':>6}"
                print(f"{name:28} {first} {took:6.1f}  {failed.get('notes-api', 'healthy')}")
            finally:
                stack.down()


if __name__ == "__main__":
    main()
