"""A starter's other stubs, each asked for alone after its file (profile small), as routes are (routefill).

    fill(ws, starter, content, ...)    the file with every stub its starter left written by the model alone
    fill_work(ws, content, path, ...)  a worker starter's work(step) (python-worker.py.j2, node-worker.js.j2)
    fill_page(ws, content, path, ...)  a static site's page content (static-index.html.j2 with no API)

The 0.5B sent the ticker's worker starter back as it was (it logged "working 1" forever) and "a static home
page"'s starter back titled "App"; asked for the one function, or the page's elements, alone, it writes them.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from genlib import prompts
from genlib.answer import imports
from genlib.errors import OutputError
from genlib.model import routefill
from genlib.model.fenced import read_fenced
from genlib.model.routefill import Ask, splice
from genlib.model.starters import Starter
from genlib.workspace import Workspace

WORKERS = ("python-worker.py.j2", "node-worker.js.j2")  # a work(step) stub
WORK_TEMPLATE = "small/work.md.j2"
WORK_STUB = "work is not written yet"
PAGES = ("static-index.html.j2",)  # a static site's: its content a stub
PAGE_TEMPLATE = "small/page.md.j2"
PAGE_STUB = "<p>The page is not written yet.</p>"


def fill(
    ws: Workspace,
    starter: Starter,
    content: str,
    path: str,
    request: str,
    purpose: str,
    ask: Ask,
    check: Callable[[str], None],
) -> str:
    """`content` (a file made from `starter`) with each stub the starter left written by the model alone: a
    server's routes, a worker's work(), a static page's content; `check` is every rule the file obeys."""
    if starter.name in routefill.STARTERS:
        return routefill.fill(ws, content, starter.routes, path, request, ask, check)
    if starter.name in WORKERS:
        return fill_work(ws, content, path, request, purpose, ask, check)
    if starter.name in PAGES:
        filled = fill_page(ws, content, path, request, starter.looks_for, ask, check)
        named = _list_named(filled, starter.looks_for)  # the page the model wrote whole, too
        if named != filled:
            check(named)
        return named
    return content


def fill_work(
    ws: Workspace, content: str, path: str, request: str, purpose: str, ask: Ask, check: Callable[[str], None]
) -> str:
    """`content` with a worker starter's work() still its stub written by the model alone (shown the file, the
    request and the file's purpose); as it was when written already, or when no answer passes `check`."""
    if WORK_STUB not in content:
        return content
    python = path.endswith(".py")
    context = {"path": path, "content": content, "request": request, "purpose": purpose, "python": python}
    prompt = prompts.render(ws, WORK_TEMPLATE, context)

    def parse(raw: str) -> str:
        filled = splice(content, "work", read_fenced(raw), path)
        filled = imports.completed(filled, content) if python else filled
        check(filled)
        return filled

    filled = ask(prompt, parse, f"work() in {path}")
    return content if filled is None else filled


def fill_page(
    ws: Workspace, content: str, path: str, request: str, looks_for: list[str], ask: Ask, check: Callable[[str], None]
) -> str:
    """`content` with a static page starter's content still its stub written by the model alone: the elements of
    its body (shown the request and what the page's tests look for); as it was when written already, or when no
    answer passes `check`. The 0.5B sent "a static home page"'s starter back as it was, titled "App"."""
    if PAGE_STUB not in content:
        return content
    context = {"path": path, "content": content, "request": request, "looks_for": looks_for}
    prompt = prompts.render(ws, PAGE_TEMPLATE, context)

    def parse(raw: str) -> str:
        elements = _body_elements(read_fenced(raw))
        if not elements.strip() or "not written yet" in elements:
            raise OutputError("send the page's own elements (headings, text, lists, links): it has none yet")
        elements = _list_named(elements, looks_for)
        indent = content[: content.index(PAGE_STUB)].rsplit("\n", 1)[-1]
        filled = content.replace(PAGE_STUB, "\n".join(f"{indent}{line}".rstrip() for line in
                                                       elements.strip().split("\n")).strip(), 1)  # fmt: skip
        check(filled)
        return filled

    filled = ask(prompt, parse, f"the content of {path}")
    return content if filled is None else filled


_BODY = re.compile(r"<body[^>]*>(.*?)(?:</body>|$)", re.DOTALL | re.IGNORECASE)
_SCRIPT_TAG = re.compile(r"^\s*<script\b.*?</script>\s*$", re.MULTILINE | re.IGNORECASE)


_LIST_ITEMS = re.compile(r"^#([A-Za-z][\w-]*)\s*>?\s*li$")  # `#links li`: the items of the list `links`
_UNNAMED_LIST = re.compile(r"<(ul|ol)(?![^>]*\bid=)([^>]*)>", re.IGNORECASE)


def _list_named(elements: str, looks_for: list[str]) -> str:
    """The page's one list given the id its tests look for its items by (`#links li`), when nothing has that id:
    both real models wrote the home page's three links as a list with no id, and its scenario failed on it."""
    for selector in looks_for:
        named = _LIST_ITEMS.match(selector.strip())
        if named and f'id="{named.group(1)}"' not in elements and len(_UNNAMED_LIST.findall(elements)) == 1:
            return _UNNAMED_LIST.sub(rf'<\1 id="{named.group(1)}"\2>', elements, count=1)
    return elements


def _body_elements(html: str) -> str:
    """What goes inside the page's body: the answer's own body when it sent a whole page, less script tags (the
    page's are the starter's)."""
    found = _BODY.search(html)
    return _SCRIPT_TAG.sub("", found.group(1) if found else html)
