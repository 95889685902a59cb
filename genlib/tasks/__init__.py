"""The doit graph: task creators, nested doit runs and the console reporter.

A workspace's dodo.py does `from genlib import tasks` and calls `tasks.doit_config(...)` and
`tasks.creators(...)`; both are looked up on first use so importing the package costs nothing.
"""

from __future__ import annotations

from typing import Any

__all__ = ["creators", "doit_config"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from genlib.tasks import graph

        return getattr(graph, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
