"""What a page did, as text: its errors and failed requests, located in the app's own files.

Pure: nothing here needs a browser, so every rule is tested without Chromium; genlib.checks.browser
feeds it playwright's events.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from genlib.documents.results import PageEvidence
from genlib.text import one_line

if TYPE_CHECKING:
    from playwright.sync_api import ConsoleMessage, Request, Response

KEPT_EVENTS = 20  # errors and failed requests kept as evidence (the first ones are the cause)
_PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9-]{0,62})\}")
_FRAME = re.compile(r"(?:at |@|\()(\S+?):(\d+):(\d+)\)?\s*$", re.MULTILINE)


def page_url(path: str, service: str, host_ports: Mapping[str, int | None]) -> str:
    """The page's URL on the host; `{notes-api}` in the path becomes http://127.0.0.1:<its host port>."""

    def address(match: re.Match[str]) -> str:
        port = host_ports.get(match.group(1))
        if not port:
            raise KeyError(match.group(1))
        return f"http://127.0.0.1:{port}"

    return f"http://127.0.0.1:{host_ports[service]}{_PLACEHOLDER.sub(address, path)}"


def source_file(url: str, files_by_port: Mapping[int, Mapping[str, str]]) -> str | None:
    """'frontend/web/app.js' for http://127.0.0.1:<its service's port>/app.js, when the registry has the file."""
    parts = urlsplit(url)
    if parts.hostname not in ("127.0.0.1", "localhost") or parts.port is None:
        return None
    return files_by_port.get(parts.port, {}).get(parts.path.lstrip("/") or "index.html")


def where(url: str, line: int, column: int, files_by_port: Mapping[int, Mapping[str, str]]) -> str:
    """'http://127.0.0.1:18080/app.js:6:18 (frontend/web/app.js line 6)': the URL a person can open, the
    file heal can change."""
    if not url:
        return ""
    place = f"{url}:{line}:{column}" if line else url
    file = source_file(url, files_by_port)
    return f"{place} ({file} line {line})" if file and line else f"{place} ({file})" if file else place


def first_frame(stack: str) -> tuple[str, int, int]:
    """URL, line and column of the innermost frame of a JavaScript stack ('', 0, 0 when it has none)."""
    match = _FRAME.search(stack)
    return (match.group(1), int(match.group(2)), int(match.group(3))) if match else ("", 0, 0)


def page_error_line(name: str, message: str, stack: str, files_by_port: Mapping[int, Mapping[str, str]]) -> str:
    url, line, column = first_frame(stack)
    text = message if not name or message.startswith(name) else f"{name}: {message}"
    at = where(url, line, column, files_by_port)
    return f"uncaught {one_line(text)}" + (f" at {at}" if at else "")


def console_error_line(text: str, location: Mapping[str, Any], files_by_port: Mapping[int, Mapping[str, str]]) -> str:
    # playwright's console locations count from 0; stacks and editors count from 1
    url = str(location.get("url") or "")
    at = where(url, int(location.get("lineNumber") or 0) + 1, int(location.get("columnNumber") or 0) + 1, files_by_port)
    return f"console.error: {one_line(text)}" + (f" at {at}" if at else "")


def request_line(method: str, url: str, outcome: str) -> str:
    return f"{method} {url} -> {outcome}"


@dataclass
class PageLog:
    """Errors and failed requests as they happen; `own` is the app's host:port addresses."""

    own: set[str]
    files_by_port: Mapping[int, Mapping[str, str]]
    errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)

    def is_own(self, url: str) -> bool:
        parts = urlsplit(url)
        # the browser asks for /favicon.ico by itself; a static app need not have one
        return parts.netloc in self.own and parts.path != "/favicon.ico"

    def on_page_error(self, error: Any) -> None:
        add_new(self.errors, page_error_line(error.name, error.message, error.stack or "", self.files_by_port))

    def on_console(self, message: ConsoleMessage) -> None:
        # "Failed to load resource" repeats a failed request: those count (below) only for the app's own services
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            add_new(self.errors, console_error_line(message.text, message.location, self.files_by_port))

    def on_response(self, response: Response) -> None:
        if response.status >= 400 and self.is_own(response.url):
            outcome = f"{response.status} {response.status_text}".strip()
            add_new(self.failed_requests, request_line(response.request.method, response.url, outcome))

    def on_request_failed(self, request: Request) -> None:
        if self.is_own(request.url) and request.url not in self.blocked:
            add_new(self.failed_requests, request_line(request.method, request.url, request.failure or "failed"))

    def problems(self) -> list[str]:
        found = []
        if self.errors:
            more = f" (and {len(self.errors) - 1} more)" if len(self.errors) > 1 else ""
            found.append(f"{self.errors[0]}{more}")
        if self.failed_requests:
            more = f" (and {len(self.failed_requests) - 1} more)" if len(self.failed_requests) > 1 else ""
            found.append(f"request {self.failed_requests[0]}{more}")
        return found

    def evidence(self, url: str) -> PageEvidence:
        found = PageEvidence(
            url=url, errors=self.errors[:KEPT_EVENTS], failed_requests=self.failed_requests[:KEPT_EVENTS]
        )
        return found.model_copy(update={"blocked_requests": self.blocked[:KEPT_EVENTS]}) if self.blocked else found


def allowed_hosts(own: set[str], setting: str) -> set[str]:
    """The stack's host:port addresses, and what a person allows: `cdn.example.org` (any port) or `host:port`."""
    return own | {h.strip().lower() for h in setting.split(",") if h.strip()}


def is_allowed(url: str, allowed: set[str]) -> bool:
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about"):
        return True  # the page's own content, no request leaves the browser
    host = (parts.hostname or "").lower()
    return parts.netloc.lower() in allowed or host in allowed


def add_new(found: list[str], line: str) -> None:
    """The same error on every reload or poll says nothing new; the first of each is kept."""
    if line not in found:
        found.append(line)
