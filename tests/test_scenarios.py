"""test.yaml: loading, and errors that name the file, the line and the field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import APPS

from genlib.documents.scenarios import (
    HttpScenario,
    LogsScenario,
    TestFile,
    check_services,
    dump_tests,
    load_tests,
    locate,
    parse_scenarios,
)
from genlib.errors import ScenarioError

GOOD = """\
version: 1
scenarios:
  - name: api health
    kind: http
    service: notes-api
    request: {path: /health}
    expect: {status: 200, json: {status: ok}}
  - name: api logs clean
    kind: logs
    service: notes-api
    must_contain: [listening]
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "test.yaml"
    path.write_text(text)
    return path


def test_a_good_file_loads_with_defaults(tmp_path: Path) -> None:
    tests = load_tests(_write(tmp_path, GOOD))
    http, logs = tests.scenarios
    assert isinstance(http, HttpScenario)
    assert http.request.method == "GET"
    assert http.expect.json_fields == {"status": "ok"}
    assert isinstance(logs, LogsScenario)
    assert logs.must_not_contain == ["Traceback", "ERROR"]
    assert logs.within == 10.0
    assert logs.origin == "user"


def test_a_missing_file_is_no_scenarios(tmp_path: Path) -> None:
    assert load_tests(tmp_path / "test.yaml") == TestFile()


def test_dump_then_load_is_the_same(tmp_path: Path) -> None:
    tests = load_tests(_write(tmp_path, GOOD))
    assert load_tests(_write(tmp_path, dump_tests(tests))) == tests


def test_the_fixture_apps_scenarios_are_valid() -> None:
    answer = json.loads((APPS / "notes" / "llm_output.json").read_text())["answer"]
    kinds = [s.kind for s in parse_scenarios(answer["scenarios"])]
    assert set(kinds) == {"http", "logs", "exec"}


BLOCK = "version: 1\nscenarios:\n  - name: ok one\n    kind: logs\n    service: notes-api\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (BLOCK + "  - name: b\n    kind: http\n   service: x\n", "test.yaml:8: not valid YAML"),
        (
            BLOCK + "  - name: b\n    kind: http\n    service: notes-api\n    request:\n      path: health\n",
            "test.yaml:10: scenario 2, field request.path: Value error, 'health' is not a URL path",
        ),
        (BLOCK + "  - name: b\n    kind: smtp\n    service: notes-api\n", "test.yaml:7: scenario 2, field kind: "),
        (BLOCK + "  - name: b\n    service: notes-api\n", "test.yaml:6: scenario 2, field kind: "),
        (
            BLOCK + "  - {name: b, kind: exec, service: notes-api, command: [ls], expct: {}}\n",
            "test.yaml:6: scenario 2, field expct: Extra inputs are not permitted",
        ),
        (
            BLOCK + "  - name: b\n    kind: exec\n    service: notes-api\n",
            "test.yaml:6: scenario 2, field command: Field required",
        ),
        (
            BLOCK + "  - name: b\n    kind: http\n    service: notes-api\n    expect: {status: two}\n",
            "test.yaml:9: scenario 2, field expect.status: Input should be a valid integer",
        ),
        (BLOCK + "  - name: ok one\n    kind: logs\n    service: notes-api\n", "test.yaml:6: scenario 2, field name: "),
        ("version: 2\nscenarios: []\n", "test.yaml:1: field version: Input should be 1"),
        ("- just a list\n", "test.yaml: field (top level): "),
    ],
)
def test_errors_name_file_line_and_field(tmp_path: Path, text: str, expected: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ScenarioError) as info:
        load_tests(path)
    message = str(info.value)
    assert message.startswith(str(tmp_path / expected)), message
    assert "\n" not in message


def test_an_unknown_service_names_its_line(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD.replace("service: notes-api\n    must", "service: notes-apx\n    must"))
    with pytest.raises(ScenarioError) as info:
        check_services(load_tests(path), {"notes-api", "web-frontend"}, path)
    assert str(info.value) == (
        f"{path}:10: scenario 'api logs clean', field service: unknown service 'notes-apx' "
        "(known: notes-api, web-frontend); fix the name in test.yaml"
    )


def test_known_services_pass(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD)
    check_services(load_tests(path), {"notes-api"}, path)


def test_locate_walks_flow_and_block_style() -> None:
    text = "scenarios:\n  - {name: a, kind: logs}\n  - name: b\n    request:\n      path: /x\n"
    assert locate(text, ["scenarios", 0, "kind"]) == 2
    assert locate(text, ["scenarios", 1, "request", "path"]) == 5
    assert locate(text, ["scenarios", 1, "request", "missing"]) == 4
    assert locate(text, ["scenarios", 7]) == 1
    assert locate("a: [", ["a"]) is None
