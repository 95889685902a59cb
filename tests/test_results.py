"""results.json (genlib/documents/results.py): round-tripped typed, old files load, damage named."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from genlib.documents import results
from genlib.documents.results import Result, RunReport
from genlib.errors import WorkspaceError

# A results.json exactly as genlib wrote it before the typed models (the runner's to_dict()).
OLD = """{
  "format": "genlib.results/1",
  "iteration": "iter_001_notes",
  "started": "2026-01-02T03:04:05+00:00",
  "duration_s": 2.5,
  "summary": {
    "passed": 1,
    "failed": 1,
    "skipped": 1,
    "error": 0
  },
  "results": [
    {
      "name": "service notes-api",
      "kind": "service",
      "service": "notes-api",
      "origin": "genlib",
      "status": "passed",
      "reason": "running, healthy",
      "duration_s": 0.01,
      "evidence": {
        "state": "running",
        "health": "healthy",
        "exit_code": 0,
        "restart_count": 0
      }
    },
    {
      "name": "list notes",
      "kind": "http",
      "service": "notes-api",
      "origin": "model",
      "status": "failed",
      "reason": "GET /notes: status 500, expected 200 — ü",
      "duration_s": 0.123,
      "evidence": {
        "request": {
          "method": "GET",
          "url": "http://127.0.0.1:18335/notes"
        },
        "status": 500
      }
    },
    {
      "name": "notes page",
      "kind": "page",
      "service": "web-frontend",
      "origin": "user",
      "status": "skipped",
      "reason": "no browser",
      "duration_s": 0.0,
      "evidence": {}
    }
  ]
}
"""


def test_an_old_file_loads_and_dumps_to_the_same_bytes(tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    path.write_text(OLD, encoding="utf-8")
    report = results.load(path)
    assert report is not None
    assert report.summary == {"passed": 1, "failed": 1, "skipped": 1, "error": 0}
    assert [r.name for r in report.failing] == ["list notes"]  # skipped is not failing
    assert isinstance(report.results[0].evidence, results.ServiceEvidence)
    assert report.results[0].evidence.restart_count == 0
    assert results.dump(report) == OLD


def test_the_summary_is_derived_not_trusted(tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    data = json.loads(OLD)
    data["summary"] = {"passed": 99}
    path.write_text(json.dumps(data))
    report = results.load(path)
    assert report is not None and report.summary["passed"] == 1


def test_a_report_round_trips_typed(tmp_path: Path) -> None:
    result = Result(name="n", kind="exec", service="s", origin="user", status="error", reason="r", duration_s=1.23456)
    report = RunReport.of("iter_002_patch", datetime(2026, 1, 1, tzinfo=UTC), 0.5, [result])
    results.save(tmp_path / "results.json", report)
    again = results.load(tmp_path / "results.json")
    assert again is not None
    assert again.results[0].duration_s == 1.235 and again.failing == again.results
    assert results.dump(again) == (tmp_path / "results.json").read_text()


def test_missing_is_none_and_damage_says_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    assert results.load(path) is None
    data = json.loads(OLD)
    data["results"][1]["colour"] = "red"
    path.write_text(json.dumps(data))
    with pytest.raises(WorkspaceError, match=r"results\.1\.colour: Extra inputs are not permitted; delete it"):
        results.load(path)
    path.write_text(json.dumps({**data, "format": "genlib.results/9"}))
    with pytest.raises(WorkspaceError, match=r"field format: expected 'genlib\.results/1'"):
        results.load(path)


def test_evidence_is_the_model_of_its_kind_and_keeps_keys_it_does_not_know(tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    data = json.loads(OLD)
    data["results"][1]["evidence"]["retired_key"] = ["kept as written"]  # a key an older genlib wrote
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    report = results.load(path)
    assert report is not None
    http = report.results[1].evidence
    assert isinstance(http, results.HttpEvidence) and http.status == 500
    assert [type(r.evidence) for r in report.results] == [
        results.ServiceEvidence,
        results.HttpEvidence,
        results.PageEvidence,
    ]
    assert results.dump(report) == path.read_text()  # unknown keys, and the order of the rest, as they were


def test_evidence_of_another_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="the evidence of kind exec must be ExecEvidence"):
        Result(
            name="n",
            kind="exec",
            service="s",
            origin="user",
            status="failed",
            reason="r",
            evidence=results.HttpEvidence(status=500),
        )


def test_a_redacted_result_masks_secrets_in_its_reason_and_every_evidence_string() -> None:
    secret = "hunter2-not-a-real-password"
    result = Result(
        name="n",
        kind="http",
        service="s",
        origin="user",
        status="failed",
        reason=f"login failed for {secret}",
        evidence={"request": {"method": "GET", "url": f"http://x/?p={secret}"}, "json": {"a": [secret]}, "status": 500},
    )
    kept = result.redacted([secret])
    assert secret not in results.dump(RunReport.of("it", datetime(2026, 1, 1, tzinfo=UTC), 0.1, [kept]))
    assert isinstance(kept.evidence, results.HttpEvidence) and kept.evidence.status == 500
    assert secret in result.reason  # the original is left as it was
