"""Prompt templates (templates/*.j2): the workspace's copy first, then genlib's default.

A person can edit a workspace's templates/gen.md.j2; a variable the template
names but genlib does not give is an error naming the file and line, never an
empty string in the prompt (StrictUndefined).
"""

from __future__ import annotations

from collections.abc import Mapping

from genlib import templating
from genlib.defaults import defaults_dir
from genlib.workspace import Workspace


def render(ws: Workspace, name: str, context: Mapping[str, object]) -> str:
    """Render templates/`name` with `context`; every template problem is one TemplateError."""
    return templating.render([str(ws.templates_dir), str(defaults_dir() / "templates")], name, context)
