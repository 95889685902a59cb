"""The rules one file's content must pass, whichever way it came: in a whole JSON answer (`steps = false`)
or alone, as it arrives in steps. genlib.answer.rules applies them in both modes; nothing else does.

    text        UTF-8 text (no lone surrogates, no control characters), within `max_file_bytes`
    dependency  requirements.txt and package.json within genlib.answer.depfiles' rules
    empty       only where a command runs the file: the script of a component's command
                (`python3 main.py`, `python3 -m pkg.app`, `sh ./bin/run.sh`) or a static site's index.html.
                Anything else may be empty (`__init__.py`, an empty stylesheet), as it may in a repository
    syntax      python, JavaScript and JSON parse (genlib.answer.syntax), when a checker is given
    imports     a program imports no package its component installs nothing for (genlib.answer.imports)
    pages       a static page loads no local script or stylesheet its component lacks (genlib.answer.pages)
    shortened   a patched file that lost most of its lines and says so ("... rest unchanged") is refused, and so
                is a program (a file a command runs) that came back a few lines long from many: a fragment
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Iterator
from typing import Protocol

from genlib.answer import depfiles, imports, pages
from genlib.documents.llm_output import SCRIPT_SUFFIXES, ComponentSpec
from genlib.errors import OutputError

STATIC_ENTRY = "index.html"  # what genlib's static server answers at /
FRAGMENT_FROM, FRAGMENT_LINES = 10, 5  # a program of 10+ lines that comes back 5 or fewer (and a fifth) is a fragment
_CONTROL = {chr(c) for c in range(32)} - {"\t", "\n", "\r"}
SURROGATE = re.compile("[\ud800-\udfff]")
_ELISION = re.compile(
    r"(\.\.\.|…|rest of (the )?(file|code)|(remains?|stays?|is) (the same|unchanged)|unchanged)", re.IGNORECASE
)


class SyntaxCheck(Protocol):
    def check(self, path: str, content: str) -> None: ...


def check_file(
    path: str,
    content: str,
    max_bytes: int,
    runs: Iterable[ComponentSpec] = (),
    syntax: SyntaxCheck | None = None,
    before: str | None = None,
    app_files: Collection[str] | None = None,
    made_from: str | None = None,
) -> None:
    """Every rule of one file's content. `runs`: the components whose command may run it (the app's);
    `before`: the file's content before a patch; `app_files`: every path of the app it belongs to (for its
    imports); `made_from`: the starter a new file was given (the 1.5B answered `{}` for a 50-line server)."""
    check_content(path, content, max_bytes)
    depfiles.check_answer_file(path, content)
    runner = next((c for c in runs if path in entry_files(c)), None)
    if not content.strip() and runner is not None:
        raise OutputError(f"{path} is empty, and {runner.service} runs it; write its whole content")
    if before is not None:  # before the syntax: a fragment's reason is that it is one, not its undefined names
        check_not_shortened(path, before, content)
    if runner is not None and (before or made_from) is not None:
        check_not_a_fragment(path, runner.service, before or made_from or "", content)
    if syntax is not None:
        syntax.check(path, content)
    owner = next((c for c in runs if path.startswith(f"{c.layer}/{c.name}/")), None)
    if owner is not None and app_files is not None:
        imports.check(path, content, app_files, owner.runtime)
        if owner.runtime == "static":
            pages.check(path, content, app_files)


def check_content(path: str, content: str, max_bytes: int) -> None:
    if SURROGATE.search(content):
        raise OutputError(f"file {path!r} holds a lone surrogate (\\ud800-\\udfff); only UTF-8 text is accepted")
    size = len(content.encode("utf-8"))
    if size > max_bytes:
        raise OutputError(f"file {path!r} is {size} bytes, over the limit of {max_bytes} (setting max_file_bytes)")
    if any(ch in _CONTROL for ch in content):
        raise OutputError(f"file {path!r} looks binary (control characters); only text files are accepted")


def entry_files(comp: ComponentSpec) -> set[str]:
    """The paths a runnable component's start runs: the files its command names, a static site's page."""
    if not comp.runnable:
        return set()
    folder = f"{comp.layer}/{comp.name}/"
    if comp.runtime == "static":
        return {folder + STATIC_ENTRY}
    return {folder + rel for rel in _named(comp.command or [])}


def scripts(command: list[str] | None) -> list[str]:
    """The component-relative script files a command runs by path (`node server.js`, `python3 app.py`);
    not `-m` modules, which may come from a package."""
    found = [arg.removeprefix("./") for arg in (command or [])[1:] if arg.endswith(SCRIPT_SUFFIXES)]
    return [rel for rel in found if not rel.startswith(("/", "-")) and ".." not in rel.split("/")]


def _named(command: list[str]) -> Iterator[str]:
    """The component-relative files a command names: `./bin/run.sh` or `main.py`, and `-m pkg.app`'s module."""
    for index, arg in enumerate(command[1:], 1):
        if command[index - 1] == "-m" and re.fullmatch(r"[\w.]+", arg):
            yield arg.replace(".", "/") + ".py"
        elif not arg.startswith(("-", "/")) and "." in arg.rsplit("/", 1)[-1]:
            yield arg.removeprefix("./")


def check_not_a_fragment(path: str, service: str, before: str, after: str) -> None:
    """A program that came back a few lines long, from many, is a fragment (the 1.5B sent `obj['files'][0]
    ['content']` for a 40-line server, and the service exited): refused, so the model sends the whole file."""
    lines_before, lines_after = _code_lines(before), _code_lines(after)
    if lines_before >= FRAGMENT_FROM and lines_after <= FRAGMENT_LINES and lines_after * 5 < lines_before:
        raise OutputError(
            f"{path}, the program {service} runs, came back {lines_after} line(s) long, from {lines_before}: "
            "send the whole file with the fix, every line of it"
        )


def _code_lines(text: str) -> int:
    return sum(1 for line in text.splitlines() if line.strip())


def check_not_shortened(path: str, before: str, after: str) -> None:
    """A whole-file answer that lost most of the file and says so with an elision is a shortened file."""
    if len(after) >= len(before) // 2:
        return
    added = [line for line in after.splitlines() if line not in before.splitlines()]
    if any(_ELISION.search(line) for line in added):
        raise OutputError(
            f"{path} came back {len(after)} chars long, from {len(before)}, with parts left out "
            "('... unchanged'): send the whole file, every line of it"
        )
