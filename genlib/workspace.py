"""A workspace: the folder holding a generated app, its history and its settings."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from genlib.config import Settings, load_settings
from genlib.errors import WorkspaceUnavailable

LAYERS = ("frontend", "backend", "workers", "api", "deployment")


def service_name(component: str, layer: str) -> str:
    """The Compose service of a runnable component: `notes` in `api` is `notes-api`."""
    return f"{component}-{layer}"


# What makes a folder a workspace (all made by `genlib init`).
MARKERS = ("dodo.py", "iterations")


@dataclass(frozen=True)
class Workspace:
    root: Path

    @classmethod
    def at(cls, path: Path | str = ".") -> Workspace:
        root = Path(path).resolve()
        missing = [m for m in MARKERS if not (root / m).exists()]
        if missing:
            raise WorkspaceUnavailable(f"{root} is not a genlib workspace (no {missing[0]}); run `genlib init {root}`")
        return cls(root)

    @property
    def iterations_dir(self) -> Path:
        return self.root / "iterations"

    @property
    def head_file(self) -> Path:
        return self.iterations_dir / "HEAD"

    @property
    def registry_path(self) -> Path:
        return self.root / "registry.yaml"

    @property
    def tests_path(self) -> Path:
        return self.root / "test.yaml"

    @property
    def compose_path(self) -> Path:
        return self.root / "docker-compose.yml"

    @property
    def compose_template(self) -> Path:
        return self.root / "docker-compose.yml.j2"

    @property
    def templates_dir(self) -> Path:
        return self.root / "templates"

    @property
    def state_dir(self) -> Path:
        """genlib's private state: doit's dependency file, the lock, rejected answers."""
        return self.root / ".genlib"

    @property
    def dep_file(self) -> Path:
        return self.state_dir / "doit.sqlite3"

    @cached_property
    def project_name(self) -> str:
        """One Compose project per workspace: readable, and unique per folder."""
        base = re.sub(r"[^a-z0-9]+", "-", self.root.name.lower()).strip("-") or "ws"
        digest = hashlib.sha256(str(self.root).encode()).hexdigest()[:6]
        return f"genlib-{base[:20]}-{digest}"

    def settings(self, variables: dict[str, str] | None = None) -> Settings:
        return load_settings(self.root, variables)
