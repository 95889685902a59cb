"""Where the default workspace files live: in the wheel, or at the repo root in a checkout."""

from __future__ import annotations

import configparser
import shutil
from pathlib import Path

from genlib.fsutil import atomic_write_text

WORKSPACE_FILES = ("dodo.py", "doit.cfg", "docker-compose.yml.j2", "Dockerfile.j2", "templates")
# `doit release` and `doit deploy`'s templates, one by one: deploy/ also receives what they render.
DEPLOY_TEMPLATES = (
    "deploy/Dockerfile.j2",
    "deploy/stack.yml.j2",
    "deploy/k8s/program.yaml.j2",
    "deploy/k8s/data.yaml.j2",
    "deploy/k8s/job.yaml.j2",
    "deploy/k8s/secret.yaml.j2",
)


def defaults_dir() -> Path:
    packaged = Path(__file__).parent / "_workspace"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent  # an editable install: the repo root is the workspace


def template(name: str) -> Path:
    return defaults_dir() / "templates" / name


def _commands(path: Path) -> dict[str, str]:
    """The [COMMAND] section of a doit.cfg (doit's plugin table: command name -> module:Class)."""
    config = configparser.ConfigParser()
    config.read(path, encoding="utf-8")
    return dict(config["COMMAND"]) if config.has_section("COMMAND") else {}


def missing_commands(root: Path) -> dict[str, str]:
    """genlib's commands a workspace's doit.cfg lacks (one made by an older genlib has fewer)."""
    ours, theirs = defaults_dir() / "doit.cfg", root / "doit.cfg"
    if _text(theirs) == _text(ours):
        return {}  # the usual case, asked on every `doit`: genlib's own file, which need not be parsed
    have = _commands(theirs)
    return {name: entry for name, entry in _commands(ours).items() if name not in have}


def _text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None


def add_missing_commands(root: Path) -> list[str]:
    """Add genlib's missing commands to the workspace's doit.cfg, keeping every line a person wrote."""
    missing = missing_commands(root)
    if not missing:
        return []
    path = root / "doit.cfg"
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    entries = [f"{name} = {entry}" for name, entry in missing.items()]
    # Inserted under the section's header, not through configparser, which would drop a person's comments.
    header = next((n for n, line in enumerate(lines) if line.strip() == "[COMMAND]"), None)
    if header is None:
        lines += ["[COMMAND]", *entries]
    else:
        lines[header + 1 : header + 1] = entries
    atomic_write_text(path, "\n".join(lines) + "\n")
    return list(missing)


def add_missing_templates(root: Path) -> list[str]:
    """Copy genlib's deploy templates a workspace lacks (one made before they existed); a person's stay."""
    added = []
    for name in DEPLOY_TEMPLATES:
        target = root / name
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(defaults_dir() / name, target)
            added.append(name)
    return added
