"""The patch rules (genlib/patch.py): pure, no workspace needed."""

from __future__ import annotations

from typing import Any

import pytest

from genlib import scenarios
from genlib.config import Settings
from genlib.errors import PatchRejected
from genlib.llm_output import Answer
from genlib.patch import Patch, fingerprint, validate

SERVER = "api/notes/server.js"
TREE = {
    SERVER: "old server\n",
    "workers/digest/worker.py": "print('x')\n",
    "frontend/web/index.html": "<h1>Notes</h1>\n",
}
KNOWN = {("api", "notes"), ("workers", "digest"), ("frontend", "web")}
TESTS = scenarios.TestFile.model_validate(
    {
        "scenarios": [
            {"name": "list notes", "kind": "http", "service": "notes-api", "origin": "user"},
            {"name": "digest runs", "kind": "logs", "service": "digest-workers", "origin": "model"},
        ]
    }
)


def check(**answer: Any) -> Patch:
    return validate(Answer.model_validate(answer), tree=TREE, tests=TESTS, known_components=KNOWN, settings=Settings())


def test_a_good_patch_reports_what_it_changes() -> None:
    patch = check(
        summary="fix",
        files=[
            {"path": SERVER, "content": "new server\n"},
            {"path": "frontend/web/index.html", "content": TREE["frontend/web/index.html"]},
        ],
        deletions=["workers/digest/worker.py"],
    )
    assert patch.changed == [SERVER]  # the unchanged file is not counted
    assert patch.deleted == ["workers/digest/worker.py"]


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ({"files": [{"path": "test.yaml", "content": "x"}]}, "unknown layer 'test.yaml'"),
        ({"files": [{"path": "../api/notes/x.js", "content": "x"}]}, "'..' segment"),
        ({"files": [{"path": "api/other/x.js", "content": "x"}]}, "no declared component api/other"),
        ({"files": [{"path": SERVER, "content": "a\x00b"}]}, "looks binary"),
        ({"deletions": ["docker-compose.yml"]}, "must be a file path or <layer>/<component>"),
        ({"deletions": ["api/notes/missing.js"]}, "names no current file"),
        ({"files": [{"path": SERVER, "content": TREE[SERVER]}]}, "changes nothing"),
        ({}, "changes nothing"),
    ],
)
def test_patches_breaking_a_rule_are_rejected_with_a_reason(answer: dict[str, Any], reason: str) -> None:
    with pytest.raises(PatchRejected, match=reason.replace("(", r"\(").replace(")", r"\)")):
        check(**answer)


def test_a_person_s_scenario_may_not_be_resent_even_weakened() -> None:
    weakened = {
        "name": "list notes",
        "kind": "http",
        "service": "notes-api",
        "origin": "model",
        "expect": {"status": 500},
    }
    with pytest.raises(PatchRejected, match="'list notes' was written by a person"):
        check(files=[{"path": SERVER, "content": "x"}], scenarios=[weakened])


def test_a_patch_may_not_claim_user_origin_for_its_scenarios() -> None:
    new = {"name": "new check", "kind": "logs", "service": "notes-api", "origin": "user"}
    with pytest.raises(PatchRejected, match="claims origin user"):
        check(scenarios=[new])


def test_model_scenarios_may_be_changed_and_added() -> None:
    changed = {
        "name": "digest runs",
        "kind": "logs",
        "service": "digest-workers",
        "origin": "model",
        "must_contain": ["ok"],
    }
    added = {"name": "api logs", "kind": "logs", "service": "notes-api"}  # origin left out: fine
    assert check(scenarios=[changed, added]).changed == []


def test_deleting_a_component_a_person_tests_is_rejected() -> None:
    with pytest.raises(PatchRejected, match="removes service 'notes-api', which scenario 'list notes'"):
        check(deletions=["api/notes"])
    assert check(deletions=["workers/digest"]).deleted == ["workers/digest"]  # only model scenarios test it


def test_redeclaring_a_tested_component_as_not_runnable_is_rejected() -> None:
    silenced = {"name": "notes", "layer": "api", "runtime": "node"}
    with pytest.raises(PatchRejected, match="would no longer run"):
        check(components=[silenced], files=[{"path": SERVER, "content": "x"}])
    running = {**silenced, "command": ["node", "server.js"], "port": 3000}
    assert check(components=[running]).changed == []


def test_fingerprint_ignores_order_and_summary_but_not_content() -> None:
    a = Answer.model_validate(
        {"summary": "one", "files": [{"path": SERVER, "content": "x"}, {"path": "api/notes/b.js", "content": "y"}]}
    )
    b = Answer.model_validate(
        {"summary": "two", "files": [{"path": "api/notes/b.js", "content": "y"}, {"path": SERVER, "content": "x"}]}
    )
    c = Answer.model_validate(
        {"files": [{"path": SERVER, "content": "x!"}, {"path": "api/notes/b.js", "content": "y"}]}
    )
    assert fingerprint(a) == fingerprint(b) != fingerprint(c)
