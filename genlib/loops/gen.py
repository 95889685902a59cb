"""`doit gen desc="..."`: a person's request -> a new iteration -> the graph.

    read_description   the request, or one line saying how to pass it
    genprompt.existing the app already there: its components, its files ranked by the request's words
    build_messages     templates/gen.md.j2 with as much of it as gen_budget_chars holds (genlib.model.genprompt)
    ask_model          the model's answer, validated (retries with the error fed back); by default in steps (stepgen)
    record             iterations/iter_NNN_<slug>/{desc.txt, llm_output.json}, test.yaml, HEAD
    doit_run.run       materialize -> registry -> compose, in-process

The iteration appears only once the answer is complete and valid, so an error
or Ctrl-C at any earlier step leaves the workspace as it was.
"""

from __future__ import annotations

import functools
import re
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from typing import TextIO, get_args

from genlib.answer import rules
from genlib.answer.file_rules import SyntaxCheck
from genlib.app.iterations import Iteration, set_head, slugify, write_iteration
from genlib.app.registry import STATIC_PORT
from genlib.config import Settings
from genlib.documents.llm_output import FORMAT, Answer, LLMOutput, Runtime, answer_schema, dump_output
from genlib.documents.scenarios import load_tests, merge_model_scenarios, save_tests, settle
from genlib.errors import ConfigError, ModelMissing
from genlib.model import genprompt, profile, stepgen
from genlib.model.ask import Accepted, Check, ask_whole
from genlib.model.base import LLM, Message
from genlib.model.connect import connect
from genlib.stack import compose, migrations
from genlib.tasks import doit_run
from genlib.workspace import LAYERS, Workspace

_LAYER_PURPOSES = {
    "frontend": "what a browser loads: static HTML/CSS/JS (runtime static)",
    "backend": "server-side services behind the API: storage, domain logic",
    "workers": "background loops with no port: schedulers, consumers, digests",
    "api": "HTTP APIs other components and the browser call",
    "deployment": "configuration and scripts that support the others (usually not runnable)",
}
_RUNTIME_NOTES = {
    "python": "Python 3.11; packages from PyPI listed in the component's requirements.txt (name==version per line)",
    "node": "Node.js 18; npm packages listed in the component's package.json `dependencies` (exact versions)",
    "static": f"files served as they are by a plain HTTP server on port {STATIC_PORT}; entry page index.html",
    "shell": "POSIX sh scripts (deploy, backup): kept with the app but never run by genlib; give them no command",
    "postgres": "a PostgreSQL database run by genlib (no command, no port): only numbered .sql migrations",
    "redis": "a Redis server run by genlib (no command, no port, no files): a cache or a job queue",
}
NOT_VARIABLES = ("desc", "pull")  # gen's own arguments, not settings for the graph


def read_description(raw: str | None) -> str:
    text = (raw or "").strip()
    if not text:
        raise ConfigError('no description: pass desc="what to build", e.g. doit gen desc="a notes app"')
    return text


_PAGE_WORDS = re.compile(
    r"\b(pages?|web ?(site|app|ui)?|html|site|frontend|ui|forms?|browser|dashboard|screen)\b", re.I
)


def asks_for_page(description: str) -> bool:
    """Whether the request mentions something a browser shows: the small prompt's example has a page only then
    (the 0.5B copied the example's page into an API-only request)."""
    return bool(_PAGE_WORDS.search(description))


_WORKER_WORDS = re.compile(r"\b(workers?|background|every|forever|periodic(ally)?|cron|jobs?|queue)\b", re.I)
_API_WORDS = re.compile(r"\b(api|apis|routes?|endpoints?|http|rest|GET|POST|PUT|DELETE|server|pages?|web)\b", re.I)


# what only a program does: a page that names none of these is a static site
_PROGRAM_WORDS = re.compile(
    r"\b(api|apis|routes?|endpoints?|http|rest|GET|POST|PUT|DELETE|server|backend|workers?|database|db|postgres(ql)?"
    r"|sql|redis|stor(e|es|ed|ing)|saves?|saved|counts?|counters?|submit|login|users?|forms?|adds?|adding|apps?)\b",
    re.I,
)


def example_for(description: str) -> str:
    """The small plan prompt's example: a worker's for a request for a worker and no API (the 0.5B planned the
    example's bookmark routes into a worker that prints ticks), a static site's for a page that needs no program
    (the 0.5B planned the API example's routes into "a static home page" three times), else the API's."""
    if _WORKER_WORDS.search(description) and not _API_WORDS.search(description):
        return "worker"
    return "site" if asks_for_page(description) and not _PROGRAM_WORDS.search(description) else "api"


_STORES = {
    "postgres": re.compile(r"\b(postgres(ql)?|psycopg|sql|database|db)\b", re.I),
    "redis": re.compile(r"\bredis\b", re.I),
}


def store_for(description: str) -> str | None:
    """The data service the small plan prompt's example stores in: the one the request names, else none (the
    0.5B planned a Redis app as the cache alone, and a Postgres app as a database running `psql`)."""
    return next((store for store, words in _STORES.items() if words.search(description)), None)


def build_messages(ws: Workspace, description: str, app: genprompt.App | None, settings: Settings) -> list[Message]:
    """The gen prompt within gen_budget_chars (genlib.model.genprompt); with `steps` it asks for the plan (each file
    is asked for next, genlib.model.stepgen, repeating this prompt: it gets STEPS_SHARE of the budget less)."""
    steps = settings.steps
    context = {
        "description": description,
        "layers": [{"name": name, "purpose": _LAYER_PURPOSES[name]} for name in LAYERS],
        "runtimes": [{"name": name, "notes": _RUNTIME_NOTES[name]} for name in get_args(Runtime)],
        "static_port": STATIC_PORT,
        "schema": stepgen.plan_schema() if steps else answer_schema(),
        "steps": steps,
        "asks_for_page": asks_for_page(description),
        "example": example_for(description),
        "store": store_for(description),
    }
    budget = settings.gen_budget_chars
    room = int(budget * (1 - genprompt.STEPS_SHARE)) if steps else budget
    prompt = genprompt.build(ws, context, app, room, profile.template(settings, genprompt.TEMPLATE))
    return [{"role": "user", "content": prompt.text}]


def answer_rules(
    ws: Workspace, settings: Settings, current: rules.Baseline, syntax: SyntaxCheck | None = None
) -> Check:
    """genlib.answer.rules on the app the answer would produce (failures go back to the model); `syntax`: the
    files' syntax too (in steps each file's is checked as it arrives)."""
    limits = rules.Limits.of(settings)
    render = compose.renderer(ws, settings)

    def check(answer: Answer, *, planned: bool = False) -> None:
        rules.check(answer, current, limits, render=render, planned=planned, syntax=syntax)

    return check


def ensure_model(llm: LLM, pull: bool, out: TextIO) -> None:
    """Pull the model when asked (pull=1, or yes at the terminal's prompt); else say how."""
    try:
        llm.ensure_model(pull=pull, out=out)
    except ModelMissing:
        if pull or not sys.stdin.isatty():
            raise
        reply = input(f"model {llm.model} is not present at {llm.host}; pull it now? [y/N] ")
        if reply.strip().lower() not in ("y", "yes"):
            raise
        llm.ensure_model(pull=True, out=out)


def ask_model(
    ws: Workspace, llm: LLM, messages: list[Message], settings: Settings, current: rules.Baseline, out: TextIO
) -> Accepted[Answer]:
    check_with = functools.partial(answer_rules, ws, settings, current)
    return ask_whole(llm, messages, settings, check_with, ws.state_dir / "rejected", out)


def whole_answer(
    ws: Workspace,
    llm: LLM,
    description: str,
    messages: list[Message],
    settings: Settings,
    current: rules.Baseline,
    out: TextIO,
) -> LLMOutput:
    """The app in one JSON answer (`steps = false`; by default a plan, then each file: model.stepgen)."""
    accepted = ask_model(ws, llm, messages, settings, current, out)
    return LLMOutput(
        format=FORMAT,
        kind="gen",
        description=description,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        request=accepted.request(llm.host, messages),
        attempts=accepted.attempts,
        raw=accepted.raw,
        answer=accepted.answer,
        stats=accepted.stats(),
    )


def record(
    ws: Workspace, description: str, output: LLMOutput, current: rules.Baseline
) -> tuple[Iteration, int, list[str]]:
    """Write the iteration (all or nothing), then test.yaml, then HEAD.

    Returns it, how many scenarios the model added, and the model's scenarios dropped because the app
    no longer has their service."""
    files = {"desc.txt": description + "\n", "llm_output.json": dump_output(output)}
    it = write_iteration(ws, slugify(description), files)
    app = rules.apply(output.answer, current)
    merged, added = merge_model_scenarios(current.tests, list(output.answer.scenarios), it.name)
    settled, dropped = settle(merged, app.services)
    if added or dropped:
        save_tests(ws.tests_path, settled)
    if ws.head_file.exists():
        set_head(ws, it)
    return it, added, dropped


def summary(it: Iteration, output: LLMOutput, added: int, dropped: list[str], seconds: float) -> str:
    answer = output.answer
    layers = Counter(spec.path.split("/")[0] for spec in answer.files)
    services = sorted(c.service for c in answer.components if c.runnable)
    stats = output.stats
    tries = len(output.attempts) + sum(len(step.attempts) for step in output.steps)
    asked = f" over {len(output.steps)} requests" if output.steps else ""
    return "\n".join(
        [
            f"gen: {it.name}",
            "  files:     " + (", ".join(f"{layer} {n}" for layer, n in sorted(layers.items())) or "none"),
            "  services:  " + (", ".join(services) or "none new"),
            f"  scenarios: {added} added to test.yaml"
            + (f"; {len(dropped)} dropped, their service is gone: {', '.join(dropped)}" if dropped else ""),
            f"  tokens:    {stats.prompt_tokens} prompt + {stats.completion_tokens} answer"
            f" in {tries} attempt{'s' if tries > 1 else ''}{asked}; {seconds:.1f}s in all",
        ]
    )


def run(ws: Workspace, variables: dict[str, str], out: TextIO | None = None) -> int:
    """The whole of `doit gen`; returns the exit code (the graph's, when it fails)."""
    out = out or sys.stdout
    started = time.monotonic()
    description = read_description(variables.get("desc"))
    settings = ws.settings(variables)
    tests = load_tests(ws.tests_path)  # a broken test.yaml fails now, before the model is paid for
    app = genprompt.existing(ws, description)
    current = migrations.baseline(ws, tests)
    messages = build_messages(ws, description, app, settings)  # a broken template fails before any request
    with connect(settings, out) as llm:
        ensure_model(llm, variables.get("pull", "0") not in ("", "0", "no", "false"), out)
        settled, line = profile.settle(settings, llm)
        print(line, file=out)
        if settled.profile == profile.SMALL != settings.profile:  # auto, and the model's size chose small
            messages = build_messages(ws, description, app, settled)
        settings = settled
        if settings.steps:
            run = stepgen.Run(ws, llm, settings, answer_rules(ws, settings, current), out, current)
            output = stepgen.generate(run, description, messages)
        else:
            output = whole_answer(ws, llm, description, messages, settings, current, out)
    it, added, dropped = record(ws, description, output, current)
    if settings.steps:
        stepgen.Received.for_request(ws, llm, messages).clear()  # the iteration holds it all now
    graph_vars = {k: v for k, v in variables.items() if k not in NOT_VARIABLES}
    code = doit_run.run(ws, variables=graph_vars)
    if code != 0:
        print(f"ERROR: {it.name} was written, but building it failed (above); fix that and run `doit`", file=sys.stderr)
        return code
    print(summary(it, output, added, dropped, time.monotonic() - started), file=out)
    return 0
