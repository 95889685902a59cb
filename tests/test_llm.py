"""genlib.model.ollama and genlib.model.ask against a scripted Ollama on loopback, through the real `ollama` client."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import APPS
from ollama_server import MODEL, ScriptedOllama, broken, cut, delay, status

from genlib.answer.rules import Baseline, Limits, check
from genlib.config import Settings
from genlib.documents.llm_output import Answer, answer_schema
from genlib.errors import AnswerInvalid, LLMError, LLMTimeout, LLMUnavailable, ModelMissing, OutputError
from genlib.model.ask import ask, parse_answer
from genlib.model.base import num_ctx_for
from genlib.model.meter import StatusLine, token_meter
from genlib.model.ollama import OllamaLLM, prompt_dropped

NOTES_ANSWER = json.loads((APPS / "notes" / "llm_output.json").read_text())["answer"]
MESSAGES = [{"role": "user", "content": "build a notes app"}]


@pytest.fixture
def llm_for(request: pytest.FixtureRequest) -> Callable[..., OllamaLLM]:
    """OllamaLLM factory; each client is closed after the test (no leaked sockets)."""

    def make(server: ScriptedOllama | str, **overrides: Any) -> OllamaLLM:
        host = server if isinstance(server, str) else server.url
        llm = OllamaLLM(Settings(ollama_host=host, **overrides))
        request.addfinalizer(llm.close)
        return llm

    return make


def rules(answer: Answer) -> None:
    check(answer, Baseline(), Limits())


def test_num_ctx_fits_prompt_and_answer_as_a_power_of_two() -> None:
    assert num_ctx_for(0, 100, 32768) == 2048  # never below 2k
    assert num_ctx_for(35_000, 8192, 32768) == 32768  # 10,000 + 8,192 tokens -> 2^15
    assert num_ctx_for(7_000, 1000, 32768) == 4096  # 2,000 + 1,000 -> 2^12
    assert num_ctx_for(1_000_000, 8192, 32768) == 32768  # capped


def test_complete_streams_with_schema_options_and_records_stats(
    ollama: ScriptedOllama, llm_for: Callable[..., OllamaLLM]
) -> None:
    text = json.dumps(NOTES_ANSWER)
    ollama.enqueue(text)
    seen: list[int] = []
    reply = llm_for(ollama, temperature=0.1, seed=7, num_predict=1000).complete(
        MESSAGES, answer_schema(), lambda tokens, _: seen.append(tokens)
    )
    sent = ollama.chats()[0]
    assert sent["model"] == MODEL
    assert sent["stream"] is True
    assert sent["format"] == answer_schema()
    assert sent["messages"] == MESSAGES
    assert sent["options"] == {
        "temperature": 0.1,
        "seed": 7,
        "num_predict": 1000,
        "num_ctx": 2048,
        "repeat_penalty": 1.05,  # the defaults against loops (settings repeat_penalty, repeat_last_n)
        "repeat_last_n": 64,
    }
    assert reply.text == text
    assert reply.options["num_ctx"] == 2048
    assert seen == list(range(1, len(seen) + 1)) and len(seen) == -(-len(text) // ollama.piece)
    assert reply.stats.prompt_tokens == len("build a notes app") // 4
    assert reply.stats.completion_tokens == len(text) // 4
    assert reply.stats.eval_duration_s == pytest.approx(4.535599)
    assert reply.stats.total_duration_s == pytest.approx(4.883583458)


def test_unreachable_ollama_names_the_host_and_the_fix(llm_for: Callable[..., OllamaLLM], refused_port: int) -> None:
    host = f"http://127.0.0.1:{refused_port}"
    llm = llm_for(host)
    with pytest.raises(
        LLMUnavailable, match=rf"cannot reach Ollama at {host}; start `ollama serve` or set OLLAMA_HOST"
    ):
        llm.complete(MESSAGES, answer_schema(), None)
    with pytest.raises(LLMUnavailable):
        llm.ensure_model(pull=False)


def test_missing_model_says_how_to_pull(ollama: ScriptedOllama, llm_for: Callable[..., OllamaLLM]) -> None:
    llm = llm_for(ollama, model="tiny:1b")
    with pytest.raises(ModelMissing, match=r"model 'tiny:1b' is not at .*; run `ollama pull tiny:1b` or pass pull=1"):
        llm.ensure_model(pull=False)
    with pytest.raises(ModelMissing, match="ollama pull tiny:1b"):
        llm.complete(MESSAGES, answer_schema(), None)  # Ollama's own 404 from /api/chat


def test_pull_shows_a_progress_bar_then_the_model_is_there(
    ollama: ScriptedOllama, llm_for: Callable[..., OllamaLLM]
) -> None:
    out = io.StringIO()
    llm = llm_for(ollama, model="tiny:1b")
    llm.ensure_model(pull=True, out=out)
    assert [r.path for r in ollama.history] == ["/api/show", "/api/pull"]
    assert ollama.history[1].body == {"model": "tiny:1b", "insecure": False, "stream": True}
    assert out.getvalue().splitlines()[0] == "pulling tiny:1b: pulling manifest"
    assert out.getvalue().splitlines()[-1] == "pulled tiny:1b"
    llm.ensure_model(pull=False)  # now present: no error


def test_present_model_is_not_pulled(ollama: ScriptedOllama, llm_for: Callable[..., OllamaLLM]) -> None:
    llm_for(ollama).ensure_model(pull=True)
    assert [r.path for r in ollama.history] == ["/api/show"]


@pytest.mark.parametrize(
    ("fault", "error", "message"),
    [
        (broken('{"summary": "' + "x" * 200, after=64), LLMError, r"broke after 8 tokens .*; run the command again"),
        (delay(2.0), LLMTimeout, r"sent nothing for 0.3s; raise timeout= \(GENLIB_TIMEOUT\)"),
        (status(500, "llama runner process has terminated"), LLMError, r"failed \(500\): llama runner process"),
        (status(404, "model not found"), ModelMissing, "ollama pull"),
    ],
    ids=["broken-stream", "timeout", "http-500", "http-404"],
)
def test_faults_become_one_line_errors(
    ollama: ScriptedOllama, fault: Any, error: type[Exception], message: str, llm_for: Callable[..., OllamaLLM]
) -> None:
    ollama.enqueue(fault)
    with pytest.raises(error, match=message) as caught:
        llm_for(ollama, timeout=0.3).complete(MESSAGES, answer_schema(), None)
    assert "\n" not in str(caught.value)


def test_parse_answer_explains_each_kind_of_problem() -> None:
    with pytest.raises(OutputError, match="not valid JSON"):
        parse_answer("{", rules)
    with pytest.raises(OutputError, match=r"does not match the schema: files\.0\.content: Field required"):
        parse_answer('{"files": [{"path": "api/x/a.py"}]}', rules)
    with pytest.raises(OutputError, match="belongs to no declared component"):
        parse_answer('{"files": [{"path": "api/x/a.py", "content": ""}]}', rules)
    assert parse_answer(json.dumps(NOTES_ANSWER), rules).summary == NOTES_ANSWER.get("summary", "")


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ('{"summary": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested deeper than 64 levels"),
        ('{"summary": ' + "[" * 200 + "]" * 200 + "}", "nested deeper than 64 levels"),
        ('{"summary": "a\\ud800b", "files": [{"path": "api/x/a.py", "content": "x"}]}', "lone surrogate"),
    ],
)
def test_unusual_text_is_an_output_error_not_a_crash(raw: str, reason: str) -> None:
    """Lone surrogates and JSON nested very deep (RecursionError in the parser) are reasons, like any other."""
    with pytest.raises(OutputError, match=reason):
        parse_answer(raw, rules)


def test_a_rejected_answer_with_lone_surrogates_is_still_kept(
    ollama: ScriptedOllama, llm_for: Callable[..., OllamaLLM], tmp_path: Path
) -> None:
    bad = '{"summary": "\\udc00", "files": [{"path": "api/x/a.py", "content": "\\ud800"}]}'
    ollama.enqueue(bad)
    with pytest.raises(AnswerInvalid, match="lone surrogate"):
        ask(llm_for(ollama), MESSAGES, check=rules, retries=0, rejected_dir=tmp_path / "rejected")
    [kept] = (tmp_path / "rejected").iterdir()
    assert json.loads(kept.read_text())["attempts"][0]["raw"] == bad


def test_ask_retries_with_the_error_fed_back(
    ollama: ScriptedOllama, tmp_path: Path, llm_for: Callable[..., OllamaLLM]
) -> None:
    good = json.dumps(NOTES_ANSWER)
    ollama.enqueue("Sure! Here is your app:", good)
    accepted = ask(llm_for(ollama), MESSAGES, check=rules, retries=2, rejected_dir=tmp_path / "rejected")
    assert accepted.raw == good
    assert [a.raw for a in accepted.attempts] == ["Sure! Here is your app:", good]
    assert "not valid JSON" in (accepted.attempts[0].error or "") and accepted.attempts[1].error is None
    second = ollama.chats()[1]["messages"]
    assert second[:2] == [*MESSAGES, {"role": "assistant", "content": "Sure! Here is your app:"}]
    assert second[2]["role"] == "user" and "rejected: not valid JSON" in second[2]["content"]
    stats = accepted.stats()
    assert stats.completion_tokens == sum(max(1, len(a.raw) // 4) for a in accepted.attempts)
    assert not (tmp_path / "rejected").exists()


def test_ask_gives_up_after_the_retries_and_keeps_every_raw_answer(
    ollama: ScriptedOllama, tmp_path: Path, llm_for: Callable[..., OllamaLLM]
) -> None:
    bad = ["nope", '{"files": 3}', '{"files": [{"path": "../etc/passwd", "content": "x"}]}']
    ollama.enqueue(*bad)
    with pytest.raises(
        AnswerInvalid, match=r"after 3 attempts \(.*'\.\./etc/passwd'.*\); raw answers kept in "
    ) as caught:
        ask(llm_for(ollama), MESSAGES, check=rules, retries=2, rejected_dir=tmp_path / "rejected")
    saved = list((tmp_path / "rejected").iterdir())
    assert len(saved) == 1 and str(saved[0]) in str(caught.value)
    record = json.loads(saved[0].read_text())
    assert [a["raw"] for a in record["attempts"]] == bad
    assert all(a["error"] for a in record["attempts"])
    assert len(ollama.chats()) == 3


def test_progress_is_plain_lines_off_a_terminal() -> None:
    out = io.StringIO()
    update, finish = token_meter(out, "m")
    for n in range(1, 50):
        update(n, n / 10)
    finish()
    lines = out.getvalue().splitlines()
    assert lines == ["m: 1 tokens, 0.1s, 10.0 tok/s", "m: 49 tokens, 4.9s, 10.0 tok/s"]


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_updates_one_line_on_a_terminal() -> None:
    out = _Terminal()
    line = StatusLine(out, interval=0)
    line.show("pulling 10%")
    line.show("pulling 5%")  # shorter: padded so no stale characters remain
    line.done("pulled")
    assert out.getvalue() == "\rpulling 10%\rpulling 5% \rpulled    \n"


def test_a_cut_answer_is_never_accepted(
    ollama: ScriptedOllama, tmp_path: Path, llm_for: Callable[..., OllamaLLM]
) -> None:
    good = json.dumps(NOTES_ANSWER)
    ollama.enqueue(cut(good), good)  # whole JSON, yet done_reason "length": Ollama stopped at num_predict
    accepted = ask(llm_for(ollama), MESSAGES, check=rules, retries=2, rejected_dir=tmp_path / "rejected")
    assert [a.raw for a in accepted.attempts] == [good, good]
    assert "cut off at the token limit" in (accepted.attempts[0].error or "")
    assert "cut off at the token limit" in ollama.chats()[1]["messages"][-1]["content"]
    assert [c["options"]["num_predict"] for c in ollama.chats()] == [8192, 16384]  # asked again with more room
    windows = [c["options"]["num_ctx"] for c in ollama.chats()]
    assert windows == [16384, 32768]  # the window grows to hold the room (and the cut answer now in the prompt)


def test_thinking_and_keep_alive(ollama: ScriptedOllama, llm_for: Callable[..., OllamaLLM]) -> None:
    ollama.thinking = "The user wants notes; a node API and a static page."
    ollama.enqueue("{}", "{}")
    reply = llm_for(ollama, think=True, keep_alive="30m").complete(MESSAGES, answer_schema(), None)
    assert (reply.text, reply.thinking) == ("{}", ollama.thinking)
    assert ollama.chats()[0]["think"] is True and ollama.chats()[0]["keep_alive"] == "30m"
    plain = llm_for(ollama).complete(MESSAGES, answer_schema(), None)
    assert plain.thinking == "" and "think" not in ollama.chats()[1] and "keep_alive" not in ollama.chats()[1]


def test_a_dropped_prompt_is_said_and_the_window_grows(
    ollama: ScriptedOllama, llm_for: Callable[..., OllamaLLM]
) -> None:
    out = io.StringIO()
    llm = OllamaLLM(Settings(ollama_host=ollama.url, num_predict=1000), out)
    long = [{"role": "user", "content": "x" * 7_000}]  # ~2,000 tokens + 1,000 to answer: a 4,096 window
    ollama.prompt_eval_count = 4096  # Ollama filled the whole window: it cut the prompt's start
    ollama.enqueue("{}", "{}")
    llm.complete(long, None, None)
    assert out.getvalue() == (
        "warning: Ollama read 4096 prompt tokens of about 2000: the start of the prompt was dropped to fit num_ctx; "
        "num_ctx is 8192 from now on\n"
    )
    llm.complete(long, None, None)
    assert [c["options"]["num_ctx"] for c in ollama.chats()] == [4096, 8192]
    assert "format" not in ollama.chats()[0] or ollama.chats()[0]["format"] is None  # no schema: plain text
    llm.close()


def test_prompt_dropped_tells_truncation_from_a_cached_prefix() -> None:
    assert prompt_dropped(32768, 50_000, 32768)  # the cap was too small: the window is full
    assert prompt_dropped(20_000, 30_000, 32768)  # well under the estimate, yet more than half a window read
    assert not prompt_dropped(40, 30_000, 32768)  # a cached prefix: Ollama read only the new tokens
    assert not prompt_dropped(9_000, 10_000, 32768)  # the estimate is rough
    assert not prompt_dropped(0, 10_000, 32768)  # a server that does not say
