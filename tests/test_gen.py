"""`doit gen`: the request, what was sent to the model, what was written, and every fault's clean exit."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from typing import Any

import pytest
import yaml
from conftest import APPS, run_doit
from ollama_server import ScriptedOllama, broken, delay

from genlib import checkpoint, lock
from genlib.answer.bounds import bounded
from genlib.answer.rules import Limits
from genlib.app.iterations import list_iterations
from genlib.commands.doit_commands import INTERRUPTED
from genlib.documents.llm_output import answer_schema, load_output
from genlib.errors import AnswerInvalid, ConfigError, TemplateError
from genlib.loops import gen
from genlib.model.stepgen import plan_schema
from genlib.workspace import Workspace

NOTES = json.loads((APPS / "notes" / "llm_output.json").read_text())["answer"]
NOTES_TEXT = json.dumps(NOTES)
STATS_WORKER = "import os, time\nwhile True:\n    print('stats ok', flush=True)\n    time.sleep(5)\n"
FEATURE = {
    "summary": "a stats worker that counts notes",
    "components": [
        {
            "name": "stats",
            "layer": "workers",
            "runtime": "python",
            "command": ["python3", "stats.py"],
            "depends_on": ["notes"],
        }
    ],
    "files": [{"path": "workers/stats/stats.py", "content": STATS_WORKER}],
    "scenarios": [{"name": "stats runs", "kind": "logs", "service": "stats-workers", "must_contain": ["stats ok"]}],
}


def snapshot(ws: Workspace) -> dict[str, bytes]:
    """Every file of the workspace but genlib's private state, byte for byte."""
    return {
        str(p.relative_to(ws.root)): p.read_bytes()
        for p in sorted(ws.root.rglob("*"))
        if p.is_file() and ".genlib" not in p.relative_to(ws.root).parts
    }


def gen_in_process(ws: Workspace, desc: str, **variables: str) -> tuple[int, str]:
    """gen.run as `doit gen` would call it; the in-process graph takes the workspace lock, so give it back."""
    out = io.StringIO()
    try:
        code = gen.run(ws, {"desc": desc, **variables}, out=out)
    finally:
        lock.release(ws)
    return code, out.getvalue()


def test_gen_writes_the_iteration_and_builds_it(workspace: Workspace, ollama: ScriptedOllama) -> None:
    ollama.enqueue(NOTES_TEXT)
    code, out = gen_in_process(workspace, "a notes app")
    assert code == 0, out
    assert out.splitlines()[0] == f"model: qwen2.5-coder:7b (Ollama at {ollama.url})"  # provider=auto: it answers
    it = workspace.iterations_dir / "iter_001_a_notes_app"
    assert (it / "desc.txt").read_text() == "a notes app\n"
    output = load_output(it / "llm_output.json")
    assert output.kind == "gen" and output.description == "a notes app"
    assert [s.name for s in output.steps] == ["plan", *(f["path"] for f in NOTES["files"])]  # the default: in steps
    assert output.raw == "" and output.attempts == []
    plan = ollama.app_chats()[0]
    assert output.request.model == "qwen2.5-coder:7b" and output.request.host == ollama.url
    assert output.request.options == plan["options"]
    assert output.request.prompt_chars == len(plan["messages"][0]["content"])
    assert output.stats.completion_tokens == sum(max(1, len(a.raw) // 4) for s in output.steps for a in s.attempts)
    assert output.stats.eval_duration_s > 0
    for spec in NOTES["files"]:
        assert (it / spec["path"]).read_text() == spec["content"]
    services = {c["service"] for c in yaml.safe_load(workspace.registry_path.read_text())["components"]}
    assert services == {"web-frontend", "notes-api", "digest-workers"}
    assert "notes-api:" in workspace.compose_path.read_text()
    scenarios = yaml.safe_load(workspace.tests_path.read_text())["scenarios"]
    assert [s["name"] for s in scenarios] == [s["name"] for s in NOTES["scenarios"]]
    assert {(s["origin"], s["iteration"]) for s in scenarios} == {("model", "iter_001_a_notes_app")}
    assert "gen: iter_001_a_notes_app" in out and "files:     api 1, frontend 2, workers 1" in out
    assert f"scenarios: {len(NOTES['scenarios'])} added" in out


def test_steps_0_asks_for_the_whole_app_in_one_answer(workspace: Workspace, ollama: ScriptedOllama) -> None:
    ollama.enqueue(NOTES_TEXT)
    code, out = gen_in_process(workspace, "a notes app", steps="0")
    assert code == 0, out
    it = workspace.iterations_dir / "iter_001_a_notes_app"
    output = load_output(it / "llm_output.json")
    assert output.raw == NOTES_TEXT and [a.raw for a in output.attempts] == [NOTES_TEXT] and output.steps == []
    assert len(ollama.chats()) == 1 and output.request.options == ollama.chats()[0]["options"]
    assert output.request.prompt_chars == len(ollama.chats()[0]["messages"][0]["content"])
    assert output.stats.completion_tokens == len(NOTES_TEXT) // 4
    for spec in NOTES["files"]:
        assert (it / spec["path"]).read_text() == spec["content"]
    assert "## Answer in steps" not in ollama.chats()[0]["messages"][0]["content"]


@pytest.mark.parametrize(("steps", "num_ctx"), [("1", 32768), ("0", 16384)])
def test_the_prompt_carries_request_conventions_and_schema(
    workspace: Workspace, ollama: ScriptedOllama, steps: str, num_ctx: int
) -> None:
    ollama.enqueue(NOTES_TEXT)
    gen_in_process(workspace, "a notes app with tags", steps=steps)
    sent = ollama.chats()[0]
    prompt = sent["messages"][0]["content"]
    assert "## The request\na notes app with tags\n" in prompt
    for needle in ("`workers`", "`static`", "`requirements.txt`", "`PORT`", "NOTES_API_URL", "`exec`"):
        assert needle in prompt
    assert "The existing app" not in prompt
    schema = plan_schema() if steps == "1" else answer_schema()  # the plan's schema, or the whole answer's
    assert json.dumps(schema, ensure_ascii=False) in prompt  # shown as the rules state it
    assert sent["format"] == bounded(schema, Limits.of(workspace.settings()))  # sent with every cap (issue 22)
    assert sent["format"]["properties"]["components"]["maxItems"] == workspace.settings().max_components
    # ~9,000 chars of prompt + 8,192 to answer; in steps the window also holds the files shown (prompt_budget_chars)
    assert {c["options"]["num_ctx"] for c in ollama.chats()} == {num_ctx}


def test_second_gen_adds_a_feature_on_top_of_the_existing_app(workspace: Workspace, ollama: ScriptedOllama) -> None:
    ollama.enqueue(NOTES_TEXT, json.dumps(FEATURE))
    assert gen_in_process(workspace, "a notes app")[0] == 0
    workspace.head_file.write_text("iter_001_a_notes_app\n")
    code, out = gen_in_process(workspace, "count the notes in a stats worker")
    assert code == 0, out
    prompt = ollama.app_chats()[1]["messages"][0]["content"]
    assert "## The existing app" in prompt
    assert "- api/notes (node, service notes-api, port 3000): " not in prompt  # no description: no colon
    assert "- api/notes (node, service notes-api, port 3000)\n  files: api/notes/server.js" in prompt
    assert "### api/notes/server.js\n```\n" + NOTES["files"][0]["content"] in prompt
    assert [it.name for it in list_iterations(workspace)] == [
        "iter_001_a_notes_app",
        "iter_002_count_the_notes_in_a_stats_worker",
    ]
    assert workspace.head_file.read_text() == "iter_002_count_the_notes_in_a_stats_worker\n"
    registry = yaml.safe_load(workspace.registry_path.read_text())
    assert {c["service"] for c in registry["components"]} == {
        "web-frontend",
        "notes-api",
        "digest-workers",
        "stats-workers",
    }
    assert "stats-workers:" in workspace.compose_path.read_text()
    names = [s["name"] for s in yaml.safe_load(workspace.tests_path.read_text())["scenarios"]]
    assert names[-1] == "stats runs" and len(names) == len(NOTES["scenarios"]) + 1


def test_files_left_out_of_the_prompt_are_named(workspace: Workspace, ollama: ScriptedOllama) -> None:
    ollama.enqueue(NOTES_TEXT, json.dumps(FEATURE))
    gen_in_process(workspace, "a notes app")
    # in steps the gen prompt gets 1 - STEPS_SHARE of the budget: room for some of the files, not all
    gen_in_process(workspace, "a worker", gen_budget_chars="28000")
    prompt = ollama.app_chats()[1]["messages"][0]["content"]
    shown = [
        p
        for p in ("api/notes/server.js", "frontend/web/app.js", "frontend/web/index.html", "workers/digest/worker.py")
        if f"### {p}\n" in prompt
    ]
    assert shown and len(shown) < 4
    assert "Files not shown (unchanged unless you rewrite them in full): " in prompt


def test_a_persons_scenario_is_never_changed(workspace: Workspace, ollama: ScriptedOllama) -> None:
    mine = (
        "version: 1\nscenarios:\n- name: api health\n  kind: http\n  service: notes-api\n  request: {path: /healthz}\n"
    )
    workspace.tests_path.write_text(mine)
    ollama.enqueue(NOTES_TEXT)
    gen_in_process(workspace, "a notes app")
    scenarios = yaml.safe_load(workspace.tests_path.read_text())["scenarios"]
    health = [s for s in scenarios if s["name"] == "api health"]
    assert health == [{"name": "api health", "kind": "http", "service": "notes-api", "request": {"path": "/healthz"}}]
    assert len(scenarios) == len(NOTES["scenarios"])


def test_a_scenario_for_an_unknown_service_is_sent_back(workspace: Workspace, ollama: ScriptedOllama) -> None:
    wrong = {**NOTES, "scenarios": [{"name": "x", "kind": "logs", "service": "notes-backend"}]}  # no such layer
    ollama.enqueue(json.dumps(wrong), NOTES_TEXT)
    assert gen_in_process(workspace, "a notes app")[0] == 0
    feedback = ollama.app_chats()[1]["messages"][-1]["content"]
    services = "(services: digest-workers, notes-api, web-frontend"
    assert f"scenario 'x' names service 'notes-backend', which the app would not have {services}" in feedback


def test_a_gen_may_not_remove_a_service_a_person_tests(workspace: Workspace, ollama: ScriptedOllama) -> None:
    ollama.enqueue(NOTES_TEXT)
    assert gen_in_process(workspace, "a notes app")[0] == 0
    mine = "version: 1\nscenarios:\n- {name: my check, kind: http, service: notes-api, request: {path: /health}}\n"
    workspace.tests_path.write_text(mine)
    drop_api = {**FEATURE, "deletions": ["api/notes"]}
    ollama.enqueue(json.dumps(drop_api), json.dumps(FEATURE))
    code, out = gen_in_process(workspace, "count the notes in a stats worker")
    assert code == 0, out
    feedback = ollama.app_chats()[2]["messages"][-1]["content"]
    assert "removes or stops service 'notes-api', which scenario 'my check'" in feedback
    registry = yaml.safe_load(workspace.registry_path.read_text())
    assert "notes-api" in {c["service"] for c in registry["components"]}


def test_empty_description_is_refused_before_any_request(workspace: Workspace, ollama: ScriptedOllama) -> None:
    with pytest.raises(ConfigError, match='pass desc="what to build"'):
        gen_in_process(workspace, "   ")
    assert ollama.history == []


def test_a_broken_workspace_template_names_file_and_line(workspace: Workspace, ollama: ScriptedOllama) -> None:
    (workspace.templates_dir / "gen.md.j2").write_text("Build:\n{{ description }}\n{{ no_such_thing }}\n")
    with pytest.raises(TemplateError, match=r"gen\.md\.j2:3: 'no_such_thing' is undefined"):
        gen_in_process(workspace, "a notes app")
    assert ollama.history == []


@pytest.mark.parametrize(
    ("script", "args", "message"),
    [
        ([], ["gen"], 'no description: pass desc="what to build"'),
        ([], ["gen", "desc=x", "model=tiny:1b"], "run `ollama pull tiny:1b` or pass pull=1"),
        ([delay(3.0)], ["gen", "desc=x", "timeout=0.5"], "sent nothing for 0.5s"),
        ([broken(NOTES_TEXT, after=200)], ["gen", "desc=x"], "broke after 25 tokens"),
        (["no", "{}", "[1]"], ["gen", "desc=x"], "still invalid after 3 attempts"),
        (None, ["gen", "desc=x"], "start `ollama serve` (or set OLLAMA_HOST), or install one"),
    ],
    ids=["no-desc", "model-missing", "timeout", "broken-stream", "invalid-answer", "unreachable"],
)
def test_each_fault_is_one_line_and_changes_nothing(
    workspace: Workspace,
    ollama: ScriptedOllama,
    refused_port: int,
    script: list[Any] | None,
    args: list[str],
    message: str,
) -> None:
    ollama.enqueue(NOTES_TEXT)  # a good answer builds a first iteration to protect
    assert gen_in_process(workspace, "a notes app")[0] == 0
    ollama.queue.clear()
    ollama.enqueue(*(script or []))
    before = snapshot(workspace)
    env = {"OLLAMA_HOST": f"http://127.0.0.1:{refused_port}"} if script is None else None
    result = run_doit(workspace, *args, env=env)
    assert result.returncode in (2, 3)
    errors = [line for line in result.output.splitlines() if line.startswith("ERROR")]
    assert len(errors) == 1 and message in errors[0], result.output
    assert "Traceback" not in result.output
    assert snapshot(workspace) == before
    assert [p.name for p in workspace.iterations_dir.iterdir()] == ["iter_001_a_notes_app"]


def test_an_invalid_answer_is_kept_for_inspection(workspace: Workspace, ollama: ScriptedOllama) -> None:
    ollama.enqueue("no", "{}", "[1]")
    result = run_doit(workspace, "gen", "desc=x")
    kept = list((workspace.state_dir / "rejected").iterdir())
    assert len(kept) == 1 and str(kept[0]) in result.output
    assert [a["raw"] for a in json.loads(kept[0].read_text())["attempts"]] == ["no", "{}", "[1]"]


def test_ctrl_c_while_streaming_leaves_nothing_behind(workspace: Workspace, ollama: ScriptedOllama) -> None:
    ollama.enqueue(NOTES_TEXT)
    before = snapshot(workspace)
    marker = workspace.root.parent / "checkpoint"  # genlib.checkpoint: held once the answer streams
    proc = subprocess.Popen(
        [sys.executable, "-m", "doit", "gen", "desc=a notes app"],
        cwd=workspace.root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, checkpoint.NAME: "streaming", checkpoint.FILE: str(marker)},
    )
    deadline = time.monotonic() + 120
    while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, out + err
    assert err.strip().splitlines() == [INTERRUPTED]
    assert snapshot(workspace) == before
    assert list(workspace.iterations_dir.iterdir()) == []  # no iteration, no hidden temp folder


def test_doit_gen_end_to_end_twice(workspace: Workspace, ollama: ScriptedOllama) -> None:
    ollama.enqueue(NOTES_TEXT, json.dumps(FEATURE))
    first = run_doit(workspace, "gen", "desc=a notes app")
    assert first.returncode == 0, first.output
    it = workspace.iterations_dir / "iter_001_a_notes_app"
    for path in (it / "desc.txt", it / "llm_output.json", it / "api/notes/server.js", it / "manifest.json"):
        assert path.is_file()
    for path in (workspace.registry_path, workspace.tests_path, workspace.compose_path):
        assert path.is_file()
    assert "plan: " in first.output and "file 1 of 4 api/notes/server.js: " in first.output  # progress, per file
    assert " tok/s" in first.output
    second = run_doit(workspace, "gen", "desc=a stats worker")
    assert second.returncode == 0, second.output
    assert (workspace.iterations_dir / "iter_002_a_stats_worker" / "workers/stats/stats.py").read_text() == STATS_WORKER
    assert "stats-workers:" in workspace.compose_path.read_text()
    again = run_doit(workspace, "materialize", "registry", "compose")
    assert again.returncode == 0 and again.executed == [], again.output  # desc is a file, not a variable: nothing stale


def test_pull_1_pulls_a_missing_model_first(workspace: Workspace, ollama: ScriptedOllama) -> None:
    ollama.enqueue(NOTES_TEXT)
    result = run_doit(workspace, "gen", "desc=a notes app", "model=tiny:1b", "pull=1")
    assert result.returncode == 0, result.output
    paths = [r.path for r in ollama.history if r.path != "/api/version"]  # provider=auto: is Ollama there?
    assert paths[:3] == ["/api/show", "/api/pull", "/api/show"], paths  # missing, pulled, then its size read
    assert paths.index("/api/chat") > paths.index("/api/pull")
    assert "pulled tiny:1b" in result.output
    assert ollama.chats()[0]["model"] == "tiny:1b"


def test_model_and_settings_come_from_genlib_toml(workspace: Workspace, ollama: ScriptedOllama) -> None:
    (workspace.root / "genlib.toml").write_text('[model]\nmodel = "tiny:1b"\ntemperature = 0.7\nnum_ctx_max = 4096\n')
    ollama.models.append("tiny:1b")
    ollama.enqueue(NOTES_TEXT)
    assert gen_in_process(workspace, "a notes app")[0] == 0
    sent = ollama.chats()[0]
    assert sent["model"] == "tiny:1b"
    assert sent["options"]["temperature"] == 0.7 and sent["options"]["num_ctx"] == 4096


def test_gen_refuses_stray_arguments(workspace: Workspace, ollama: ScriptedOllama) -> None:
    result = run_doit(workspace, "gen", "a notes app")
    assert result.returncode == 3
    assert "pass the request as desc=" in result.output
    assert ollama.history == []


SHOP = {
    "summary": "a shop",
    "components": [
        {"name": "shop", "layer": "api", "runtime": "python", "port": 8000, "command": ["python3", "main.py"]}
    ],
    "files": [
        {"path": "api/shop/main.py", "content": "from handlers import items\nprint(items.ITEMS)\n"},
        {"path": "api/shop/handlers/__init__.py", "content": ""},  # a package: empty, as it should be
        {"path": "api/shop/handlers/items.py", "content": "ITEMS = []\n"},
    ],
}


@pytest.mark.parametrize("steps", ["1", "0"])
def test_an_empty_package_file_is_written_and_an_empty_entry_file_refused_in_both_modes(
    workspace: Workspace, ollama: ScriptedOllama, steps: str
) -> None:
    empty_entry = {**SHOP, "files": [{"path": "api/shop/main.py", "content": "\n"}, *SHOP["files"][1:]]}
    ollama.enqueue(*[json.dumps(empty_entry)] * (1 if steps == "1" else 3))  # steps: main.py is asked for 3 times
    with pytest.raises(AnswerInvalid, match=r"api/shop/main.py is empty, and shop-api runs it"):
        gen_in_process(workspace, "a shop", steps=steps)
    assert list_iterations(workspace) == []
    ollama.enqueue(json.dumps(SHOP))
    code, out = gen_in_process(workspace, "a shop app", steps=steps)  # another request: steps would resume
    assert code == 0, out
    package = workspace.iterations_dir / "iter_001_a_shop_app" / "api/shop/handlers/__init__.py"
    assert package.is_file() and package.read_text() == ""
