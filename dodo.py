"""The build graph of this genlib workspace. Tasks live in genlib.tasks: `doit list` shows them."""

from pathlib import Path

from genlib import tasks

DOIT_CONFIG = tasks.doit_config(Path(__file__).parent)
globals().update(tasks.creators(Path(__file__).parent))
