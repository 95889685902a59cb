"""What a person runs: the `genlib` command line and genlib's doit commands (gen, heal, history, ...).

A workspace's doit.cfg names `genlib.commands:Run`, `genlib.commands:Gen`, ...; each is looked up
on first use, so a no-op `doit` loads only genlib.commands.doit_commands.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Bisect", "Diff", "Gen", "Heal", "History", "Report", "Rollback", "Run", "Watch"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from genlib.commands import doit_commands

        return getattr(doit_commands, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
