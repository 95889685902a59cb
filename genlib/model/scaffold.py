"""What a server's starter writes itself, as a scaffold would: a collection's two routes (profile small).

    collections_for(routes, clients, tables)   the collections a server's routes list and add to: in memory, or
                                               in the one table the plan's schema creates
    scaffolded(collections)                    "GET /todos" -> its collection: the routes a starter writes
    tables_in(text)                            the tables `CREATE TABLE` statements make

A path a server both lists (GET) and adds to (POST) is the most common thing an everyday API does; the small models
wrote it wrong in every way (a made-up list, a POST adding to a function, `SELECT id, x FROM t` copied from an
example). The starter templates (templates/starters/) write it: GET answers the list, POST adds the body with an
id. The model may change both.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from genlib.documents.mends import stated_status


class Route(Protocol):
    """A route as genlib.model.starters.Route holds it (what this module reads of one)."""

    @property
    def method(self) -> str: ...

    @property
    def path(self) -> str: ...

    @property
    def answers(self) -> str: ...


@dataclass(frozen=True)
class Collection:
    """A list a server keeps in memory for a path it both lists (GET) and adds to (POST): its starter declares it
    and writes the two routes, as a scaffold would (GET answers the list, POST adds the body with an id); the model
    may change them. The real 1.5B's GET /todos, asked for alone, returned a list it made up and its POST added to
    nothing; the 0.5B's POST answered `{"title": "..."}` through three heal rounds."""

    path: str  # /todos
    python: str  # TODOS
    js: str  # todos
    status: int = 201  # what POST answers: the status its route states, else 201 Created
    key: str = ""  # GET answers {key: the list} when its route's shape wraps it so (`{"todos": [...]}`), else the list
    table: Table | None = None  # where it is kept when the server uses Postgres (else in memory)


@dataclass(frozen=True)
class Table:
    """A table the plan's schema file says it creates (its purpose: `CREATE TABLE entries (id SERIAL PRIMARY KEY,
    name TEXT NOT NULL)`): what a Postgres collection reads and writes, and what db()'s example names. The 0.5B
    queried the example's `SELECT id, x FROM t` verbatim."""

    name: str
    columns: list[str]  # every column, id first
    written: list[str]  # those an INSERT gives: not the id, none with a DEFAULT
    selected: list[str] = field(default_factory=list)  # the SELECT's expressions: a date as text (JSON has none)


_CREATE_TABLE = re.compile(r"\bCREATE TABLE (?:IF NOT EXISTS )?\"?(\w+)\"?\s*\(", re.IGNORECASE)
_NOT_COLUMNS = ("primary", "unique", "foreign", "constraint", "check")


def tables_in(text: str) -> list[Table]:
    """The tables `CREATE TABLE` statements in `text` make, with an `id` column (what a collection returns)."""
    found = []
    for match in _CREATE_TABLE.finditer(text):
        parts = _top_level_parts(text[match.end() :])
        columns = [(p.split()[0].strip('"'), p.lower()) for p in parts if p.split()]
        columns = [(n, d) for n, d in columns if n.lower() not in _NOT_COLUMNS and re.fullmatch(r"\w+", n)]
        names = ["id", *(n for n, _ in columns if n != "id")]
        if "id" in (n for n, _ in columns):
            written = [n for n, d in columns if n != "id" and " default " not in f" {d} " and "serial" not in d]
            kinds = dict(columns)
            selected = [f"{n}::text AS {n}" if _AS_TEXT.search(kinds[n]) else n for n in names]
            found.append(Table(match.group(1), names, written, selected))
    return found


_AS_TEXT = re.compile(r"^\w+\s+(timestamp|date|time|interval|numeric|decimal|money|uuid)\b")  # no JSON type


def _top_level_parts(text: str) -> list[str]:
    """A parenthesised list's items (what follows its `(`), split at its top-level commas, up to its `)`."""
    parts, depth, current = [], 0, ""
    for char in text:
        if char == ")" and depth == 0:
            break
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    return [*parts, current.strip()]


_WRAPPED_LIST = re.compile(r'^\s*(?:\d{3}\s*,?\s*)?\{\s*"(\w+)"\s*:\s*\[')  # `200 {"todos": [...]}`
_A_LIST = re.compile(r"^\s*(?:\d{3}\s*,?\s*)?\[|\blists?\b", re.IGNORECASE)  # `200 [{...}]`, "lists them"
_TAKES_AN_OBJECT = re.compile(r"^\s*\{.*\}\s*->")  # `{"title": "..."} -> 201 {...}`


def collections_of(routes: Sequence[Route]) -> list[Collection]:
    """The collections `routes` list and add to, by their path's last word (for a server with no data service):
    a path whose GET is said to answer a list, or, when nothing is said of its GET, whose POST is said to take an
    object. A counter's GET and POST /count say neither: its POST adds one to a number, not an item to a list."""
    listing = {r.path: r for r in routes if r.method == "GET"}
    found: dict[str, Collection] = {}
    for route in routes:
        words = re.findall(r"[a-z0-9]+", route.path.rsplit("/", 1)[-1].lower())
        if route.method != "POST" or route.path not in listing or not words or not words[0][0].isalpha():
            continue
        said = listing[route.path].answers
        listed = _A_LIST.search(said) or _WRAPPED_LIST.match(said)
        if not (listed or (not said and _TAKES_AN_OBJECT.match(route.answers))):
            continue  # its GET answers something else: `{"time": "..."}` is no list, whatever POST takes
        js = words[0] + "".join(w.title() for w in words[1:])
        key = _WRAPPED_LIST.match(listing[route.path].answers)
        status = stated_status(route.answers) or 201
        found.setdefault(js, Collection(route.path, "_".join(words).upper(), js, status, key.group(1) if key else ""))
    return list(found.values())


def collections_for(routes: Sequence[Route], clients: list[str], tables: list[Table]) -> list[Collection]:
    """A server's collections: in memory with no data service; in the one table the plan creates with Postgres;
    none with Redis, or with several tables (which is whose is the model's to say)."""
    if not clients:
        return collections_of(routes)
    if clients == ["postgres"] and len(tables) == 1:
        return [replace(c, table=tables[0]) for c in collections_of(routes)]
    return []


def scaffolded(collections: list[Collection]) -> dict[str, Collection]:
    """The routes a starter writes itself ("GET /todos", "POST /todos"), and their collection."""
    return {f"{method} {c.path}": c for c in collections for method in ("GET", "POST")}
