"""A static page loads only files its component has: a `<script src>` or stylesheet `<link href>` naming a local
file the app does not hold is refused on arrival, since genlib's static server would answer it 404 and the page
scenario fail on it (the 1.5B's static-home loaded an app.js nobody wrote, through three heal rounds).

    check(path, content, app_files)             raises OutputError for the first such file (a whole answer can add it)
    without_missing(path, content, app_files)   the page less those tags (in steps the plan is settled)
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Collection
from html.parser import HTMLParser
from urllib.parse import urlsplit

from genlib.errors import OutputError

SERVED = ("genlib-env.js",)  # what genlib's static server adds to every site


class _Assets(HTMLParser):
    """The local files a page loads: scripts' src and stylesheets' href."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "script" and named.get("src"):
            self.found.append(str(named["src"]))
        elif tag == "link" and named.get("href") and "stylesheet" in (named.get("rel") or "").lower():
            self.found.append(str(named["href"]))


def check(path: str, content: str, app_files: Collection[str]) -> None:
    for asset, local in _missing(path, content, app_files):
        root = "/".join(path.split("/")[:2])
        raise OutputError(
            f"{path} loads {asset!r}, which {root} does not have (genlib's server would answer 404): "
            f"write {local} too, or remove the tag"
        )


def without_missing(path: str, content: str, app_files: Collection[str]) -> str:
    """`content` less the tags loading files the app will not have: in a gen in steps the plan is settled, so a
    page can no longer be given the file, and the tag could only fail the page (the 0.5B and 1.5B add
    `<script src="app.js">` to a page planned alone)."""
    for asset, _ in _missing(path, content, app_files):
        quoted = rf"""["']{re.escape(asset)}["']"""
        content = re.sub(rf"[ \t]*<script\b[^>]*\bsrc\s*=\s*{quoted}[^>]*>\s*</script>[ \t]*\n?", "", content)
        content = re.sub(rf"[ \t]*<link\b[^>]*\bhref\s*=\s*{quoted}[^>]*>[ \t]*\n?", "", content)
    return content


def _missing(path: str, content: str, app_files: Collection[str]) -> list[tuple[str, str]]:
    """(as the page names it, its app path) for each local script or stylesheet the app does not hold."""
    if not path.endswith((".html", ".htm")) or path.count("/") < 2:
        return []
    layer, component, *_ = path.split("/")
    root, here = f"{layer}/{component}", posixpath.dirname(path)
    parser = _Assets()
    parser.feed(content)
    found = [(asset, _local(asset, root, here)) for asset in parser.found]
    return [
        (a, local) for a, local in found if local and local not in app_files and posixpath.basename(local) not in SERVED
    ]


def _local(asset: str, root: str, here: str) -> str | None:
    """The app path a page's reference names, or None for one elsewhere (a URL, `//cdn...`, `data:`)."""
    url = urlsplit(asset)
    if url.scheme or url.netloc or not url.path:
        return None
    joined = posixpath.join(root, url.path.lstrip("/")) if url.path.startswith("/") else posixpath.join(here, url.path)
    normal = posixpath.normpath(joined)
    return normal if normal.startswith(f"{root}/") else None
