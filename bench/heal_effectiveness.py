"""Does heal find the cause? Broken apps healed on the real engine by a model that fixes exactly what it is shown.

    python bench/heal_effectiveness.py [app-name ...]        (target: >= 95% healed within 2 rounds)

Each app of tests/resources/broken_apps.py gets its own workspace and is healed by `doit heal max_iter=3`
against the scripted Ollama, whose model answers the fix only when the prompt carries the culprit file's
path and content and the failing lines (else it guesses a harmless edit). Prints, per app, the rounds, the
largest prompt, the seconds taken, and at the end the share healed within 2 rounds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from conftest import BASE_IMAGE, BUILD_IMAGE
from ollama_server import ScriptedOllama
from resources.broken_apps import APPS, BrokenApp, Fixer, llm_output

from genlib.commands.cli import init_workspace
from genlib.config import OFFLINE_DATA_IMAGES
from genlib.documents.scenarios import TestFile, merge_model_scenarios, parse_scenarios, save_tests
from genlib.workspace import Workspace


@dataclass
class Outcome:
    app: str
    kind: str
    code: int
    rounds: int
    prompt_chars: int
    seconds: float
    output: str

    @property
    def healed_in_2(self) -> bool:
        return self.code == 0 and 1 <= self.rounds <= 2


def prepare(root: Path, app: BrokenApp) -> Workspace:
    ws = Workspace(init_workspace(root / app.name))
    folder = ws.iterations_dir / f"iter_001_{app.name.replace('-', '_')}"
    folder.mkdir(parents=True)
    (folder / "llm_output.json").write_text(json.dumps(llm_output(app)))
    merged, _ = merge_model_scenarios(TestFile(), parse_scenarios(app.scenarios), folder.name)
    save_tests(ws.tests_path, merged)
    return ws


def heal(ws: Workspace, app: BrokenApp) -> Outcome:
    fixer = Fixer(app)
    server = ScriptedOllama().start()
    server.responder = fixer.respond
    env = {
        **os.environ,
        "OLLAMA_HOST": server.url,
        "GENLIB_UP_TIMEOUT": "60",
    }
    env |= {f"GENLIB_IMAGE_{runtime}": BASE_IMAGE for runtime in ("PYTHON", "NODE", "STATIC")}
    env |= {f"GENLIB_BUILD_IMAGE_{runtime}": BUILD_IMAGE for runtime in ("PYTHON", "NODE")}  # real apps' deps
    env |= {f"GENLIB_IMAGE_{runtime.upper()}": image for runtime, image in OFFLINE_DATA_IMAGES.items()}
    start = time.monotonic()
    try:
        proc = subprocess.run([sys.executable, "-m", "doit", "heal", "max_iter=3"], cwd=ws.root, env=env,
                              capture_output=True, text=True, timeout=2400)  # fmt: skip
    finally:
        server.stop()
        subprocess.run(
            [sys.executable, "-m", "doit", "down", "volumes=1"], cwd=ws.root, env=env, capture_output=True, timeout=300
        )
    output = proc.stdout + proc.stderr
    rounds = sum(1 for line in output.splitlines() if line.startswith("round "))
    chars = max((len(p) for p in fixer.prompts), default=0)
    return Outcome(app.name, app.kind, proc.returncode, rounds, chars, time.monotonic() - start, output)


def main(names: list[str]) -> int:
    apps = [a for a in APPS if not names or a.name in names]
    outcomes = []
    print(f"{'app':28} {'class':40} {'exit':>4} {'rounds':>6} {'prompt':>7} {'secs':>6}")
    with tempfile.TemporaryDirectory() as tmp:
        for app in apps:
            out = heal(prepare(Path(tmp), app), app)
            outcomes.append(out)
            print(f"{out.app:28} {out.kind:40} {out.code:>4} {out.rounds:>6} {out.prompt_chars:>7} {out.seconds:>6.0f}")
            if not out.healed_in_2 and os.environ.get("VERBOSE"):
                print(out.output[-3000:])
    healed = sum(o.healed_in_2 for o in outcomes)
    share = 100 * healed / max(len(outcomes), 1)
    print(f"healed within 2 rounds: {healed} of {len(outcomes)} ({share:.0f}%; target >= 95%)")
    return 0 if share >= 95 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
