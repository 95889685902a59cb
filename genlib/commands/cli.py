"""The `genlib` console script: make workspaces and the offline base image.

Everything else is a doit task or command inside a workspace (`doit list`).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from genlib.config import OFFLINE_DATA_IMAGES, OFFLINE_IMAGE, load_settings, offline_build_image, remember
from genlib.defaults import WORKSPACE_FILES, add_missing_commands, add_missing_templates, defaults_dir
from genlib.documents.scenarios import TestFile, dump_tests
from genlib.errors import ConfigError, GenlibError, WorkspaceError
from genlib.fsutil import atomic_write_text
from genlib.stack import baseimage

RUNTIMES = ("python", "node", "static")


def init_workspace(target: Path) -> Path:
    """Make a new workspace at `target`; refuse to overwrite an existing one."""
    target = target.resolve()
    if (target / "dodo.py").exists() or (target / "iterations").exists():
        raise WorkspaceError(f"{target} is already a workspace; pick an empty folder")
    source = defaults_dir()
    target.mkdir(parents=True, exist_ok=True)
    for name in WORKSPACE_FILES:
        if (source / name).is_dir():
            shutil.copytree(source / name, target / name)
        else:
            shutil.copy2(source / name, target / name)
    add_missing_templates(target)
    (target / "iterations").mkdir()
    atomic_write_text(target / "test.yaml", dump_tests(TestFile()))
    atomic_write_text(target / ".gitignore", ".genlib/\n.env\n")  # .env: the database password
    return target


def upgrade_workspace(target: Path) -> str:
    """Bring a workspace made by an older genlib up to date: the commands its doit.cfg lacks, the deploy
    templates it lacks."""
    target = target.resolve()
    if not (target / "dodo.py").exists():
        raise WorkspaceError(f"{target} is not a workspace (no dodo.py); make one with: genlib init {target}")
    commands, templates = add_missing_commands(target), add_missing_templates(target)
    done = [f"{target}/doit.cfg: added the commands {', '.join(commands)}"] if commands else []
    done += [f"{target}: added {', '.join(templates)}"] if templates else []
    return "\n".join(done) or f"{target} is up to date"


def _say(line: str) -> None:
    print(line, flush=True)


def _images(image: str) -> dict[str, str]:
    """Every runtime's image on a machine that cannot pull: the base image, and the data images built on it."""
    return {runtime: image for runtime in RUNTIMES} | OFFLINE_DATA_IMAGES


def _exports(image: str) -> str:
    return "export " + " ".join(f"GENLIB_{name.upper()}={value}" for name, value in _settings(image).items())


def _settings(image: str) -> dict[str, str | int | float]:
    """The machine settings `--use` writes: every runtime's image, and the build stage's (pip, venv, npm)."""
    found: dict[str, str | int | float] = {f"image_{runtime}": name for runtime, name in _images(image).items()}
    return found | {f"build_image_{runtime}": offline_build_image(image) for runtime in ("python", "node")}


def _use_image(image: str) -> str:
    path = remember(_settings(image))
    return (
        f"{image} is now the image for {', '.join(RUNTIMES)} on this machine, {_data_names()} too, "
        f"{offline_build_image(image)} builds dependencies ({path})"
    )


def _data_names() -> str:
    return " and ".join(OFFLINE_DATA_IMAGES.values())


def _model(action: str, name: str | None) -> str:
    """`genlib model [status|stop|install NAME]`, with this folder's settings (genlib.toml, GENLIB_*)."""
    from genlib.model import catalogue, local

    settings = load_settings(Path.cwd())
    if action == "stop":
        stopped = local.stop()
        return f"stopped the local model server (pid {stopped.pid})" if stopped else "no local model server runs"
    if action == "install":
        wanted = name or settings.local_model
        if wanted not in catalogue.CATALOGUE:
            raise ConfigError(f"{wanted!r} is not in the catalogue; pick one of {', '.join(catalogue.CATALOGUE)}")
        return f"{wanted}: {catalogue.ensure_installed(wanted, sys.stdout)}"
    return "\n".join(local.status(settings))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="genlib", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    init = sub.add_parser("init", help="make a new workspace in DIR")
    init.add_argument("dir", type=Path)
    upgrade = sub.add_parser("upgrade", help="add what a workspace made by an older genlib lacks (doit.cfg commands)")
    upgrade.add_argument("dir", type=Path, nargs="?", default=Path("."))
    base = sub.add_parser(
        "base-image", help="build the offline base image (debootstrap + docker import) and the postgres/redis images"
    )
    base.add_argument("--name", default=OFFLINE_IMAGE, help=f"image name (default {OFFLINE_IMAGE})")
    base.add_argument("--force", action="store_true", help="rebuild even when the image exists")
    base.add_argument("--use", action="store_true", help="make it this machine's image for every runtime")
    model = sub.add_parser("model", help="the local model server: what runs (default), stop it, install a model")
    model.add_argument("action", nargs="?", choices=("status", "stop", "install"), default="status")
    model.add_argument("name", nargs="?", help="install: a catalogue name (default: the local_model setting)")
    args = parser.parse_args(argv)
    try:
        if args.command == "init":
            root = init_workspace(args.dir)
            print(f'workspace ready: {root}\nnext: cd {root} && doit gen desc="what to build"')
        elif args.command == "upgrade":
            print(upgrade_workspace(args.dir))
        elif args.command == "base-image":
            print(baseimage.build(args.name, force=args.force, say=_say))
            baseimage.build_data_images(args.name, force=args.force, say=_say)
            print(baseimage.build_builder(args.name, force=args.force, say=_say))
            print(_use_image(args.name) if args.use else f"use it: genlib base-image --use (or {_exports(args.name)})")
        elif args.command == "model":
            print(_model(args.action, args.name))
    except GenlibError as exc:
        print(f"genlib: error: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
