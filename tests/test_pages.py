"""A static page loads no local file its component lacks (genlib.answer.pages)."""

from __future__ import annotations

import json

import pytest
from ollama_server import ScriptedOllama
from test_gen import gen_in_process

from genlib.answer import pages
from genlib.errors import OutputError
from genlib.workspace import Workspace

FILES = {"frontend/web/index.html", "frontend/web/app.js", "frontend/web/css/site.css"}


def test_a_page_loading_a_script_nobody_wrote_is_refused_with_what_to_do() -> None:
    # the real 1.5B's static-home (2026-12-07): index.html alone, loading app.js; a 404 on the page
    page = '<script src="genlib-env.js"></script><script src="main.js"></script>'
    with pytest.raises(
        OutputError, match=r"loads 'main.js', which frontend/web does not have .* write frontend/web/main.js"
    ):
        pages.check("frontend/web/index.html", page, FILES)
    with pytest.raises(OutputError, match=r"style\.css"):
        pages.check("frontend/web/index.html", '<link rel="stylesheet" href="/style.css">', FILES)


@pytest.mark.parametrize(
    "tag",
    [
        '<script src="app.js"></script>',
        '<script src="./app.js"></script>',
        '<script src="/app.js?v=2"></script>',
        '<link rel="stylesheet" href="css/site.css">',
        '<script src="genlib-env.js"></script>',  # genlib's server adds it
        '<script src="https://cdn.example.org/lib.js"></script>',  # elsewhere: the page's egress rules judge it
        '<script src="//cdn.example.org/lib.js"></script>',
        '<link rel="icon" href="favicon.ico">',  # not a script or a stylesheet
        "<script>console.log('inline')</script>",
    ],
)
def test_what_the_component_has_or_genlib_serves_or_lives_elsewhere_is_fine(tag: str) -> None:
    pages.check("frontend/web/index.html", f"<html><body>{tag}</body></html>", FILES)


def test_in_a_gen_in_steps_a_tag_loading_an_unplanned_file_is_dropped() -> None:
    """In steps the plan is settled: the page cannot be given the file, so the tag goes (it could only fail)."""
    page = (
        '<ul id="links"></ul>\n  <script src="genlib-env.js"></script>\n  <script src="app.js"></script>\n'
        '  <link rel="stylesheet" href="/style.css">\n'
    )
    kept = pages.without_missing("frontend/web/index.html", page, {"frontend/web/index.html"})
    assert kept == '<ul id="links"></ul>\n  <script src="genlib-env.js"></script>\n'
    pages.check("frontend/web/index.html", kept, {"frontend/web/index.html"})  # the rule has nothing left to say
    assert pages.without_missing("frontend/web/index.html", page, FILES | {"frontend/web/style.css"}) == page


def test_a_gen_in_steps_lands_a_page_whose_script_was_never_planned(
    workspace: Workspace, ollama: ScriptedOllama
) -> None:
    """The 1.5B's static-home: index.html planned alone, written loading app.js. Lands, without the tag."""
    plan = {"components": [{"name": "home", "layer": "frontend", "runtime": "static"}],
            "files": [{"path": "frontend/home/index.html"}]}  # fmt: skip
    page = '<h1>My Home</h1>\n<script src="genlib-env.js"></script>\n<script src="app.js"></script>\n'
    ollama.enqueue(json.dumps(plan), f"```html\n{page}```")
    code, out = gen_in_process(workspace, "a static home page")
    assert code == 0, out
    [it] = workspace.iterations_dir.iterdir()
    assert (it / "frontend/home/index.html").read_text() == '<h1>My Home</h1>\n<script src="genlib-env.js"></script>\n'
