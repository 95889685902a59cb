"""A static page loads no local file its component lacks (genlib.answer.pages)."""

from __future__ import annotations

import pytest

from genlib.answer import pages
from genlib.errors import OutputError

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
