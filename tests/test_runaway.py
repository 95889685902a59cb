"""No answer can run away, whichever server answers (issue 22): a looping stream is stopped at once and asked
again with another seed and anti-repetition sampling; each server gets the sampling settings in the form it
takes; each kind of request has a token and a wall-clock budget, and the meter shows both.

Against the scripted Ollama and OpenAI-compatible servers, through the real clients."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import RESOURCES
from ollama_server import LoopbackServer, ScriptedOllama, slow
from openai_server import MODEL, ScriptedOpenAI

from genlib.config import Settings, load_settings
from genlib.errors import AnswerInvalid, ConfigError, OutputError
from genlib.model.ask import Expect, ask_for
from genlib.model.fenced import read_fenced
from genlib.model.meter import token_meter
from genlib.model.ollama import OllamaLLM
from genlib.model.openai import OpenAILLM
from genlib.model.watch import Budget

MESSAGES = [{"role": "user", "content": "plan a notes app"}]
LOOP = (RESOURCES / "repetition" / "loops" / "plan_interfaces.json").read_text(encoding="utf-8")
ENDLESS = LOOP + LOOP[LOOP.index('{"kind"') :] * 40  # ~100,000 characters: 12,000 tokens of the same route
GOOD = '{"summary": "a notes app", "files": []}'
TAKE_ANY = Expect(lambda raw: raw, None, "again")


@dataclass
class Served:
    server: ScriptedOllama | ScriptedOpenAI
    out: io.StringIO
    make: Callable[..., OllamaLLM | OpenAILLM]

    def chats(self) -> list[dict[str, Any]]:
        return self.server.chats()

    def sampling(self, chat: dict[str, Any]) -> dict[str, Any]:
        """What the request asked to sample with: Ollama's options, or the OpenAI-compatible body's fields."""
        return dict(chat["options"]) if "options" in chat else chat


@pytest.fixture(params=["ollama", "openai"])
def served(request: pytest.FixtureRequest) -> Iterator[Served]:
    server: LoopbackServer = ScriptedOllama() if request.param == "ollama" else ScriptedOpenAI()
    server.start()
    out = io.StringIO()

    def make(**overrides: Any) -> OllamaLLM | OpenAILLM:
        if isinstance(server, ScriptedOllama):
            llm: OllamaLLM | OpenAILLM = OllamaLLM(Settings(ollama_host=server.url, **overrides), out)
        else:
            llm = OpenAILLM(Settings(provider="openai", base_url=server.url, model=MODEL, **overrides), out)
        request.addfinalizer(llm.close)
        return llm

    assert isinstance(server, ScriptedOllama | ScriptedOpenAI)
    yield Served(server, out, make)
    server.stop()


def ask(llm: OllamaLLM | OpenAILLM, tmp_path: Path, expect: Expect[str] = TAKE_ANY, retries: int = 2) -> Any:
    return ask_for(llm, MESSAGES, expect, retries=retries, rejected_dir=tmp_path / "rejected")


# -- the guard on the stream -------------------------------------------------------------------------


def test_a_looping_answer_is_stopped_at_once_said_and_asked_again(served: Served, tmp_path: Path) -> None:
    served.server.enqueue(ENDLESS, GOOD)
    accepted = ask(served.make(seed=5), tmp_path)
    assert accepted.answer == GOOD
    looped = accepted.replies[0]
    assert looped.stopped.startswith("stopped a looping answer after ")
    assert looped.stats.completion_tokens < 1000 < len(ENDLESS) // served.server.piece  # not read to its end
    assert looped.text and ENDLESS.startswith(looped.text)  # what came is kept, as the attempt's raw answer
    assert accepted.attempts[0].raw == looped.text and accepted.attempts[0].error == looped.stopped
    said = served.out.getvalue().splitlines()
    assert said == [looped.stopped]
    assert f"after {looped.stats.completion_tokens} tokens (the same 76 characters " in said[0]
    assert 'in a row: \'{"kind": "route", "name": "GET /notes"' in said[0]
    first, second = (served.sampling(c) for c in served.chats())
    assert first["seed"] == 5 and second["seed"] == 6  # another seed
    assert first["temperature"] == 0.2 and second["temperature"] == 0.7  # warmer
    assert served.chats()[1]["messages"] == MESSAGES  # asked as it was: the loop is not fed back


def test_a_file_whole_before_its_loop_is_taken_without_asking_again(served: Served, tmp_path: Path) -> None:
    # the real 0.5B's index.html: the whole page in its block, then the block again until the guard stopped it
    page = "".join(f'<li id="note-{n}">note {n}</li>\n' for n in range(8))
    served.server.enqueue(f"```html\n{page}```\n" + f"\n```html\n{page}```\n" * 60)
    expect = Expect(read_fenced, None, "again", whole_before_a_loop=True)  # as a gen in steps asks for a file
    accepted = ask(served.make(), tmp_path, expect)
    assert accepted.answer == page and len(served.chats()) == 1  # one request: nothing asked again
    assert accepted.replies[0].stopped.startswith("stopped a looping answer after ")
    served.server.enqueue(f"```html\n{page}```\n" * 60, GOOD)
    assert ask(served.make(), tmp_path).answer == GOOD  # an answer that opts out is asked again as before


def test_the_retry_samples_against_repetition_in_each_servers_form(served: Served, tmp_path: Path) -> None:
    served.server.enqueue(ENDLESS, GOOD)
    ask(served.make(), tmp_path)
    first, second = (served.sampling(c) for c in served.chats())
    if isinstance(served.server, ScriptedOllama):
        assert (first["repeat_penalty"], first["repeat_last_n"]) == (1.05, 64)
        assert (second["repeat_penalty"], second["repeat_last_n"]) == (1.15, 256)
    else:  # a server that is not llama.cpp's: OpenAI's own field, on the retry only
        assert "frequency_penalty" not in first and second["frequency_penalty"] == 0.3
        assert not {"repeat_penalty", "dry_multiplier"} & (set(first) | set(second))


def test_a_refused_answer_is_asked_again_with_another_seed(served: Served, tmp_path: Path) -> None:
    served.server.enqueue("no", "no", GOOD)

    def strict(raw: str) -> str:
        if raw != GOOD:
            raise OutputError("not the answer")
        return raw

    assert ask(served.make(), tmp_path, Expect(strict, None, "again")).answer == GOOD
    assert [served.sampling(c)["seed"] for c in served.chats()] == [0, 1, 2]
    assert served.sampling(served.chats()[1])["temperature"] >= 0.7


def test_a_small_model_is_asked_again_afresh_with_the_reason_as_a_note(served: Served, tmp_path: Path) -> None:
    served.server.enqueue("no", GOOD)

    def strict(raw: str) -> str:
        if raw != GOOD:
            raise OutputError("not the answer")
        return raw

    accepted = ask_for(
        served.make(), MESSAGES, Expect(strict, None, "again"), retries=2, rejected_dir=tmp_path, fresh=True
    )
    assert accepted.answer == GOOD
    again = served.chats()[1]["messages"]
    assert len(again) == 1 and again[0]["content"].startswith(MESSAGES[0]["content"])  # the refused one not shown
    assert again[0]["content"].endswith("(A previous answer was refused: not the answer.)")
    assert MESSAGES[0]["content"] == "plan a notes app"  # the request itself is not changed


def test_a_model_that_keeps_looping_ends_in_one_line_with_every_answer_kept(served: Served, tmp_path: Path) -> None:
    served.server.enqueue(ENDLESS, ENDLESS, ENDLESS)
    with pytest.raises(AnswerInvalid, match=r"still invalid after 3 attempts \(stopped a looping answer after"):
        ask(served.make(), tmp_path)
    assert [served.sampling(c)["seed"] for c in served.chats()] == [0, 1, 2]
    assert len(served.out.getvalue().splitlines()) == 3
    assert len(list((tmp_path / "rejected").iterdir())) == 1


def test_the_guard_can_be_turned_off(served: Served, tmp_path: Path) -> None:
    served.server.enqueue(ENDLESS)
    reply = served.make(loop_guard=False, num_predict=100_000).complete(MESSAGES, None, None)
    assert reply.text == ENDLESS and not reply.stopped and served.out.getvalue() == ""


def test_a_long_repetitive_file_is_not_stopped(served: Served, tmp_path: Path) -> None:
    legit = "\n".join(p.read_text(encoding="utf-8") for p in sorted((RESOURCES / "repetition" / "legit").iterdir()))
    served.server.enqueue(legit)
    reply = served.make(num_predict=100_000).complete(MESSAGES, None, None)
    assert reply.text == legit and not reply.stopped


# -- the wall clock ----------------------------------------------------------------------------------


def test_an_answer_over_its_wall_clock_is_stopped_and_asked_again(served: Served, tmp_path: Path) -> None:
    served.server.enqueue(slow(GOOD * 20, seconds=0.05), GOOD)
    budget = Budget("plan", 2048, 0.5)
    accepted = ask(served.make(), tmp_path, Expect(lambda raw: raw, None, "again", budget=budget))
    assert accepted.answer == GOOD
    stopped = accepted.replies[0].stopped
    assert stopped.startswith("stopped the plan after ")
    assert stopped.endswith(" tokens: still answering at its wall-clock budget of 0.5s (setting plan_seconds)")
    assert served.out.getvalue() == stopped + "\n"
    assert [served.sampling(c)["seed"] for c in served.chats()] == [0, 1]


def test_the_token_budget_is_the_room_asked_for(served: Served, tmp_path: Path) -> None:
    served.server.enqueue(GOOD)
    ask(served.make(), tmp_path, Expect(lambda raw: raw, None, "again", budget=Budget("file", 777, 60)))
    chat = served.chats()[0]
    assert chat.get("max_tokens", chat.get("options", {}).get("num_predict")) == 777


def test_the_budgets_are_settings_and_never_over_num_predict(tmp_path: Path) -> None:
    defaults = Settings()
    assert [Budget.of(defaults, kind) for kind in ("plan", "header", "file")] == [
        Budget("plan", 2048, 900.0),
        Budget("header", 1024, 600.0),
        Budget("file", 4096, 900.0),
    ]
    assert all(b.tokens <= defaults.num_predict // 2 for b in (Budget.of(defaults, "file"),))  # well under
    settings = load_settings(tmp_path, {"plan_tokens": "3000", "plan_seconds": "120", "num_predict": "2500"})
    assert Budget.of(settings, "plan") == Budget("plan", 2500, 120.0)


def test_the_meter_shows_tokens_and_time_against_both_budgets() -> None:
    out = io.StringIO()
    update, finish = token_meter(out, "plan", Budget("plan", 2048, 900))
    update(1, 0.1)
    update(812, 31.0)
    finish()
    assert out.getvalue().splitlines() == [
        "plan: 1/2048 tokens, 0.1/900s, 10.0 tok/s",
        "plan: 812/2048 tokens, 31.0/900s, 26.2 tok/s",
    ]


# -- sampling in each server's form ------------------------------------------------------------------


def test_the_sampling_defaults_are_settings() -> None:
    s = Settings()
    assert (s.repeat_penalty, s.repeat_last_n) == (1.05, 64)
    assert (s.dry_multiplier, s.dry_base, s.dry_allowed_length) == (0.8, 1.75, 3)
    assert (s.llama_samplers, s.loop_guard) == ("auto", True)


LLAMA_DEFAULTS = {
    "repeat_penalty": 1.05,
    "repeat_last_n": 64,
    "dry_multiplier": 0.8,
    "dry_base": 1.75,
    "dry_allowed_length": 3,
}


@pytest.mark.parametrize(
    ("props", "setting", "llama"),
    [(True, "auto", True), (False, "auto", False), (True, "off", False), (False, "on", True)],
)
def test_llama_cpp_gets_dry_and_its_repeat_penalty_a_strict_api_does_not(
    openai_api: ScriptedOpenAI, props: bool, setting: str, llama: bool
) -> None:
    openai_api.llama = props
    openai_api.enqueue(GOOD)
    llm = OpenAILLM(Settings(provider="openai", base_url=openai_api.url, model=MODEL, llama_samplers=setting))
    try:
        reply = llm.complete(MESSAGES, None, None)
    finally:
        llm.close()
    (chat,) = openai_api.chats()
    sent = {k: chat[k] for k in LLAMA_DEFAULTS if k in chat}
    assert sent == (LLAMA_DEFAULTS if llama else {})
    assert {k: reply.options[k] for k in sent} == sent  # kept in llm_output.json's request options
    probes = [r for r in openai_api.history if r.path == "/props"]
    assert len(probes) == (1 if setting == "auto" else 0)


def test_llama_cpps_retry_samples_harder(openai_api: ScriptedOpenAI, tmp_path: Path) -> None:
    openai_api.llama = True
    openai_api.enqueue(ENDLESS, GOOD)
    llm = OpenAILLM(Settings(provider="openai", base_url=openai_api.url, model=MODEL), io.StringIO())
    try:
        ask(llm, tmp_path)
    finally:
        llm.close()
    second = openai_api.chats()[1]
    assert (second["dry_multiplier"], second["repeat_penalty"], second["repeat_last_n"]) == (1.2, 1.15, 256)
    assert "frequency_penalty" not in second  # llama.cpp has DRY: no penalty on every name a program reuses


def test_llama_samplers_takes_auto_on_or_off(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"llama_samplers='yes' is not one of auto, on, off"):
        load_settings(tmp_path, {"llama_samplers": "yes"})
