"""Prompt templates (templates/*.j2): the workspace's copy first, then genlib's default.

A person can edit a workspace's templates/gen.md.j2; a variable the template
names but genlib does not give is an error naming the file and line, never an
empty string in the prompt (StrictUndefined).
"""

from __future__ import annotations

import json
from typing import Any

import jinja2

from genlib.compose import _template_line as template_line  # one way to find a Jinja error's line
from genlib.defaults import defaults_dir
from genlib.errors import TemplateError
from genlib.workspace import Workspace


def environment(ws: Workspace) -> jinja2.Environment:
    search = [str(ws.templates_dir), str(defaults_dir() / "templates")]
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(search),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters["tojson"] = lambda value, indent=None: json.dumps(value, indent=indent, ensure_ascii=False)
    return env


def render(ws: Workspace, name: str, context: dict[str, Any]) -> str:
    """Render templates/`name` with `context`; every template problem is one TemplateError."""
    env = environment(ws)
    try:
        tmpl = env.get_template(name)
    except jinja2.TemplateNotFound as exc:
        raise TemplateError(f"no template {name} in {ws.templates_dir} nor in genlib's defaults") from exc
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"{exc.filename or name}:{exc.lineno}: {exc.message}") from exc
    try:
        return tmpl.render(context)
    except jinja2.UndefinedError as exc:
        raise TemplateError(f"{tmpl.filename}{template_line(exc)}: {exc.message}") from exc
