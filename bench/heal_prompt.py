"""How big are the heal and gen prompts as the app grows? (each within its budget, flat)

    python bench/heal_prompt.py

Heal: synthetic workspaces of 5, 50 and 500 layer files with 10 KB and 10 MB of
logs per failing service, one failing HTTP test and one crashed service; prints the
prompt's size and whether each failure's evidence made it in.

Gen: the app at the caps of tests/resources/at_caps.py (30 components, 200 files,
every string at max_text_chars) under a request; prints the whole-answer prompt, the
plan request and the largest file request of a gen in steps, against gen_budget_chars.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from resources import at_caps

from genlib.app.registry import Entry, Registry
from genlib.config import Settings
from genlib.documents.results import RunReport
from genlib.loops import gen
from genlib.model import genprompt, healprompt, stepgen
from genlib.workspace import Workspace

ITERATION = "iter_001_bench"
MARKER = "EVIDENCE-7f3a"  # must survive into the prompt


def make_app(root: Path, n_files: int) -> dict[str, Any]:
    """n_files spread over components of at most 50 files; returns the registry."""
    components = []
    per = min(n_files, 50)
    for c in range(max(n_files // per, 1)):
        layer, name = ("api", f"svc{c}") if c % 2 == 0 else ("workers", f"job{c}")
        files = []
        for i in range(per):
            rel = "server.js" if i == 0 else f"lib/mod{i:03d}.js"
            path = f"{layer}/{name}/{rel}"
            source = root / "iterations" / ITERATION / path
            source.parent.mkdir(parents=True, exist_ok=True)
            source.write_text("".join(f"// {path} line {n}\nfunction f{n}() {{ return {n}; }}\n" for n in range(60)))
            files.append({"path": path, "iteration": ITERATION, "sha256": "0" * 64})
        components.append(
            {
                "name": name,
                "layer": layer,
                "runtime": "node",
                "description": "",
                "sha256": "0" * 64,
                "files": files,
                "service": f"{name}-{layer}",
                "port": 3000,
                "command": ["node", "server.js"],
                "healthcheck": "/health",
                "depends_on": [],
            }
        )
    return {"version": 1, "head": ITERATION, "project": "bench", "components": components}


def make_logs(root: Path, service: str, size: int) -> None:
    line = "2026-11-26T10:00:00Z GET /notes 200 api_key=sk-live-0123456789abcdef0123456789abcdef\n"
    body = line * (size // len(line))
    crash = f"TypeError: notes.map is not a function ({MARKER})\n    at handler (/app/server.js:14:22)\n"
    path = root / "iterations" / ITERATION / "logs" / f"{service}.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body + crash)


def results(service: str) -> dict[str, Any]:
    return {
        "format": "genlib.results/1",
        "iteration": ITERATION,
        "summary": {"passed": 3, "failed": 2, "skipped": 0, "error": 0},
        "results": [
            {
                "name": "list notes",
                "kind": "http",
                "service": service,
                "origin": "user",
                "status": "failed",
                "reason": "GET /notes: status 500, expected 200",
                "evidence": {"status": 500, "body_head": f'{{"error": "{MARKER} notes.map"}}' + "x" * 5000},
            },
            {
                "name": f"service {service}",
                "kind": "service",
                "service": service,
                "origin": "genlib",
                "status": "failed",
                "reason": "restarting (exit code 1)",
                "evidence": {"log_tail": "y\n" * 3000 + f"{MARKER} at handler (/app/server.js:14:22)\n"},
            },
        ],
    }


def measure(n_files: int, log_bytes: int, budget: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace(Path(tmp))
        registry = make_app(ws.root, n_files)
        service = registry["components"][0]["service"]
        make_logs(ws.root, service, log_bytes)
        started = time.perf_counter()
        report = RunReport.model_validate(
            {
                **{k: v for k, v in results(service).items() if k != "summary"},
                "started": "2026-11-26T10:00:00+00:00",
                "duration_s": 1.0,
            }
        )
        reg = Registry.model_validate({k: v for k, v in registry.items() if k != "project"})
        prompt = healprompt.build(ws, results=report, registry=reg, rounds=[], budget=budget)
        elapsed = time.perf_counter() - started
    return {
        "files": n_files,
        "logs": "10 MB" if log_bytes > 1_000_000 else "10 KB",
        "chars": prompt.chars,
        "est_tokens": prompt.est_tokens,
        "evidence_inside": prompt.text.count(MARKER) >= 2 and "/app/server.js:14" in prompt.text,
        "secret_leaked": "0123456789abcdef0123456789abcdef" in prompt.text,
        "files_shown": len(prompt.files_shown),
        "build_ms": round(elapsed * 1000, 1),
    }


def caps_app() -> genprompt.App:
    """at_caps.app() as the registry and files gen would find in the workspace."""
    files = {f["path"]: f["content"] for f in at_caps.app()["files"]}
    entries = [
        Entry.model_validate(
            {
                **{k: v for k, v in c.items() if k != "depends_on"},
                "sha256": "0" * 64,
                "service": f"{c['name']}-workers",
                "depends_on": [f"{d}-workers" for d in c["depends_on"]],
                "files": [
                    {"path": p, "iteration": ITERATION, "sha256": "0" * 64}
                    for p in files
                    if p.startswith(f"workers/{c['name']}/")
                ],
            }
        )
        for c in at_caps.components()
    ]
    return genprompt.App(entries, [genprompt.Source(p, text) for p, text in files.items()])


def gen_at_the_caps(settings: Settings) -> dict[str, int]:
    """The whole-answer prompt, the plan request and the largest file request, in chars."""
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace(Path(tmp))
        app, request = caps_app(), "add tags to the notes and a search over them"
        whole = gen.build_messages(ws, request, app, settings)
        steps = Settings(steps=True)
        asked = gen.build_messages(ws, request, app, steps)
        raw = json.dumps(at_caps.plan())
        plan = stepgen.Plan.model_validate_json(raw)
        budget = steps.gen_budget_chars
        plan_text, notes = genprompt.plan_shown(raw, plan, int(budget * genprompt.PLAN_SHARE))
        room = int(budget * genprompt.STEPS_SHARE) - len(plan_text) - genprompt.ASK_ROOM
        contents = {f.path: at_caps.interface(f.path) for f in plan.files if f.interface}
        written, left = stepgen._shown(plan, None, contents, room)
        largest = max(
            sum(len(m["content"]) for m in stepgen.file_messages(ws, asked, plan_text, written, f, plan, notes + left))
            for f in plan.files[:20]
        )
    return {
        "app": sum(len(c.description) for c in app.components) + sum(len(f.content) for f in app.files),
        "whole": len(whole[0]["content"]),
        "plan": len(asked[0]["content"]),
        "file": largest,
        "plan_answer": len(raw),
    }


def main() -> int:
    budget = Settings().prompt_budget_chars
    rate = healprompt.CHARS_PER_TOKEN
    print(f"heal prompt size (budget {budget} chars; target <= 6000 est. tokens at {rate} chars/token)")
    columns = [("files", 6), ("logs", 6), ("chars", 7), ("~tokens", 8), ("evidence", 9), ("secret", 7), ("shown", 6)]
    print(" ".join(name.rjust(width) for name, width in [*columns, ("build ms", 9)]))
    for n_files in (5, 50, 500):
        for log_bytes in (10_000, 10_000_000):
            r = measure(n_files, log_bytes, budget)
            print(
                f"{r['files']:>6} {r['logs']:>6} {r['chars']:>7} {r['est_tokens']:>8} "
                f"{'inside' if r['evidence_inside'] else 'MISSING':>9} {'LEAKED' if r['secret_leaked'] else 'no':>7} "
                f"{r['files_shown']:>6} {r['build_ms']:>9}"
            )
    settings = Settings()
    g = gen_at_the_caps(settings)
    print(f"\ngen prompt at the caps (budget gen_budget_chars={settings.gen_budget_chars} chars)")
    print(f"  the app: {g['app']} chars of descriptions and files; the plan answer: {g['plan_answer']} chars")
    for label, key in (
        ("whole-answer prompt", "whole"),
        ("steps: plan request", "plan"),
        ("steps: file request", "file"),
    ):
        print(f"  {label:<20} {g[key]:>7} chars  ~{round(g[key] / healprompt.CHARS_PER_TOKEN):>6} tokens")
    return 0


if __name__ == "__main__":
    sys.exit(main())
