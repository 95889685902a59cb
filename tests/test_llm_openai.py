"""provider=openai: genlib.model.openai's OpenAILLM against a scripted OpenAI-compatible server, through the real httpx
client; then `doit gen` and `doit heal` end to end, every fault as one line, and the API key never written."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import APPS, run_doit
from ollama_server import broken, cut, delay, status
from openai_server import MODEL, ScriptedOpenAI, rate_limited
from test_gen import gen_in_process, snapshot
from test_heal import broken_workspace, failing_results, fixed, iteration_names

from genlib.answer.rules import Baseline, Limits, check
from genlib.config import Settings
from genlib.documents.llm_output import Answer, answer_schema, load_output
from genlib.errors import (
    ConfigError,
    LLMAuthFailed,
    LLMError,
    LLMRateLimited,
    LLMTimeout,
    LLMUnavailable,
    ModelMissing,
)
from genlib.model.ask import ask
from genlib.model.openai import OpenAILLM
from genlib.workspace import Workspace

NOTES = json.loads((APPS / "notes" / "llm_output.json").read_text())["answer"]
NOTES_TEXT = json.dumps(NOTES)
MESSAGES = [{"role": "user", "content": "build a notes app"}]
KEY_ENV = "GENLIB_TEST_API_KEY"
SECRET = "sk-test-7f3c9e1d2b4a6085"


@pytest.fixture
def llm_for(request: pytest.FixtureRequest) -> Callable[..., OpenAILLM]:
    """OpenAILLM factory; each client is closed after the test."""

    def make(server: ScriptedOpenAI | str, out: io.StringIO | None = None, **overrides: Any) -> OpenAILLM:
        url = server if isinstance(server, str) else server.url
        llm = OpenAILLM(Settings(provider="openai", base_url=url, **{"model": MODEL, **overrides}), out)
        request.addfinalizer(llm.close)
        return llm

    return make


def rules(answer: Answer) -> None:
    check(answer, Baseline(), Limits())


# -- the provider -----------------------------------------------------------------------------------


def test_complete_streams_with_the_schema_key_and_usage(
    openai_api: ScriptedOpenAI, llm_for: Callable[..., OpenAILLM], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, SECRET)
    openai_api.api_key = SECRET
    openai_api.enqueue(NOTES_TEXT)
    seen: list[int] = []
    llm = llm_for(openai_api, api_key_env=KEY_ENV, temperature=0.1, seed=7, num_predict=1000)
    reply = llm.complete(MESSAGES, answer_schema(), lambda tokens, _: seen.append(tokens))
    probe, sent = openai_api.history  # is it llama.cpp's server (GET /props)? no: then the chat, OpenAI's fields only
    assert probe.path == "/props"
    assert sent.headers["Authorization"] == f"Bearer {SECRET}"
    assert sent.body["stream"] is True and sent.body["stream_options"] == {"include_usage": True}
    assert sent.body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "answer", "schema": answer_schema()},
    }
    assert (sent.body["model"], sent.body["messages"]) == (MODEL, MESSAGES)
    assert (sent.body["temperature"], sent.body["seed"], sent.body["max_tokens"]) == (0.1, 7, 1000)
    assert not {"repeat_penalty", "dry_multiplier", "frequency_penalty"} & set(sent.body)  # a strict API refuses them
    assert reply.text == NOTES_TEXT and not reply.cut
    assert seen == list(range(1, len(seen) + 1)) and len(seen) == -(-len(NOTES_TEXT) // openai_api.piece)
    assert reply.stats.prompt_tokens == len("build a notes app") // 4
    assert reply.stats.completion_tokens == len(NOTES_TEXT) // 4
    assert reply.options == {"temperature": 0.1, "seed": 7, "max_tokens": 1000, "response_format": "json_schema"}


def test_a_server_that_does_not_stream_gives_the_same_reply(
    openai_api: ScriptedOpenAI, llm_for: Callable[..., OpenAILLM]
) -> None:
    openai_api.ignore_stream = True
    openai_api.enqueue(NOTES_TEXT)
    seen: list[int] = []
    reply = llm_for(openai_api).complete(MESSAGES, answer_schema(), lambda tokens, _: seen.append(tokens))
    assert reply.text == NOTES_TEXT and seen == [1]
    assert reply.stats.completion_tokens == len(NOTES_TEXT) // 4


def test_llama_cpp_timings_are_recorded(openai_api: ScriptedOpenAI, llm_for: Callable[..., OpenAILLM]) -> None:
    openai_api.timings = True
    openai_api.enqueue(NOTES_TEXT)
    stats = llm_for(openai_api).complete(MESSAGES, answer_schema(), None).stats
    assert (stats.prompt_eval_duration_s, stats.eval_duration_s) == (0.2505, 1.5)


def test_without_json_schema_support_the_schema_stays_in_the_prompt(
    openai_api: ScriptedOpenAI, llm_for: Callable[..., OpenAILLM]
) -> None:
    openai_api.refuse_schema = True
    openai_api.enqueue(NOTES_TEXT, NOTES_TEXT)
    out = io.StringIO()
    llm = llm_for(openai_api, out)
    assert llm.complete(MESSAGES, answer_schema(), None).options["response_format"] == "none"
    llm.complete(MESSAGES, answer_schema(), None)
    assert ["response_format" in c for c in openai_api.chats()] == [True, False, False]  # asked once, then never
    assert out.getvalue() == f"{openai_api.url} does not take response_format json_schema; asking without it\n"


def test_a_cut_answer_is_never_accepted(
    openai_api: ScriptedOpenAI, llm_for: Callable[..., OpenAILLM], tmp_path: Path
) -> None:
    openai_api.enqueue(cut(NOTES_TEXT), NOTES_TEXT)  # whole JSON, yet cut: the server hit max_tokens
    accepted = ask(llm_for(openai_api), MESSAGES, check=rules, retries=2, rejected_dir=tmp_path)
    assert [a.raw for a in accepted.attempts] == [NOTES_TEXT, NOTES_TEXT]
    assert "cut off at the token limit" in (accepted.attempts[0].error or "")
    assert "cut off at the token limit" in openai_api.chats()[1]["messages"][-1]["content"]


def test_a_rate_limit_is_waited_out_and_said(openai_api: ScriptedOpenAI, llm_for: Callable[..., OpenAILLM]) -> None:
    openai_api.enqueue(rate_limited(0), rate_limited(0), NOTES_TEXT)
    out = io.StringIO()
    assert llm_for(openai_api, out).complete(MESSAGES, answer_schema(), None).text == NOTES_TEXT
    assert out.getvalue().splitlines() == [
        f"rate limited by {openai_api.url} (429: Rate limit reached for requests); waiting 0s, then asking again "
        f"({n} of 3)"
        for n in (1, 2)
    ]


@pytest.mark.parametrize(
    ("fault", "error", "message"),
    [
        (
            status(401, "Incorrect API key provided"),
            LLMAuthFailed,
            r"refused the request \(401: .*pass its name as api_key_env=",
        ),
        (status(403, "forbidden"), LLMAuthFailed, r"\(403: forbidden\)"),
        (status(503, "CUDA out of memory"), LLMError, r"failed \(503: CUDA out of memory\); see its log"),
        (None, LLMRateLimited, r"still rate-limits .* after 3 waits"),  # None: four 429s in a row
        (delay(2.0), LLMTimeout, r"sent nothing for 0.3s; raise timeout= \(GENLIB_TIMEOUT\)"),
        (broken('{"summary": "' + "x" * 200, after=64), LLMError, r"broke after 8 tokens .*; run the command again"),
    ],
    ids=["401", "403", "5xx", "429", "timeout", "broken-stream"],
)
def test_faults_become_one_line_errors(
    openai_api: ScriptedOpenAI, llm_for: Callable[..., OpenAILLM], fault: Any, error: type[Exception], message: str
) -> None:
    openai_api.enqueue(*([rate_limited(0)] * 4 if fault is None else [fault]))
    with pytest.raises(error, match=message) as caught:
        llm_for(openai_api, io.StringIO(), timeout=0.3).complete(MESSAGES, answer_schema(), None)
    assert "\n" not in str(caught.value)


def test_a_model_the_server_lacks_names_the_ones_it_serves(
    openai_api: ScriptedOpenAI, llm_for: Callable[..., OpenAILLM]
) -> None:
    with pytest.raises(ModelMissing, match=rf"model 'gpt-9' is not served at .* it serves {MODEL}; pass another"):
        llm_for(openai_api, model="gpt-9").complete(MESSAGES, answer_schema(), None)


def test_unreachable_server_and_wrong_base_url(
    openai_api: ScriptedOpenAI, llm_for: Callable[..., OpenAILLM], refused_port: int
) -> None:
    url = f"http://127.0.0.1:{refused_port}/v1"
    with pytest.raises(
        LLMUnavailable, match=rf"cannot reach the model server at {url}; start it .* \(GENLIB_BASE_URL\)"
    ):
        llm_for(url).ensure_model(pull=False)
    with pytest.raises(LLMUnavailable, match=r"GET /models: 404\); base_url usually ends in /v1"):
        llm_for(openai_api.url.removesuffix("/v1")).ensure_model(pull=False)
    llm_for(openai_api).ensure_model(pull=False)  # the right one answers


def test_the_key_comes_only_from_the_named_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match=f"api_key_env={KEY_ENV} but {KEY_ENV} is empty; export {KEY_ENV}="):
        OpenAILLM(Settings(provider="openai", base_url="http://127.0.0.1:9/v1", api_key_env=KEY_ENV))


# -- doit gen and doit heal -------------------------------------------------------------------------


def provider_args(server: ScriptedOpenAI) -> list[str]:
    return ["provider=openai", f"base_url={server.url}", f"model={MODEL}"]


@pytest.mark.parametrize("where", ["doit-line", "genlib.toml", "environment"])
def test_doit_gen_with_provider_openai(workspace: Workspace, openai_api: ScriptedOpenAI, where: str) -> None:
    openai_api.enqueue(NOTES_TEXT)
    args, env = ["gen", "desc=a notes app"], {}
    if where == "doit-line":
        args += provider_args(openai_api)
    elif where == "genlib.toml":
        toml = f'[model]\nprovider = "openai"\nbase_url = "{openai_api.url}"\nmodel = "{MODEL}"\n'
        (workspace.root / "genlib.toml").write_text(toml)
    else:
        env = {"GENLIB_PROVIDER": "openai", "GENLIB_BASE_URL": openai_api.url, "GENLIB_MODEL": MODEL}
    result = run_doit(workspace, *args, env=env)
    assert result.returncode == 0, result.output
    it = workspace.iterations_dir / "iter_001_a_notes_app"
    output = load_output(it / "llm_output.json")
    assert output.request.host == openai_api.url and output.request.model == MODEL
    assert output.request.options == {
        "temperature": 0.2,
        "seed": 0,
        "max_tokens": 2048,  # the plan's token budget (setting plan_tokens)
        "response_format": "json_schema",
    }
    assert [s.name for s in output.steps] == ["plan", *(f["path"] for f in NOTES["files"])]
    assert all((it / f["path"]).read_text() == f["content"] for f in NOTES["files"])
    assert "notes-api:" in workspace.compose_path.read_text()
    assert "file 4 of 4 " in result.output and " tok/s" in result.output
    assert [r.path for r in openai_api.history] == ["/v1/models", "/props"] + ["/v1/chat/completions"] * 5
    chats = openai_api.chats()
    assert "response_format" in chats[0] and all("response_format" not in c for c in chats[1:])  # files: plain text


def test_doit_gen_steps_0_with_provider_openai(workspace: Workspace, openai_api: ScriptedOpenAI) -> None:
    openai_api.enqueue(NOTES_TEXT)
    result = run_doit(workspace, "gen", "desc=a notes app", *provider_args(openai_api), "steps=0")
    assert result.returncode == 0, result.output
    output = load_output(workspace.iterations_dir / "iter_001_a_notes_app" / "llm_output.json")
    assert output.raw == NOTES_TEXT and output.stats.completion_tokens == len(NOTES_TEXT) // 4
    assert f"{MODEL}: " in result.output and " tok/s" in result.output
    assert [r.path for r in openai_api.history] == ["/v1/models", "/props", "/v1/chat/completions"]


@pytest.mark.parametrize(
    ("script", "extra", "message"),
    [
        (None, [], "cannot reach the model server at"),
        ([status(401, "bad key")], [], "refused the request (401: bad key)"),
        ([], ["model=gpt-9"], "model 'gpt-9' is not served at"),
        ([rate_limited(0)] * 4, [], "still rate-limits"),
        ([status(502, "bad gateway")], [], "failed (502: bad gateway)"),
        ([delay(3.0)], ["timeout=0.5"], "sent nothing for 0.5s"),
        ([cut(NOTES_TEXT)] * 3, [], "cut off at the token limit"),
    ],
    ids=["down", "401", "404", "429", "5xx", "timeout", "cut"],
)
def test_each_fault_is_one_line_and_changes_nothing(
    workspace: Workspace,
    openai_api: ScriptedOpenAI,
    refused_port: int,
    script: list[Any] | None,
    extra: list[str],
    message: str,
) -> None:
    openai_api.enqueue(NOTES_TEXT)  # a first iteration to protect
    variables = dict(arg.split("=", 1) for arg in provider_args(openai_api))
    assert gen_in_process(workspace, "a notes app", **variables)[0] == 0
    openai_api.enqueue(*(script or []))
    before = snapshot(workspace)
    args = (
        provider_args(openai_api)
        if script is not None
        else ["provider=openai", f"base_url=http://127.0.0.1:{refused_port}/v1"]
    )
    result = run_doit(workspace, "gen", "desc=x", *args, *extra)
    assert result.returncode in (2, 3)
    errors = [line for line in result.output.splitlines() if line.startswith("ERROR")]
    assert len(errors) == 1 and message in errors[0], result.output
    assert "Traceback" not in result.output
    assert snapshot(workspace) == before
    assert [p.name for p in workspace.iterations_dir.iterdir()] == ["iter_001_a_notes_app"]


def test_the_api_key_is_never_written(
    workspace: Workspace, openai_api: ScriptedOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, SECRET)
    openai_api.api_key = SECRET
    openai_api.enqueue(NOTES_TEXT, f"not json, says the server holding {SECRET}", NOTES_TEXT)
    args = [*provider_args(openai_api), f"api_key_env={KEY_ENV}"]
    outputs = [run_doit(workspace, "gen", "desc=a notes app", *args).output]
    outputs.append(run_doit(workspace, "gen", "desc=again", *args).output)  # a retry: raw answers kept too
    openai_api.api_key = "sk-the-right-one"  # now the key is wrong, and the server echoes it back
    refused = run_doit(workspace, "gen", "desc=x", *args)
    assert refused.returncode == 2
    assert "refused the request (401: Incorrect API key provided: [REDACTED])" in refused.output
    outputs.append(refused.output)
    assert [it.name for it in sorted(workspace.iterations_dir.iterdir())] == ["iter_001_a_notes_app", "iter_002_again"]
    written = [p for p in workspace.root.rglob("*") if p.is_file()]
    assert any(".genlib" in p.parts for p in written)  # genlib's private state is searched too
    assert [p for p in written if SECRET.encode() in p.read_bytes()] == []
    assert all(SECRET not in text for text in outputs)


def test_heal_errors_with_provider_openai_write_nothing(workspace: Workspace, openai_api: ScriptedOpenAI) -> None:
    broken_workspace(workspace)
    assert run_doit(workspace, "registry").returncode == 0
    failing_results(workspace)
    openai_api.enqueue(status(401, "bad key"))
    before = snapshot(workspace)
    run = run_doit(workspace, "heal", *provider_args(openai_api))
    assert run.returncode == 2, run.output
    errors = [line for line in run.output.splitlines() if line.startswith("ERROR")]
    assert (
        len(errors) == 1 and "refused the request (401: bad key)" in errors[0] and "HEAD is iter_001_notes" in errors[0]
    )
    assert iteration_names(workspace) == ["iter_001_notes"] and snapshot(workspace) == before


@pytest.mark.docker
def test_heal_end_to_end_with_provider_openai(engine: Workspace, openai_api: ScriptedOpenAI) -> None:
    broken_workspace(engine)
    openai_api.enqueue(fixed())
    run = run_doit(engine, "heal", *provider_args(openai_api), timeout=900)
    assert run.returncode == 0, run.output
    assert "heal: green after 1 round(s); HEAD is iter_002_patch" in run.output
    output = load_output(engine.iterations_dir / "iter_002_patch" / "llm_output.json")
    assert output.kind == "patch" and output.request.host == openai_api.url
    assert "list notes" in openai_api.chats()[0]["messages"][0]["content"]
