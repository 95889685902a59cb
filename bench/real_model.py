"""Does a real model make green apps? Everyday requests, each generated, run, tested and healed for real.

    python bench/real_model.py --model qwen2.5-coder-1.5b               # genlib's own llama.cpp, a catalogue model
    python bench/real_model.py --model ~/models/a-coder.Q4_K_M.gguf     # genlib's own llama.cpp, any GGUF
    python bench/real_model.py --base-url http://127.0.0.1:8080/v1 --model qwen2.5-coder-7b   # OpenAI-compatible
    python bench/real_model.py --ollama http://127.0.0.1:11434 --model qwen2.5-coder:1.5b     # Ollama

    options: --only hello-api,todos-api   --heal 3 (rounds)   --minutes 15 (per request)
             --set profile=large (any setting, as on the doit line; repeat it)   --json out.json   --keep DIR

Each request of bench/requests.yaml gets a fresh workspace (`genlib init`), then `doit gen desc=...`; the
request's own checks go into test.yaml as the person's scenarios (so green means the app does what was asked,
not only what the model chose to test); then `doit`, and when it fails `doit heal max_iter=N`. A request that
runs past --minutes is stopped with Ctrl-C (SIGINT) and counts as not green. Prints, per request, whether an app
landed, whether it ended green (every scenario, the model's own too), whether the request's own checks pass
("asked"), the heal rounds, the tokens (prompt + answer) and the minutes, then a summary.
Needs Docker and the machine's images as `doit` needs them (`genlib base-image --use` on an offline machine).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
REQUESTS = HERE / "requests.yaml"
_GRACE_S = 60  # after Ctrl-C, how long a run may take to stop before it is killed


@dataclass
class Request:
    name: str
    desc: str
    checks: list[dict[str, object]]


@dataclass
class Outcome:
    name: str
    landed: bool = False
    green: bool = False
    asked: bool = False  # the person's own checks all pass at HEAD (the model's own scenarios aside)
    heal_rounds: int = 0
    tokens: int = 0
    minutes: float = 0.0
    note: str = ""


def offline_images() -> dict[str, str]:
    """What `genlib base-image --use` sets for the machine, as environment variables for these runs only."""
    from genlib.config import OFFLINE_DATA_IMAGES, OFFLINE_IMAGE, offline_build_image

    env = {f"GENLIB_IMAGE_{runtime}": OFFLINE_IMAGE for runtime in ("PYTHON", "NODE", "STATIC")}
    env |= {f"GENLIB_BUILD_IMAGE_{runtime}": offline_build_image() for runtime in ("PYTHON", "NODE")}
    return env | {f"GENLIB_IMAGE_{runtime.upper()}": image for runtime, image in OFFLINE_DATA_IMAGES.items()}


def load_requests(path: Path, only: list[str]) -> list[Request]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    found = [Request(r["name"], " ".join(r["desc"].split()), r.get("checks", [])) for r in data["requests"]]
    unknown = set(only) - {r.name for r in found}
    if unknown:
        raise SystemExit(f"no request named {', '.join(sorted(unknown))} in {path}")
    return [r for r in found if not only or r.name in only]


def model_variables(args: argparse.Namespace) -> dict[str, str]:
    """The doit variables that choose the model server, as a person would pass them."""
    if args.base_url:
        return {"provider": "openai", "base_url": args.base_url, "model": args.model}
    if args.ollama:
        return {"provider": "ollama", "ollama_host": args.ollama, "model": args.model}
    return {"provider": "local", "local_model": args.model}


class Runner:
    """Runs doit commands in one workspace within the request's deadline, their output into bench-run.log as it
    comes (follow it with `tail -f`)."""

    def __init__(self, root: Path, deadline: float, variables: dict[str, str]) -> None:
        self.root, self.deadline, self.variables = root, deadline, variables
        self.log_path = root / "bench-run.log"
        self.env = {**os.environ, "PYTHONPATH": os.environ.get("PYTHONPATH") or str(HERE.parent)}  # this checkout's

    def doit(self, *argv: str, extra: dict[str, str] | None = None) -> tuple[int, str]:
        """Exit code and output; 130 when the deadline passed and the run was stopped with Ctrl-C."""
        words = [*argv, *(f"{k}={v}" for k, v in {**self.variables, **(extra or {})}.items())]
        with self.log_path.open("a", encoding="utf-8") as log:
            log.write(f"\n$ doit {' '.join(words)}\n")
            log.flush()
            start = log.tell()
            with subprocess.Popen(
                [sys.executable, "-m", "doit", *words], cwd=self.root, stdout=log, stderr=subprocess.STDOUT,
                env=self.env, start_new_session=True,
            ) as proc:  # fmt: skip
                code = self._wait(proc)
        with self.log_path.open(encoding="utf-8", errors="replace") as log:
            log.seek(start)
            return code, log.read()

    def _wait(self, proc: subprocess.Popen[bytes]) -> int:
        try:
            return proc.wait(timeout=max(self.deadline - time.monotonic(), 1))
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGINT)  # as a person's Ctrl-C: genlib keeps what it finished
            try:
                proc.wait(timeout=_GRACE_S)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            return 130

    def close(self) -> None:
        down = [sys.executable, "-m", "doit", "down", "volumes=1"]
        subprocess.run(down, cwd=self.root, capture_output=True, timeout=300, check=False, env=self.env)


def add_checks(root: Path, checks: list[dict[str, object]]) -> list[str]:
    """The request's checks as the person's scenarios (origin user); returns the services the app lacks."""
    registry = yaml.safe_load((root / "registry.yaml").read_text(encoding="utf-8")) or {}
    services = {c.get("service") for c in registry.get("components") or []}
    missing = sorted({str(c["service"]) for c in checks if c["service"] not in services})
    tests_path = root / "test.yaml"
    tests = yaml.safe_load(tests_path.read_text(encoding="utf-8")) if tests_path.exists() else None
    tests = tests or {"version": 1, "scenarios": []}
    names = {s["name"] for s in tests["scenarios"]}
    for check in checks:
        if check["service"] in services:
            mine = {**check, "origin": "user", "name": f"request: {check['name']}"}
            tests["scenarios"] = [s for s in tests["scenarios"] if s["name"] != mine["name"]] + [mine]
            names.add(str(mine["name"]))
    tests_path.write_text(yaml.safe_dump(tests, sort_keys=False), encoding="utf-8")
    return missing


def tokens_spent(root: Path) -> int:
    total = 0
    for path in (root / "iterations").glob("*/llm_output.json"):
        stats = json.loads(path.read_text(encoding="utf-8")).get("stats", {})
        total += int(stats.get("prompt_tokens", 0)) + int(stats.get("completion_tokens", 0))
    return total


def asked_checks_pass(root: Path, checks: int) -> bool:
    """Whether every check of the request (test.yaml's origin-user scenarios) passed in HEAD's last run."""
    from genlib.app.iterations import head
    from genlib.documents import results
    from genlib.workspace import Workspace

    it = head(Workspace(root))
    report = results.load(it.results) if it is not None else None
    mine = [r for r in report.results if r.origin == "user"] if report is not None else []
    return bool(checks) and len(mine) == checks and all(r.status == "passed" for r in mine)


def landed(root: Path) -> bool:
    return any((root / "iterations").glob("iter_001_*/llm_output.json"))


def heal_rounds(output: str) -> int:
    return sum(1 for line in output.splitlines() if line.startswith("round "))


def last_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    return lines[-1][:160] if lines else ""


def run_one(request: Request, workdir: Path, args: argparse.Namespace, variables: dict[str, str]) -> Outcome:
    from genlib.commands.cli import init_workspace

    root = Path(init_workspace(workdir / request.name))
    started = time.monotonic()
    runner = Runner(root, started + args.minutes * 60, variables)
    outcome = Outcome(request.name)
    try:
        code, out = runner.doit("gen", extra={"desc": request.desc})
        outcome.landed = landed(root)
        if not outcome.landed:
            outcome.note = f"gen: {last_line(out)}"
            return outcome
        missing = add_checks(root, request.checks)
        code, out = runner.doit()
        if code == 0 and not missing:
            outcome.green = True
            return outcome
        if code in (0, 1, 2):  # 2: a build or start error heal can read (a bad dependency file)
            code, out = runner.doit("heal", extra={"max_iter": str(args.heal)})
            outcome.heal_rounds = heal_rounds(out)
            outcome.green = code == 0 and not missing
        outcome.note = (
            ("missing service " + ", ".join(missing)) if missing else ("" if outcome.green else last_line(out))
        )
        return outcome
    finally:
        outcome.asked = outcome.landed and asked_checks_pass(root, len(request.checks))
        outcome.tokens = tokens_spent(root)
        outcome.minutes = round((time.monotonic() - started) / 60, 1)
        runner.close()


def row(o: Outcome) -> str:
    yes = {True: "yes", False: "no"}
    figures = (
        f"{yes[o.landed]:<7} {yes[o.green]:<6} {yes[o.asked]:<6} {o.heal_rounds:<5} {o.tokens:>8,} {o.minutes:>7.1f}"
    )
    return f"{o.name:<20} {figures}  {o.note}"


def summary(label: str, outcomes: list[Outcome]) -> str:
    n = len(outcomes) or 1
    lands = sum(o.landed for o in outcomes)
    greens = sum(o.green for o in outcomes)
    asked = sum(o.asked for o in outcomes)
    minutes = sorted(o.minutes for o in outcomes)
    median = minutes[len(minutes) // 2] if minutes else 0.0
    return (
        f"{label}: {len(outcomes)} requests, landed {lands} ({lands / n:.0%}), green {greens} ({greens / n:.0%}), "
        f"the request's checks pass in {asked} ({asked / n:.0%}), "
        f"median {median:.1f} min, {sum(minutes):.0f} min in all, {sum(o.tokens for o in outcomes):,} tokens"
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, help="a catalogue name or GGUF path (local), or the server's model")
    parser.add_argument("--base-url", default="", help="an OpenAI-compatible server's API root, ending in /v1")
    parser.add_argument("--ollama", default="", help="an Ollama server's address")
    parser.add_argument("--requests", type=Path, default=REQUESTS)
    parser.add_argument("--only", default="", help="comma-separated request names")
    parser.add_argument("--heal", type=int, default=3, help="heal rounds at most")
    parser.add_argument("--minutes", type=float, default=15.0, help="per request")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="a setting, as on doit's line")
    parser.add_argument("--json", type=Path, help="write the outcomes here too")
    parser.add_argument("--keep", type=Path, help="make the workspaces here and keep them (default: a temp folder)")
    parser.add_argument("--offline", action="store_true", help="use the offline images of `genlib base-image`")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    requests = load_requests(args.requests, [n for n in args.only.split(",") if n])
    variables = model_variables(args) | dict(item.split("=", 1) for item in args.set)
    if args.offline:
        os.environ.update(offline_images())
    label = f"{args.model} ({variables['provider']}{''.join(f', {s}' for s in args.set)})"
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="genlib-real-model-"))
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"{label}: {len(requests)} requests, workspaces in {workdir}", flush=True)
    print(
        f"{'request':<20} {'landed':<7} {'green':<6} {'asked':<6} {'heal':<5} {'tokens':>8} {'minutes':>7}  note",
        flush=True,
    )
    outcomes = []
    for request in requests:
        outcomes.append(run_one(request, workdir, args, variables))
        print(row(outcomes[-1]), flush=True)
        if args.json:
            args.json.write_text(json.dumps({"label": label, "outcomes": [asdict(o) for o in outcomes]}, indent=2))
    print(summary(label, outcomes), flush=True)
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
