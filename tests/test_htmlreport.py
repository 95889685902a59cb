"""`doit report`: one self-contained HTML page; checked as text, then opened in the real Chromium."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import pytest
from conftest import APPS, run_doit

from genlib.checks import browser
from genlib.commands import htmlreport
from genlib.workspace import Workspace

CHROMIUM = browser.find_executable("")  # at import, before the tests' PATH is narrowed
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
HOSTILE = "<script>alert('model text')</script>"
PAGE_REASON = "uncaught TypeError: notes.map is not a function at app.js:6:18"


def add(ws: Workspace, name: str, output: dict[str, Any], parent: str) -> Path:
    folder = ws.iterations_dir / name
    folder.mkdir()
    (folder / "llm_output.json").write_text(json.dumps(output))
    (folder / "parent.txt").write_text(parent + "\n")
    return folder


def patch(description: str, tokens: tuple[int, int], seconds: float, content: str) -> dict[str, Any]:
    return {
        "format": "genlib.llm_output/1",
        "kind": "patch",
        "description": description,
        "created": "2026-11-25T00:10:00Z",
        "stats": {"prompt_tokens": tokens[0], "completion_tokens": tokens[1], "total_duration_s": seconds},
        "answer": {"summary": description, "components": [], "deletions": [], "scenarios": [],
                   "files": [{"path": "api/notes/server.js", "content": content}]},
    }  # fmt: skip


def results(iteration: str, page_status: str, evidence: dict[str, Any]) -> dict[str, Any]:
    """results.json in the documented genlib.results/1 shape (docs/results-json.md)."""
    found = [
        {"name": "service notes-api", "kind": "service", "service": "notes-api", "origin": "genlib",
         "status": "passed", "reason": "ok", "duration_s": 0.01, "evidence": {}},
        {"name": "notes page", "kind": "page", "service": "web-frontend", "origin": "user", "status": page_status,
         "reason": PAGE_REASON + " " + HOSTILE if page_status == "failed" else "no errors", "duration_s": 1.0,
         "evidence": evidence},
    ]  # fmt: skip
    failed = int(page_status == "failed")
    summary = {"passed": 2 - failed, "failed": failed, "skipped": 0, "error": 0}
    started = "2026-01-02T03:04:05+00:00"
    return {"format": "genlib.results/1", "iteration": iteration, "started": started, "duration_s": 1.5,
            "summary": summary, "results": found}  # fmt: skip


@pytest.fixture
def history(workspace: Workspace) -> Workspace:
    """gen (a failing page, screenshot kept) -> patch (rolled back) ; patch (HEAD, green) on the gen."""
    first = json.loads((APPS / "notes/llm_output.json").read_text())
    first["stats"] = {"prompt_tokens": 1200, "completion_tokens": 3400, "total_duration_s": 41.2}
    gen = add(workspace, "iter_001_notes", first, "")
    add(workspace, "iter_002_patch", patch("first try", (5200, 800), 12.5, "// tried\n"), "iter_001_notes")
    add(workspace, "iter_003_patch", patch("second try " + HOSTILE, (5000, 600), 9.1, "// fixed\n"), "iter_001_notes")
    assert run_doit(workspace, "materialize").returncode == 0
    (gen / "screenshots").mkdir()
    (gen / "screenshots" / "notes-page.png").write_bytes(PNG)
    shot = {"screenshot": "iterations/iter_001_notes/screenshots/notes-page.png"}
    (gen / "results.json").write_text(json.dumps(results("iter_001_notes", "failed", shot)))
    head = workspace.iterations_dir / "iter_003_patch"
    (head / "results.json").write_text(json.dumps(results("iter_003_patch", "passed", {})))
    (workspace.iterations_dir / "HEAD").write_text("iter_003_patch\n")
    return workspace


def test_doit_report_writes_one_self_contained_file(history: Workspace) -> None:
    run = run_doit(history, "report")
    assert run.returncode == 0, run.output
    page = htmlreport.default_path(history)
    assert f"report: {page}" in run.output
    html = page.read_text()
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//|@import|url\(\s*["']?https?:""", html)
    assert "<script" not in html.replace("&lt;script", "")  # no script at all; model text is escaped
    assert "&lt;script&gt;alert(&#39;model text&#39;)&lt;/script&gt;" in html
    assert "data:image/png;base64," + base64.b64encode(PNG).decode() in html
    assert html.count("<svg") == 2  # tokens and time charts, inline
    assert '<article class="it patch off" id="iter_002_patch">' in html  # rolled back
    assert '<article class="it patch head" id="iter_003_patch">' in html
    assert '<span class="add">+// tried</span>' in html and '<span class="add">+// fixed</span>' in html
    assert html.count("diff against iter_001_notes") == 2  # each patch against its own parent


def test_a_report_elsewhere_and_of_an_empty_workspace(workspace: Workspace, tmp_path: Path) -> None:
    run = run_doit(workspace, "report", f"out={tmp_path / 'r.html'}")
    assert run.returncode == 0, run.output
    assert "No iterations yet" in (tmp_path / "r.html").read_text()


def test_a_screenshot_outside_the_iterations_is_not_embedded(history: Workspace, tmp_path: Path) -> None:
    secret = tmp_path / "elsewhere.png"
    secret.write_bytes(PNG)
    gen = history.iterations_dir / "iter_001_notes"
    (gen / "results.json").write_text(json.dumps(results("iter_001_notes", "failed", {"screenshot": str(secret)})))
    assert "data:image/png" not in htmlreport.render(history)


@pytest.mark.browser
def test_the_report_opens_in_chromium_without_errors(history: Workspace, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    assert CHROMIUM, browser.NO_BROWSER
    page_file = htmlreport.write(history)
    problems: list[str] = []
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=browser.FLAGS)
        page = chromium.new_page(viewport={"width": 1280, "height": 900})
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("request", lambda r: None if r.url.startswith(("file:", "data:")) else problems.append(r.url))
        page.goto(page_file.as_uri(), wait_until="load")
        text = page.inner_text("body")
        shot = page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        chromium.close()
    assert problems == []
    assert shot.startswith(b"\x89PNG")
    for seen in ("#1 iter_001_notes", "#2 iter_002_patch", "#3 iter_003_patch", "HEAD", "rolled back", PAGE_REASON):
        assert seen in text
    assert "tokens per iteration" in text and "model time per iteration" in text
