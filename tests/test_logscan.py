"""The whole-log scan (genlib/logscan.py): every line seen once, bounded memory, errors deduplicated."""

from __future__ import annotations

from collections.abc import Iterator

from genlib import logscan

PY_TRACEBACK = [
    "Traceback (most recent call last):",
    '  File "/app/app.py", line 12, in handler',
    "    return row['title']",
    "KeyError: 'title'",
]
NODE_STACK = [
    "TypeError: Cannot read properties of undefined (reading 'map')",
    "    at list (/app/routes/notes.js:7:18)",
    "    at Server.<anonymous> (/app/server.js:14:22)",
]


def _stamped(lines: list[str], start: int = 0) -> list[tuple[str, str]]:
    return [
        (f"2024-05-01T12:{(start + n) // 60 % 60:02d}:{(start + n) % 60:02d}Z", line) for n, line in enumerate(lines)
    ]


def _filler(n: int) -> Iterator[tuple[str, str]]:
    for i in range(n):
        yield "", f"GET /notes 200 request {i}"


def test_a_forbidden_line_far_up_the_log_is_found() -> None:
    """The false green: an ERROR 25,000 lines before the end used to fall out of the scanned tail."""
    lines = [("", "ERROR: cache warmup failed"), *_filler(30000), ("", "listening")]
    log = logscan.scan(iter(lines), must_not_contain=["ERROR"], must_contain=["listening", "digest ok"])
    assert log.lines == 30002
    assert log.forbidden_count == 1 and log.forbidden == ["ERROR: cache warmup failed"]
    assert log.found == {"listening"}
    assert log.error_lines() == ["[1x] ERROR: cache warmup failed"]
    assert log.head[0] == "ERROR: cache warmup failed" and log.tail[-1] == "listening"
    assert len(log.tail) == logscan.TAIL_LINES and len(log.head) == logscan.HEAD_LINES


def test_a_traceback_is_one_entry_with_its_frames_counted_with_first_and_last_time() -> None:
    lines = _stamped(["starting", *PY_TRACEBACK, "GET / 200", *PY_TRACEBACK, "done"])
    log = logscan.scan(lines)
    assert len(log.errors) == 1
    entry = next(iter(log.errors.values()))
    assert entry.text == "\n".join(PY_TRACEBACK)
    assert (entry.count, entry.first, entry.last) == (2, "2024-05-01T12:00:01Z", "2024-05-01T12:00:06Z")
    assert log.error_lines()[0].startswith("[2x 2024-05-01T12:00:01Z .. 2024-05-01T12:00:06Z] Traceback")


def test_node_stacks_errors_fatal_and_panic_are_error_like() -> None:
    lines = ["ok", *NODE_STACK, 'FATAL: database "app" does not exist', "panic: runtime error", "fine", "ERROR x"]
    log = logscan.scan(_stamped(lines))
    texts = [e.text for e in log.errors.values()]
    assert texts == ["\n".join(NODE_STACK), 'FATAL: database "app" does not exist', "panic: runtime error", "ERROR x"]


def test_lines_differing_only_in_numbers_are_one_entry() -> None:
    log = logscan.scan(_stamped([f"ERROR job {n} failed" for n in range(500)]))
    assert log.error_lines() == ["[500x 2024-05-01T12:00:00Z .. 2024-05-01T12:08:19Z] ERROR job 0 failed"]


def test_memory_stays_bounded_however_long_and_varied_the_log() -> None:
    varied = (
        ("", f"ERROR kind {chr(65 + n % 26)}{chr(65 + n // 26 % 26)}{chr(65 + n // 676 % 26)}") for n in range(20000)
    )
    log = logscan.scan(varied, must_not_contain=["ERROR"])
    assert len(log.errors) == logscan.MAX_ERRORS
    assert log.errors_dropped + sum(e.count for e in log.errors.values()) == 20000
    assert len(log.forbidden) == logscan.MATCHED_KEPT and log.forbidden_count == 20000
    huge = logscan.scan([("", "x" * 10**6)])
    assert len(huge.tail[0]) < logscan.MAX_LINE + 20


def test_the_digest_holds_head_errors_and_tail() -> None:
    lines = [("", "booting"), *_filler(5000), *_stamped(NODE_STACK), *_filler(5000), ("", "listening")]
    digest = logscan.scan(lines).digest()
    assert digest.startswith("[genlib: 10005 line(s) since the container started]")
    assert "booting" in digest and "at list (/app/routes/notes.js:7:18)" in digest and digest.endswith("listening\n")
    assert len(digest) < 20000


def test_a_short_log_digest_has_no_separate_head() -> None:
    digest = logscan.scan([("", "a"), ("", "b")]).digest()
    assert digest == "[genlib: 2 line(s) since the container started]\n--- last lines ---\na\nb\n"


def test_docker_timestamps_are_split_off() -> None:
    assert logscan.split_timestamp("2024-05-01T12:00:00.123456789Z hello world") == (
        "2024-05-01T12:00:00Z",
        "hello world",
    )
    assert logscan.split_timestamp("hello world") == ("", "hello world")
