"""Class 1 of issue 11: a `$` in a model's string is data, never the host's environment.

Compose interpolates `$VAR` and `${VAR}` in every string of docker-compose.yml from the
environment of whoever runs it. A model's command holding `$CANARY` must reach the running
process as those six characters: checked on the container Docker runs (`docker inspect`) and
on the argv the process printed itself, and the canary's value must appear nowhere: not in the
workspace (results, logs, generated files) and not in any prompt the model server received.
"""

from __future__ import annotations

import copy
import json
import secrets
from pathlib import Path

import pytest
from conftest import run_doit
from ollama_server import ScriptedOllama

from faults.conftest import NOTES, error_lines
from genlib import process
from genlib.workspace import Workspace

pytestmark = [pytest.mark.docker, pytest.mark.fault_class(1)]
HOSTILE_ARGS = ["$CANARY_SECRET", "${CANARY_SECRET}", "${HOME}", "${GENLIB_NOPE:?boom}", "$$", "tail$"]
PROBE = "import sys, time\nprint('argv', sys.argv[1:], flush=True)\ntime.sleep(3600)\n"


def probe_answer() -> str:
    """The notes app plus a worker that prints its own argv, and a scenario that fails (so heal has work)."""
    answer = copy.deepcopy(NOTES)
    answer["components"].append(
        {"name": "probe", "layer": "workers", "runtime": "python", "command": ["python3", "probe.py", *HOSTILE_ARGS]}
    )
    answer["files"].append({"path": "workers/probe/probe.py", "content": PROBE})
    answer["scenarios"] = [
        {"name": "probe prints argv", "kind": "logs", "service": "probe-workers", "must_contain": ["argv"]},
        {"name": "probe says hello", "kind": "logs", "service": "probe-workers", "must_contain": ["hello"],
         "within": 1},
    ]  # fmt: skip
    return json.dumps(answer)


def container_cmd(ws: Workspace, service: str) -> list[str]:
    labels = [f"label=com.docker.compose.project={ws.project_name}", f"label=com.docker.compose.service={service}"]
    _, ids = process.run(["docker", "ps", "-q", *(a for label in labels for a in ("--filter", label))])
    _, inspected = process.run(["docker", "inspect", ids.split()[0]])
    cmd: list[str] = json.loads(inspected)[0]["Config"]["Cmd"]
    return cmd


def leaks(root: Path, ollama: ScriptedOllama, value: str) -> list[str]:
    """Every file under `root` and every request the model server got that holds `value`."""
    found = [str(p) for p in root.rglob("*") if p.is_file() and value.encode() in p.read_bytes()]
    found += [f"request {n}: {r.path}" for n, r in enumerate(ollama.history) if value in json.dumps(r.body)]
    return found


def test_a_dollar_in_a_model_command_reaches_the_container_literally(
    engine: Workspace, ollama: ScriptedOllama, monkeypatch: pytest.MonkeyPatch
) -> None:
    canary = "canary-" + secrets.token_hex(8)
    monkeypatch.setenv("CANARY_SECRET", canary)
    ollama.enqueue(probe_answer())
    gen = run_doit(engine, "gen", "desc=notes with a probe")
    assert gen.returncode == 0, gen.output
    run = run_doit(engine, timeout=600)
    assert run.returncode == 1, run.output  # `probe says hello` fails; nothing crashed
    assert container_cmd(engine, "probe-workers") == ["python3", "probe.py", *HOSTILE_ARGS]
    results = json.loads(next(engine.iterations_dir.glob("iter_*/results.json")).read_text())
    printed = next(r for r in results["results"] if r["name"] == "probe prints argv")
    assert printed["status"] == "passed", printed
    logs = "".join(p.read_text() for p in engine.iterations_dir.glob("iter_*/logs/probe-workers.log"))
    assert f"argv {HOSTILE_ARGS!r}" in logs  # the process's own argv, as the model wrote it

    ollama.enqueue("not json")  # heal sends one prompt (with the probe's log), then stops on the refusal
    heal = run_doit(engine, "heal", "retries=0", timeout=600)
    assert heal.returncode == 2 and len(error_lines(heal.output)) == 1, heal.output
    assert "$CANARY_SECRET" in ollama.chats()[-1]["messages"][0]["content"]
    assert leaks(engine.root, ollama, canary) == []
    assert leaks(engine.root, ollama, str(Path.home())) == []
