"""doit output a person can scan: one line per failure, no traceback for expected errors."""

from __future__ import annotations

from typing import Any

from doit.exceptions import BaseFail, TaskFailed
from doit.reporter import ConsoleReporter


class GenlibReporter(ConsoleReporter):  # type: ignore[misc]  # doit has no type hints
    """Like doit's console reporter, but a failure genlib explained is one `FAILED:`/`ERROR:` line.

    A failure with a traceback is a bug in genlib or in a template; it keeps doit's full report.
    """

    desc = "genlib console output"

    def add_failure(self, task: Any, fail: BaseFail) -> None:
        if fail.traceback:
            super().add_failure(task, fail)
            return
        label = "FAILED" if isinstance(fail, TaskFailed) else "ERROR"
        self.write(f"{label}: {task.name}: {fail.message}\n")

    def complete_run(self) -> None:
        # Expected failures were already printed in full, on one line.
        self.failures: list[dict[str, Any]] = [f for f in self.failures if f["exception"].traceback]
        super().complete_run()
