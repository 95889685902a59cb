"""Where the default workspace files live: in the wheel, or at the repo root in a checkout."""

from __future__ import annotations

from pathlib import Path

WORKSPACE_FILES = ("dodo.py", "doit.cfg", "docker-compose.yml.j2", "Dockerfile.j2", "templates")


def defaults_dir() -> Path:
    packaged = Path(__file__).parent / "_workspace"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent  # an editable install: the repo root is the workspace


def template(name: str) -> Path:
    return defaults_dir() / "templates" / name
