"""The one Jinja setup: StrictUndefined, `tojson` and `compose_str` filters, errors naming file and line.

Used for docker-compose.yml.j2 and the prompt templates. Environments are cached
per search path; Jinja's auto-reload still picks up a person's template edits.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from typing import Any

import jinja2

from genlib.errors import TemplateError


def _tojson(value: Any, indent: int | None = None) -> str:
    return json.dumps(value, indent=indent, ensure_ascii=False)  # key order kept: a schema reads top-down


def compose_str(value: Any) -> str:
    """A JSON (so YAML) scalar whose `$` Compose reads literally: `$HOME` in a model's command stays `$HOME`.

    Compose interpolates `$VAR`/`${VAR}` from the host environment in every string of the file; `$$`
    is its escape for one `$`. Every model-supplied string the compose template emits goes through this."""
    return _tojson(value).replace("$", "$$")


@functools.lru_cache(maxsize=16)
def environment(search: tuple[str, ...]) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(list(search)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # YAML and Markdown prompts, never HTML
    )
    env.filters["tojson"] = _tojson
    env.filters["compose_str"] = compose_str
    return env


def render(search: Sequence[str], name: str, context: Mapping[str, object]) -> str:
    """Render template `name`, found in the first folder of `search` that has it."""
    env = environment(tuple(search))
    try:
        template = env.get_template(name)
    except jinja2.TemplateNotFound as exc:
        raise TemplateError(f"no template {name} in {', '.join(search)}") from exc
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"{exc.filename or name}:{exc.lineno}: {exc.message}") from exc
    try:
        return template.render(context)
    except jinja2.UndefinedError as exc:
        raise TemplateError(f"{template.filename}{_template_line(exc)}: {exc.message}") from exc


def _template_line(exc: BaseException) -> str:
    """Jinja records the template line in the traceback frames it compiles."""
    tb = exc.__traceback__
    line = ""
    while tb is not None:
        if tb.tb_frame.f_code.co_filename.endswith(".j2"):
            line = f":{tb.tb_lineno}"
        tb = tb.tb_next
    return line
