"""genlib's doit commands (registered in the workspace's doit.cfg): loops and queries, not graph tasks.

`doit gen desc=...`, `doit heal`, `doit history`, `doit diff a=1 b=3`, `doit rollback to=2`, `doit bisect`,
`doit report`, `doit watch`.
Each command is a thin shell around a function in its own module; a GenlibError
becomes one `ERROR:` line and its class's exit code (errors.py: 3 for bad arguments or a
busy workspace, else 2).

doit loads every command doit.cfg names on every call, a no-op `doit` too: so each command imports
its module (gen, heal: the model, pydantic's answer models; history) inside `action`, never here
(tests/test_startup.py).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from doit import get_var
from doit.cmd_base import Command
from doit.cmd_run import Run as DoitRun

from genlib import lock
from genlib.app import lent_head
from genlib.errors import ConfigError, GenlibError
from genlib.tasks.graph import setting_variables
from genlib.workspace import Workspace

INTERRUPTED = "ERROR: interrupted; earlier iterations are intact: run the same command again to finish"


class GenlibCommand(Command):  # type: ignore[misc]  # doit has no type hints
    """Base: find the workspace, take its lock, run `action`, translate errors."""

    doc_usage = ""

    def execute(self, params: Any, args: list[str]) -> int:
        try:
            ws = Workspace.at(Path.cwd())
            if lock.acquire(ws):
                lent_head.recover(ws)
            return int(self.action(ws, args))
        except GenlibError as exc:
            print(f"ERROR: {exc}", file=sys.stderr)
            return exc.exit_code
        except KeyboardInterrupt:
            print(INTERRUPTED, file=sys.stderr)
            return 130

    action: Callable[[Workspace, list[str]], int]


class Run(DoitRun):  # type: ignore[misc]  # doit has no type hints
    """doit's own `run` (the graph: `doit`, `doit test`, ...), with Ctrl-C as every genlib command has it:
    one line, exit 130, no traceback. Registered in doit.cfg under the name `run`, so it replaces doit's."""

    def execute(self, params: Any, args: list[str]) -> int:
        try:
            return int(super().execute(params, args))
        except KeyboardInterrupt:
            from genlib.tasks import doit_run  # only Ctrl-C asks: a no-op `doit` need not load it

            if doit_run.nested():
                raise  # a graph inside gen or heal: their command says it, once
            sys.stdout.flush()
            print(INTERRUPTED, file=sys.stderr)
            return 130


def _var(name: str, usage: str) -> str:
    """A required `name=value` doit variable; doit takes them off the argument list."""
    value = get_var(name, None)
    if value is None or not str(value).strip():
        raise ConfigError(f"missing {name}=; usage: {usage}")
    return str(value).strip()


class History(GenlibCommand):
    doc_purpose = "list the iterations: kind, description, files, test results, tokens; HEAD marked"
    doc_usage = ""

    def action(self, ws: Workspace, args: list[str]) -> int:
        from genlib.commands import history
        from genlib.documents import journal

        print(history.format_table(history.rows(ws)))
        missed = journal.format_entries(journal.read(ws))
        if missed:
            print(missed)
        return 0


class Diff(GenlibCommand):
    doc_purpose = "unified diff between the effective trees of two iterations"
    doc_usage = "a=N b=M"

    def action(self, ws: Workspace, args: list[str]) -> int:
        from genlib.commands import history

        usage = "doit diff a=1 b=3"
        text = history.diff(ws, _var("a", usage), _var("b", usage))
        print(text or "no differences", end="" if text else "\n")
        return 0


class Rollback(GenlibCommand):
    doc_purpose = "move HEAD to an earlier (or later) iteration; nothing is deleted"
    doc_usage = "to=N"

    def action(self, ws: Workspace, args: list[str]) -> int:
        from genlib.commands import history

        target = history.rollback(ws, _var("to", "doit rollback to=2"))
        print(f"HEAD is now {target.name}; run `doit` to rebuild and restart")
        return 0


class Gen(GenlibCommand):
    doc_purpose = "ask the model for a new iteration from a description, then build it (materialize, registry, compose)"
    doc_usage = 'desc="what to build" [model=NAME] [pull=1] [any genlib.toml setting=VALUE]'

    def action(self, ws: Workspace, args: list[str]) -> int:
        if args:
            raise ConfigError(f'unexpected argument {args[0]!r}; pass the request as desc="..."')
        from genlib.loops import gen

        return gen.run(ws, setting_variables("desc", "pull"))


class Heal(GenlibCommand):
    doc_purpose = "patch, rebuild and retest until the tests pass (or max_iter rounds, or no progress)"
    doc_usage = "[max_iter=3] [token_budget=N] [model=NAME] [any genlib.toml setting=VALUE]"

    def action(self, ws: Workspace, args: list[str]) -> int:
        if args:
            raise ConfigError(f"unexpected argument {args[0]!r}; heal takes only settings, e.g. max_iter=5")
        from genlib.loops import heal

        return heal.run(ws, setting_variables())


class Bisect(GenlibCommand):
    doc_purpose = "find the iteration that broke a scenario: recorded results where current, else stack runs"
    doc_usage = '[scenario="NAME"]... [any genlib.toml setting=VALUE]'

    def action(self, ws: Workspace, args: list[str]) -> int:
        from genlib.loops import bisect

        if args:
            raise ConfigError(f'unexpected argument {args[0]!r}; name a scenario as scenario="{args[0]}"')
        return bisect.run(ws, repeated_var("scenario"), setting_variables())


def repeated_var(name: str) -> list[str]:
    """Every `name=value` given, in order. doit keeps only the last one of a name; the command line still
    holds them all (when it is the command line doit read: its last one is doit's)."""
    last = get_var(name, None)
    if last is None:
        return []
    given = [arg.split("=", 1)[1] for arg in sys.argv[1:] if arg.startswith(f"{name}=")]
    return given if given and given[-1] == last else [str(last)]


class Report(GenlibCommand):
    doc_purpose = "write one self-contained HTML page of the iterations: timeline, tests, diffs, screenshots, tokens"
    doc_usage = "[out=PATH]"

    def action(self, ws: Workspace, args: list[str]) -> int:
        from genlib.commands import htmlreport  # Jinja2 and pygal: only this command needs them

        out = get_var("out", None)
        written = htmlreport.write(ws, Path(out).resolve() if out else None)
        print(f"report: {written} (open it in a browser; it needs no network)")
        return 0


class Watch(GenlibCommand):
    doc_purpose = "run the graph after each change to a layer file, test.yaml or a template, until Ctrl-C"
    doc_usage = "[any genlib.toml setting=VALUE]"

    def action(self, ws: Workspace, args: list[str]) -> int:
        from genlib.commands import watch

        if args:
            raise ConfigError(f"unexpected argument {args[0]!r}; watch takes only settings, e.g. up_timeout=60")
        return watch.run(ws, setting_variables())
