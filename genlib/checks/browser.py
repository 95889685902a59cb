"""The one boundary to a real browser: a `page` scenario checked in headless Chromium (via playwright).

    check_page(scenario, ws, known) -> (status, reason, evidence)   `known`: what the runner already read

The page fails on what a person would notice or the console would show: an
uncaught error (a rejected promise too), a `console.error`, a request to one
of the app's own services (its host ports on 127.0.0.1) answered 4xx/5xx or
never answered, a step whose element never appears, an expected text or
element missing. A failing page leaves a screenshot beside results.json.

Inside `one_browser()` (the runner holds it for a whole test run) page scenarios
share one Chromium, each in a fresh context (its own cookies and storage):
starting Chromium costs seconds, a context milliseconds.

The page is confined: the model wrote its JavaScript, and it runs on this machine. Requests go only to
the stack's published addresses (127.0.0.1/localhost and its host ports) and to the hosts a person lists
in the `browser_allow` setting; every other one is aborted and kept as evidence (`blocked_requests`).
Chromium's HOME and caches are .genlib/chromium/, never the person's.

Chromium comes from the system (Debian's `chromium`), never from
`playwright install`; without it (or without playwright) page scenarios are
`skipped`, never `passed`. Everything playwright-specific stays in this module.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from genlib.app import registry
from genlib.app.iterations import Iteration, head
from genlib.checks import page_log
from genlib.checks.page_log import PageLog, allowed_hosts, is_allowed, page_url
from genlib.config import Settings
from genlib.documents.scenarios import PageScenario, PageStep
from genlib.errors import BrowserError, BrowserTimeout
from genlib.fsutil import atomic_write_bytes
from genlib.stack import ports
from genlib.text import one_line
from genlib.workspace import Workspace

if TYPE_CHECKING:
    from playwright.sync_api import (
        Browser,
        BrowserContext,
        Page,
        Playwright,
        Route,
    )

    from genlib.documents.results import Outcome

NO_BROWSER = "no browser: apt-get install chromium && pip install 'genlib[browser]'"
EXECUTABLES = ("chromium", "chromium-browser", "google-chrome")
# A quiet, sandbox-free Chromium: containers and CI run as root, and nothing may phone home.
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LAUNCH_TIMEOUT_MS = 30_000
CHECK_MS = 500  # an expectation still gets a look once the timeout is spent: one missing must not hide the rest
SETTLE_MS = 2_000  # after the checks, late requests and errors (a slow fetch) still count
SCREENSHOT_TIMEOUT_MS = 5_000
PAGE_TEXT_CHARS = 1000


# -- finding the browser ---------------------------------------------------------------------------


def find_executable(setting: str) -> Path | None:
    """The `browser` setting when it names an executable file, else the first Chromium on PATH."""
    if setting:
        found = shutil.which(setting)
        return Path(found) if found else None
    for name in EXECUTABLES:
        if found := shutil.which(name):
            return Path(found)
    return None


def playwright_installed() -> bool:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return True


@functools.cache
def _say_no_browser_once() -> None:
    print(f"genlib: page scenarios skipped: {NO_BROWSER}", file=sys.stderr, flush=True)


def confine(context: BrowserContext, allowed: set[str], log: PageLog) -> None:
    """Abort every request of the context to an address not in `allowed`, and log it."""

    def route(intercepted: Route) -> None:
        url = intercepted.request.url
        if is_allowed(url, allowed):
            intercepted.continue_()
            return
        page_log.add_new(log.blocked, url[:300])
        intercepted.abort("blockedbyclient")

    context.route("**/*", route)


# -- the check --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Known:
    """What the runner already read for its run (settings with the doit variables, registry, host ports,
    HEAD), so a page check reads none of it again."""

    settings: Settings  # `browser`, `browser_allow`
    registry: registry.Registry
    host_ports: Mapping[str, int]
    head: Iteration | None

    @classmethod
    def read(cls, ws: Workspace, settings: Settings | None = None) -> Known:
        """Everything from the workspace (for a page checked outside a test run)."""
        return cls(settings or ws.settings(), registry.load(ws), ports.load(ws), head(ws))


def check_page(scenario: PageScenario, ws: Workspace, known: Known | None = None) -> Outcome:
    """Load the page, do the steps, check the expectations; a failure leaves a screenshot."""
    settings = known.settings if known else ws.settings()
    executable = find_executable(settings.browser)
    if executable is None or not playwright_installed():
        _say_no_browser_once()
        return "skipped", NO_BROWSER, None
    known = known or Known.read(ws, settings)
    reg = known.registry
    host_ports: dict[str, int | None] = dict.fromkeys(reg.services)
    host_ports.update(known.host_ports)
    if not host_ports.get(scenario.service):
        return "error", f"service {scenario.service} publishes no port; a page scenario needs a frontend", None
    try:
        url = page_url(scenario.path, scenario.service, host_ports)
    except KeyError as exc:
        named = ", ".join(sorted(s for s, p in host_ports.items() if p))
        return "error", f"path names {{{exc.args[0]}}}, not a service with a port (known: {named}); fix test.yaml", None
    own = {f"{h}:{p}" for p in host_ports.values() if p for h in ("127.0.0.1", "localhost")}
    log = PageLog(own, _files(reg, host_ports))
    allowed = allowed_hosts(own, settings.browser_allow)
    home = ws.state_dir / "chromium"
    shot = _screenshot_path(ws, known.head, scenario.name)
    return _in_browser(executable, scenario, url, log, shot, allowed, home)


def _files(reg: registry.Registry, host_ports: Mapping[str, int | None]) -> dict[int, dict[str, str]]:
    """Per host port, URL path -> file: what a static service serves is its folder as it is."""
    found: dict[int, dict[str, str]] = {}
    for service, comp in reg.services.items():
        port = host_ports.get(service)
        if port and comp.runtime == "static":
            prefix = f"{comp.layer}/{comp.name}/"
            found[port] = {f.path.removeprefix(prefix): f.path for f in comp.files}
    return found


@dataclass(frozen=True)
class Screenshot:
    path: Path
    shown: str  # relative to the workspace, as results.json names files


def _screenshot_path(ws: Workspace, it: Iteration | None, name: str) -> Screenshot | None:
    """iterations/<head>/screenshots/<scenario name as a file name>.png"""
    if it is None:
        return None
    path = it.path / "screenshots" / f"{re.sub(r'[^A-Za-z0-9._-]+', '-', name).strip('-.')}.png"
    return Screenshot(path, path.relative_to(ws.root).as_posix())


# -- playwright's errors, translated where they enter ---------------------------------------------


@contextmanager
def playwright_errors() -> Iterator[None]:
    """playwright's exceptions as genlib's (engine.docker_errors does the same for Docker): the table says which.

    playwright is imported here, not at the top: it is an optional extra."""
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    table: tuple[tuple[type[Exception], type[BrowserError]], ...] = (
        (PlaywrightTimeout, BrowserTimeout),
        (PlaywrightError, BrowserError),
    )
    try:
        yield
    except PlaywrightError as exc:
        target = next(mine for theirs, mine in table if isinstance(exc, theirs))
        raise target(_first_line(exc.message), one_line(exc.message)) from exc


# -- one scenario in the browser ----------------------------------------------------------------------


def _in_browser(
    executable: Path,
    scenario: PageScenario,
    url: str,
    log: PageLog,
    shot: Screenshot | None,
    allowed: set[str],
    home: Path,
) -> Outcome:
    try:
        with playwright_errors(), _browser(executable, home) as browser, _fresh_context(browser) as context:
            confine(context, allowed, log)
            page = context.new_page()
            page.on("pageerror", log.on_page_error)
            page.on("console", log.on_console)
            page.on("response", log.on_response)
            page.on("requestfailed", log.on_request_failed)
            return _visit(page, scenario, url, log, shot)
    except BrowserError as exc:  # Chromium would not start, or died under us
        return "error", f"Chromium at {executable} failed: {exc.full[:300]}", log.evidence(url)


@contextmanager
def _fresh_context(browser: Browser) -> Iterator[BrowserContext]:
    """One scenario's context: its own cookies, storage and cache, closed after it (the browser may go on)."""
    context = browser.new_context()
    try:
        yield context
    finally:
        with suppress(BrowserError), playwright_errors():
            context.close()


class SharedBrowser:
    """One Chromium for a whole test run (starting one costs seconds), launched at the first page scenario.

    A browser that died is launched again at the next scenario; `close` ends it and playwright.
    """

    def __init__(self) -> None:
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        self._executable: Path | None = None
        self.launches = 0

    def get(self, executable: Path, home: Path) -> Browser:
        if self._browser is None or not self._browser.is_connected() or executable != self._executable:
            from playwright.sync_api import sync_playwright

            self.close()
            self._playwright = sync_playwright().start()
            self.launches += 1
            self._browser = self._playwright.chromium.launch(
                executable_path=str(executable), args=FLAGS, timeout=LAUNCH_TIMEOUT_MS, env=chromium_env(home)
            )
            self._executable = executable
        return self._browser

    def close(self) -> None:
        browser, self._browser = self._browser, None
        driver, self._playwright = self._playwright, None
        with suppress(BrowserError), playwright_errors():
            if browser is not None:
                browser.close()
        if driver is not None:
            driver.stop()


_shared: ContextVar[SharedBrowser | None] = ContextVar("genlib_shared_browser", default=None)


@contextmanager
def one_browser() -> Iterator[SharedBrowser]:
    """Within it, page scenarios share one Chromium, each in a fresh context; nothing starts without one."""
    shared = SharedBrowser()
    token = _shared.set(shared)
    try:
        yield shared
    finally:
        _shared.reset(token)
        shared.close()


def chromium_env(home: Path) -> dict[str, str | float | bool]:
    """Chromium writes its profile, caches and crash reports under HOME and XDG_*: .genlib/chromium/, not ~."""
    home.mkdir(parents=True, exist_ok=True)
    kept = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "TZ", "DISPLAY")}
    xdg = {f"XDG_{n}_HOME": str(home / n.lower()) for n in ("CONFIG", "CACHE", "DATA", "STATE")}
    env: dict[str, str | float | bool] = {**kept, **xdg, "HOME": str(home)}
    return env


@contextmanager
def _browser(executable: Path, home: Path) -> Iterator[Browser]:
    """The run's shared browser inside `one_browser()`, else one of the scenario's own."""
    shared = _shared.get()
    if shared is not None:
        yield shared.get(executable, home)
        return
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(executable), args=FLAGS, timeout=LAUNCH_TIMEOUT_MS, env=chromium_env(home)
        )
        try:
            yield browser
        finally:
            browser.close()


def _visit(page: Page, scenario: PageScenario, url: str, log: PageLog, shot: Screenshot | None) -> Outcome:
    remaining = _countdown(scenario.timeout)
    step: dict[str, str] = {}
    problems = _load(page, url, scenario.timeout, remaining)
    if not problems:
        problems, failed_step = _steps(page, scenario.steps, scenario.timeout, remaining)
        if failed_step:
            step["failed_step"] = failed_step
        else:
            problems = _expectations(page, scenario, remaining)
        _settle(page, remaining)
    problems += log.problems()
    evidence = log.evidence(url).model_copy(update=step)
    if not problems:
        _remove(shot)
        checked = len(scenario.steps), len(scenario.expect_text) + len(scenario.expect_selectors)
        return "passed", f"{scenario.path}: {checked[0]} step(s), {checked[1]} expectation(s), no errors", evidence
    shown = {"page_text": _page_text(page), "screenshot": _save_screenshot(page, shot)}
    return "failed", "; ".join(problems), evidence.model_copy(update=shown)


def _countdown(seconds: float) -> Callable[[], int]:
    """Milliseconds left of the scenario's timeout; never 0, which playwright reads as 'no limit'."""
    deadline = time.monotonic() + seconds
    return lambda: max(int((deadline - time.monotonic()) * 1000), 1)


def _load(page: Page, url: str, timeout: float, remaining: Callable[[], int]) -> list[str]:
    try:
        with playwright_errors():
            page.goto(url, wait_until="load", timeout=remaining())
    except BrowserTimeout:
        return [f"page {url} did not load within {timeout:g}s"]
    except BrowserError as exc:
        return [f"page {url} did not load: {str(exc).removesuffix(f' at {url}')}"]
    return []


def _steps(page: Page, steps: list[PageStep], timeout: float, remaining: Callable[[], int]) -> tuple[list[str], str]:
    """Problems and the step that failed ('' when all were done)."""
    for number, step in enumerate(steps, 1):
        name = f"step {number}: {step.describe()}"
        try:
            with playwright_errors():
                _do(page, step, remaining())
        except BrowserTimeout:
            target = step.wait_for_text or step.fill or step.click or step.wait_for
            kind = "text" if step.wait_for_text else "selector"
            return [f"{name}: {kind} {target!r} did not appear within {timeout:g}s"], name
        except BrowserError as exc:
            return [f"{name}: {exc}"], name
    return [], ""


def _do(page: Page, step: PageStep, timeout_ms: int) -> None:
    if step.fill is not None:
        page.fill(step.fill, step.value or "", timeout=timeout_ms)
    elif step.click is not None:
        page.click(step.click, timeout=timeout_ms)
    elif step.wait_for is not None:
        page.wait_for_selector(step.wait_for, state="visible", timeout=timeout_ms)
    elif step.wait_for_text is not None:
        _wait_for_text(page, step.wait_for_text, timeout_ms)


def _wait_for_text(page: Page, text: str, timeout_ms: int) -> None:
    """The text a person sees (innerText), as a plain substring: the same rule as an http body_contains."""
    script = "t => document.body !== null && document.body.innerText.includes(t)"
    page.wait_for_function(script, arg=text, timeout=timeout_ms)


def _expectations(page: Page, scenario: PageScenario, remaining: Callable[[], int]) -> list[str]:
    """Each expected text or element is waited for (pages fill in after fetches) until the timeout."""
    problems = []
    for text in scenario.expect_text:
        try:
            with playwright_errors():
                _wait_for_text(page, text, max(remaining(), CHECK_MS))
        except BrowserTimeout:
            problems.append(f"text {text!r} not on the page after {scenario.timeout:g}s")
    for selector in scenario.expect_selectors:
        try:
            with playwright_errors():
                page.wait_for_selector(selector, state="attached", timeout=max(remaining(), CHECK_MS))
        except BrowserTimeout:
            problems.append(f"selector {selector!r} not on the page after {scenario.timeout:g}s")
    return problems


def _settle(page: Page, remaining: Callable[[], int]) -> None:
    """Let requests started by the page finish, so their failures are seen; a page that keeps polling is fine."""
    with suppress(BrowserError), playwright_errors():
        page.wait_for_load_state("networkidle", timeout=min(remaining(), SETTLE_MS))


def _page_text(page: Page) -> str:
    with suppress(BrowserError), playwright_errors():
        return page.inner_text("body", timeout=1000)[:PAGE_TEXT_CHARS]
    return ""


def _save_screenshot(page: Page, shot: Screenshot | None) -> str | None:
    if shot is None:
        return None
    with suppress(BrowserError), playwright_errors():
        atomic_write_bytes(shot.path, page.screenshot(full_page=True, timeout=SCREENSHOT_TIMEOUT_MS))
        return shot.shown
    return None


def _remove(shot: Screenshot | None) -> None:
    """A page that passes now must not leave an earlier failure's screenshot to mislead."""
    if shot is not None:
        shot.path.unlink(missing_ok=True)


def _first_line(text: str) -> str:
    """Playwright's message without its 'Page.goto: ' prefix, first line only."""
    line = (text.strip().splitlines() or [""])[0]
    return re.sub(r"^\w+\.\w+: ", "", line)[:300]
