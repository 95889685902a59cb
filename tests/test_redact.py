"""Secret redaction (genlib/redact.py): secret values go, ordinary evidence stays byte for byte."""

from __future__ import annotations

import pytest

from genlib.redact import REDACTED, is_secret_name, redact

# Lines an app really prints: a heal needs every one of them as it is.
ORDINARY = [
    "KeyError: 'title'",
    "Traceback (most recent call last):",
    '  File "/app/app.py", line 12, in handler',
    "    return row['title']",
    "author: Ada",
    "authors: ['Ada', 'Grace']",
    "sorted keys: ['id', 'price', 'title']",
    "missing key: price",
    "key: price",
    "primary_key: id",
    "sort_key=created_at",
    "monkey: george",
    "tokenizer: whitespace",
    "tokens: 512",
    "passed: 5 failed: 1",
    "password reset requested for ada@example.com",
    "authentication required",
    "Basic authentication failed for user ada",
    "Bearer token missing",
    "SyntaxError: Unexpected token } in JSON at position 17",
    "SyntaxError: Unexpected token '<', \"<!DOCTYPE \"... is not valid JSON",
    "TypeError: Cannot read properties of undefined (reading 'map')",
    "    at Server.<anonymous> (/app/server.js:14:22)",
    "    at processTicksAndRejections (node:internal/process/task_queues:95:5)",
    "ERROR:root:job 17 failed: ZeroDivisionError: division by zero",
    "2024-05-01T12:00:00Z INFO GET /notes 200 in 3ms",
    "GET /notes?sort=title&limit=20 HTTP/1.1 200",
    "connecting to http://notes-api:3000/notes",
    "redis://cache:6379/0",
    "postgres://db:5432/app",
    "ModuleNotFoundError: No module named 'flask_cors'",
    "Error: Cannot find module './routes/users'",
    "django.core.exceptions.ImproperlyConfigured: SECRET_KEY setting must not be empty.",
    "user_id=42 order_id=7 status=paid",
    '{"id": 1, "title": "milk", "done": false}',
    "/usr/lib/node_modules/some-package-name/lib/index12",
    'FATAL: database "app" does not exist',
    "panic: runtime error: index out of range [3] with length 3",
    "AssertionError: expected 3 items, got 2",
    "KeyboardInterrupt",
]


@pytest.mark.parametrize("line", ORDINARY)
def test_ordinary_lines_pass_unchanged(line: str) -> None:
    assert redact(line) == line


@pytest.mark.parametrize(
    ("raw", "kept"),
    [
        ("API_KEY=sk-12345 rest", f"API_KEY={REDACTED} rest"),
        ('{"password": "pw1", "user": "ada"}', f'{{"password": "{REDACTED}", "user": "ada"}}'),
        ("export GITHUB_TOKEN: ghp_abc", f"export GITHUB_TOKEN: {REDACTED}"),
        ("https://bob:pa55@example.com/x", f"https://{REDACTED}@example.com/x"),
        ("postgres://admin:s3cret@db:5432/app", f"postgres://{REDACTED}@db:5432/app"),
        ("key " + "aB3" * 20, f"key {REDACTED}"),
        ("DB_PASSWORD=hunter2 next", f"DB_PASSWORD={REDACTED} next"),
        ("env: DB_PASSWORD=hunter2", f"env: DB_PASSWORD={REDACTED}"),
        ("Authorization: Bearer abc.def.00000001", f"Authorization: Bearer {REDACTED}"),
        ("authorization=Basic dXNlcjpwYXNz", f"authorization=Basic {REDACTED}"),
        ("curl -H 'X-Api-Key: abcdef123'", f"curl -H 'X-Api-Key: {REDACTED}'"),
        ("Cookie: session=abc123", f"Cookie: {REDACTED}"),
        ("sending Bearer eyJ0eXAi.abc123", f"sending Bearer {REDACTED}"),
        ("Settings(secret_key='s3 cr3t', debug=True)", f"Settings(secret_key='{REDACTED}', debug=True)"),
        ('{"apiKey":"x1y2"}', f'{{"apiKey":"{REDACTED}"}}'),
        ("clientSecret: abc", f"clientSecret: {REDACTED}"),
        ("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig_nat-ure", f"jwt {REDACTED}"),
        ("token ghp_" + "a1" * 15, f"token {REDACTED}"),
        ("aws AKIAABCDEFGHIJKLMNOP", f"aws {REDACTED}"),
        ("digest " + "0123456789abcdef" * 2, f"digest {REDACTED}"),
        ("-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----\nnext", f"{REDACTED}\nnext"),
    ],
)
def test_secret_shapes_are_redacted(raw: str, kept: str) -> None:
    assert redact(raw) == kept


def test_known_values_are_masked_wherever_they_appear() -> None:
    line = 'FATAL: password authentication failed for user "app" (tried Zq8x-pass-77)'
    assert redact(line, known=["Zq8x-pass-77"]) == line.replace("Zq8x-pass-77", REDACTED)
    assert redact("a pw of ab is too short to mask: ab", known=["ab"]) == "a pw of ab is too short to mask: ab"


def test_redaction_is_stable() -> None:
    once = redact("DB_PASSWORD=x Authorization: Bearer abc.def.00000001 https://a:b@h/")
    assert redact(once) == once


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("DB_PASSWORD", True),
        ("apiKey", True),
        ("client-secret", True),
        ("auth.token", True),
        ("PRIVATE_KEY", True),
        ("KeyError", False),
        ("author", False),
        ("keys", False),
        ("sort_key", False),
        ("key", False),
    ],
)
def test_secret_names(name: str, secret: bool) -> None:
    assert is_secret_name(name) is secret
