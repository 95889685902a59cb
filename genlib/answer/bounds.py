"""The JSON schema sent to a model server, bounded: every array gets `maxItems` and every free string
`maxLength`, the caps genlib.answer.rules enforces on the answer. A grammar-constrained server (llama.cpp,
Ollama) then cannot loop forever inside an array or a string (issue 22: a plan repeated one route in
`interfaces`, and listed files, for 8,000 tokens): the loop ends at the cap, and the rules refuse nothing
the schema allowed.

    bounded(schema, limits)   a copy of `schema` with the caps, by property name (ITEMS, CHARS), strings else
                              max_text_chars

A GBNF grammar (Ollama's; llama.cpp's without llguidance) refuses a repetition of 2,000 or more (llama.cpp's
MAX_REPETITION_THRESHOLD: the request fails before the model runs): a cap above GRAMMAR_MAX is sent as
GRAMMAR_MAX, tighter than the rule, never looser. A file's content is the one string left open: its cap,
max_file_bytes, is past any grammar; the token budget and the repetition guard (genlib.model.watch) bound it.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from genlib.answer import rules
from genlib.answer.rules import Limits

GRAMMAR_MAX = 1999
Cap = Callable[[Limits], int]
ITEMS: dict[str, Cap] = {
    "components": lambda limits: limits.max_components,
    "depends_on": lambda limits: limits.max_components,
    "files": lambda limits: limits.max_files,
    "deletions": lambda limits: limits.max_files,
    "scenarios": lambda _: rules.MAX_SCENARIOS,
    "interfaces": lambda _: rules.MAX_INTERFACES,
    "command": lambda _: rules.MAX_COMMAND_ARGS,
}
CHARS: dict[str, Cap] = {
    "path": lambda _: rules.PATH_CHARS,
    "deletions": lambda _: rules.PATH_CHARS,  # its items are paths
    "health": lambda _: rules.HEALTH_CHARS,
}
OPEN = frozenset({"content"})  # a whole file: bounded by max_file_bytes in the rules, by the token budget here


class Unbounded(ValueError):
    """An array no rule caps: give it one in genlib.answer.rules, and its name in ITEMS."""


def bounded(schema: dict[str, Any], limits: Limits) -> dict[str, Any]:
    """`schema` (a pydantic model's JSON schema) with every array and free string capped."""
    capped = copy.deepcopy(schema)
    _walk(capped, None, limits)
    return capped


def _walk(node: Any, name: str | None, limits: Limits) -> None:
    """Cap `node`, the schema of the property `name` (its items too), and everything under it."""
    if not isinstance(node, dict):
        return
    for key in ("anyOf", "oneOf", "allOf"):
        for option in node.get(key, []):
            _walk(option, name, limits)
    for prop, sub in node.get("properties", {}).items():
        _walk(sub, prop, limits)
    for sub in node.get("$defs", {}).values():
        _walk(sub, None, limits)
    _walk(node.get("items"), name, limits)
    _walk(node.get("additionalProperties"), name, limits)
    if node.get("type") == "array":
        _cap(node, "maxItems", ITEMS.get(name or ""), limits, name)
    elif node.get("type") == "string" and "enum" not in node and "const" not in node and name not in OPEN:
        _cap(node, "maxLength", CHARS.get(name or "", lambda limits: limits.max_text_chars), limits, name)


def _cap(node: dict[str, Any], key: str, cap: Cap | None, limits: Limits, name: str | None) -> None:
    caps = [c for c in (node.get(key), cap(limits) if cap else None) if c is not None]
    if not caps:
        raise Unbounded(f"schema property {name!r}: an array no rule caps")
    node[key] = min(*caps, GRAMMAR_MAX)
