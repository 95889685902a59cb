"""Pure expectation matching: what a scenario expected against what the stack answered.

Each check returns a list of problems, one short phrase each; an empty list
means the expectation holds. Nothing here talks to Docker or the network, so
every rule is tested without a stack.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pydantic import JsonValue

from genlib.documents.scenarios import ExecExpect, HttpExpect

_MISSING = object()


def json_path(data: Any, path: str) -> Any:
    """Follow a dotted path (`user.name`, `items.0.id`); raise KeyError naming the first missing step."""
    current = data
    walked: list[str] = []
    for step in path.split("."):
        walked.append(step)
        current = _child(current, step)
        if current is _MISSING:
            raise KeyError(".".join(walked))
    return current


def _child(node: Any, step: str) -> Any:
    if isinstance(node, dict):
        return node.get(step, _MISSING)
    if isinstance(node, list) and step.lstrip("-").isdigit():
        index = int(step)
        return node[index] if -len(node) <= index < len(node) else _MISSING
    return _MISSING


def matches(expected: Any, actual: Any) -> bool:
    """Equality, except that an expected mapping only needs its own keys to match (a subset)."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(k in actual and matches(v, actual[k]) for k, v in expected.items())
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and expected == actual  # True must not match 1
    return bool(expected == actual)


def check_json_fields(expected: Mapping[str, object], body: str) -> tuple[list[str], dict[str, JsonValue]]:
    """Problems with the JSON fields, and the values actually found (for evidence)."""
    if not expected:
        return [], {}
    try:
        data = json.loads(body)
    except ValueError:
        return ["body is not JSON"], {}
    problems: list[str] = []
    found: dict[str, JsonValue] = {}
    for path, want in expected.items():
        try:
            got = json_path(data, path)
        except KeyError as exc:
            problems.append(f"json {path}: missing ({exc.args[0]} not found)")
            continue
        found[path] = got
        if not matches(want, got):
            problems.append(f"json {path}: expected {_short(want)}, got {_short(got)}")
    return problems, found


def check_http(expect: HttpExpect, status: int, body: str) -> tuple[list[str], dict[str, JsonValue]]:
    problems = [] if status == expect.status else [f"status {status}, expected {expect.status}"]
    problems += [f"body lacks {text!r}" for text in expect.body_contains if text not in body]
    field_problems, found = check_json_fields(expect.json_fields, body)
    return problems + field_problems, found


def check_exec(expect: ExecExpect, exit_code: int, output: str) -> list[str]:
    problems = [] if exit_code == expect.exit_code else [f"exit code {exit_code}, expected {expect.exit_code}"]
    return problems + [f"output lacks {text!r}" for text in expect.output_contains if text not in output]


def _short(value: Any, limit: int = 60) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"
