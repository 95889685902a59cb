"""What a running app prints cannot swell results.json or the heal prompt (issue 11, class 8), and a
scenario a person writes with values the runner could not send is one line at `doit test` (class 2).

On the real engine: a service that logs a 50 MB line and answers a 50 MB body, and an exec scenario
printing 300 MB; results.json stays small, each result is there, and heal's prompt stays in budget.
"""

from __future__ import annotations

import copy
import json

import pytest
from conftest import run_doit
from ollama_server import ScriptedOllama

from faults.conftest import NOTES, error_lines
from genlib import bounded
from genlib.workspace import Workspace

pytestmark = pytest.mark.docker
LOUD = """import http.server, sys
print("big line " + "x" * 50_000_000, flush=True)
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"y" * 50_000_000
        self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers()
        self.wfile.write(body)
http.server.HTTPServer(("0.0.0.0", 5000), H).serve_forever()
"""
FLOOD = "import sys\nline = 'z' * 999_999 + '\\n'\nfor _ in range(300): sys.stdout.write(line)\nprint('never ok')"


def loud_answer() -> str:
    answer = copy.deepcopy(NOTES)
    answer["components"].append(
        {"name": "loud", "layer": "backend", "runtime": "python", "port": 5000, "command": ["python3", "loud.py"]}
    )
    answer["files"].append({"path": "backend/loud/loud.py", "content": LOUD})
    answer["scenarios"] = [
        {"name": "big body", "kind": "http", "service": "loud-backend", "expect": {"body_contains": ["nope"]}},
        {"name": "big log", "kind": "logs", "service": "loud-backend", "must_contain": ["absent"], "within": 1},
        {"name": "flood", "kind": "exec", "service": "loud-backend", "command": ["python3", "-c", FLOOD],
         "expect": {"output_contains": ["ok, not printed"]}, "timeout": 120},
    ]  # fmt: skip
    return json.dumps(answer)


@pytest.mark.fault_class(8)
def test_huge_output_leaves_a_small_results_json_and_prompt(engine: Workspace, ollama: ScriptedOllama) -> None:
    ollama.enqueue(loud_answer())
    assert run_doit(engine, "gen", "desc=a loud app").returncode == 0
    run = run_doit(engine, timeout=900)
    assert run.returncode == 1, run.output  # three failed scenarios, no crash
    results_path = next(engine.iterations_dir.glob("iter_*/results.json"))
    assert results_path.stat().st_size < 300_000, results_path.stat().st_size
    results = {r["name"]: r for r in json.loads(results_path.read_text())["results"]}
    assert [results[n]["status"] for n in ("big body", "big log", "flood")] == ["failed"] * 3
    assert "bytes were read" in results["big body"]["evidence"]["body_cut"]
    assert "bytes cut" in results["flood"]["evidence"]["output_tail"] or "cut" in json.dumps(results["flood"])
    for log in engine.iterations_dir.glob("iter_*/logs/*.log"):
        assert log.stat().st_size < 2 * bounded.STREAM_BYTES, log
    ollama.enqueue("not json")
    heal = run_doit(engine, "heal", "retries=0", timeout=600)
    assert heal.returncode == 2 and len(error_lines(heal.output)) == 1, heal.output
    assert len(ollama.chats()[-1]["messages"][0]["content"]) < 60_000


@pytest.mark.fault_class(2)
def test_a_person_s_scenario_the_runner_could_not_send_is_one_line(engine: Workspace, ollama: ScriptedOllama) -> None:
    ollama.enqueue(json.dumps(NOTES))
    assert run_doit(engine, "gen", "desc=notes").returncode == 0
    engine.tests_path.write_text(
        'version: 1\nscenarios:\n- name: crlf\n  kind: http\n  service: notes-api\n  request: {path: "/a\\r\\nX: y"}\n'
    )
    run = run_doit(engine, "test", timeout=600)
    assert run.returncode == 2, run.output
    [error] = error_lines(run.output)
    assert "test.yaml:6: scenario 1, field request.path: Value error, '/a\\r\\nX: y' is not a URL path" in error
    assert "Traceback" not in run.output
