"""Which services and files a failure implicates, most suspect first: what heal shows the model.

    involved_services(components, failing, text, host_ports) -> the failing services, what they depend on, and the
                                                    services the evidence names (name, host port, URL)
    rank(components, involved, texts, changed, read) -> [Suspect], by evidence:

        6  named in a stack frame (a traceback, node's `at …`)
        5  named in a log line or the failing output (`Cannot find module './routes/users'`); the
           dependency file of a component missing a package (`No module named 'redis'`); changed by the
           iteration `doit bisect` found broke a failing scenario (`prime`)
        4  imported by, or importing, a file scored 5 or 6 (python imports, node require/import)
        3  changed by the last iteration (a recent change is a suspect)
        2  the entry point of an involved service
        1  another file of an involved service
        0  the rest

Within a score, the failing services' files come first, then larger files before smaller ones (an empty
`__init__.py` explains nothing).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath

from genlib.app.registry import Entry

FRAME = 6
NAMED = 5
NEIGHBOUR = 4
CHANGED = 3
ENTRY = 2
INVOLVED = 1
REST = 0

# `File "/app/worker.py", line 12` (python) and `(/app/server.js:12:5)` / `at /app/x.js:3` (node)
_FRAME = re.compile(r"""(?:File "|\(|at |\s)(/app/[\w./-]+?)(?:", line |:)(\d+)""")
_PY_IMPORT = re.compile(r"^\s*(?:from\s+(\.*[\w.]*)\s+import\s+([\w., ()*]+)|import\s+([\w., ]+))", re.MULTILINE)
_JS_IMPORT = re.compile(r"""(?:require\(\s*|import\s*\(\s*|from\s+|^\s*import\s+)["'](\.{1,2}/[^"']+)["']""", re.M)
# A package the code imports is not installed: the component's requirements.txt / package.json is what fixes it.
_MISSING_PACKAGE = re.compile(r"No module named '?\w|Cannot find (?:module|package) '[^./']")
_DEPENDENCY_FILES = {"requirements.txt", "package.json"}
_GENERIC_NAMES = {"index.js", "__init__.py", "index.html", "main.py", "app.py", "server.js", "app.js", "main.js"}


def traceback_files(text: str) -> dict[str, int]:
    """Container paths named in stack frames -> the first line number mentioned."""
    found: dict[str, int] = {}
    for match in _FRAME.finditer(text):
        found.setdefault(match.group(1), int(match.group(2)))
    return found


@dataclass(frozen=True)
class Suspect:
    path: str  # layer/component/file
    component: str  # layer/component
    service: str | None
    rel: str  # the file inside its component (and under /app in its container)
    size: int
    score: int


# -- the services involved ---------------------------------------------------------------------------


def involved_services(
    components: list[Entry], failing: Iterable[str], text: str, host_ports: Mapping[str, int] | None = None
) -> list[str]:
    """The failing services first, then those they depend on (transitively) and those the evidence names."""
    by_service = {c.service: c for c in components if c.service}
    order = [s for s in dict.fromkeys(failing) if s in by_service]
    queue = list(order)
    named = [s for s in by_service if _names_service(text, s, (host_ports or {}).get(s))]
    while queue:
        for dep in by_service[queue.pop(0)].depends_on:
            if dep in by_service and dep not in order:
                order.append(dep)
                queue.append(dep)
    return order + [s for s in named if s not in order]


def _names_service(text: str, service: str, host_port: int | None) -> bool:
    """`http://users-api:8000/…`, `users-api`, or its host port `127.0.0.1:18003` (.genlib/ports.json)."""
    if re.search(rf"(?<![\w-]){re.escape(service)}(?![\w-])", text):
        return True
    return bool(host_port) and re.search(rf"(?:127\.0\.0\.1|localhost):{host_port}\b", text) is not None


# -- the files ---------------------------------------------------------------------------------------


def rank(
    components: list[Entry],
    involved: list[str],
    texts: Mapping[str, str],
    changed_in: str | None,
    read: Callable[[str, str], str | None],
    prime: Collection[str] = (),
) -> list[Suspect]:
    """Every layer file, most suspect first. `texts[service]` is the evidence read for that service (its
    failing results and its log's error lines); `read(iteration, path)` gives a file's text (None: unreadable)."""
    files = _files(components)
    sources = {s.path: read(it, s.path) for s, it in files}
    sizes = {path: len(text or "") for path, text in sources.items()}
    scores = {s.path: _direct_score(s, texts.get(s.service or "", ""), involved, changed_in, it) for s, it in files}
    scores |= {path: max(score, NAMED) for path, score in scores.items() if path in prime}
    _raise_neighbours(files, sources, scores)
    failing = set(involved[:1]) | {s for s in involved if s in texts}
    ranked = [Suspect(s.path, s.component, s.service, s.rel, sizes[s.path], scores[s.path]) for s, _ in files]
    return sorted(ranked, key=lambda s: (-s.score, s.service not in failing, -min(s.size, 20000), s.path))


@dataclass(frozen=True)
class _File:
    path: str
    component: str
    service: str | None
    rel: str
    entry: bool


def _files(components: list[Entry]) -> list[tuple[_File, str]]:
    out = []
    for comp in components:
        base = f"{comp.layer}/{comp.name}"
        entry = set(comp.command or [])
        for f in comp.files:
            rel = PurePosixPath(f.path).relative_to(base).as_posix()
            out.append((_File(f.path, base, comp.service, rel, rel in entry), f.iteration))
    return out


def _direct_score(f: _File, text: str, involved: list[str], changed_in: str | None, iteration: str) -> int:
    if text and f"/app/{f.rel}" in traceback_files(text):
        return FRAME
    if text and (_named(f.rel, text) or (f.rel in _DEPENDENCY_FILES and _MISSING_PACKAGE.search(text))):
        return NAMED
    if changed_in is not None and iteration == changed_in:
        return CHANGED
    if f.service in involved:
        return ENTRY if f.entry else INVOLVED
    return REST


def _named(rel: str, text: str) -> bool:
    """The file's path, its path without extension (`./routes/users`), or a distinctive file or module name."""
    stem, _ext = posixpath.splitext(rel)
    base = posixpath.basename(rel)
    if rel in text or ("/" in rel and re.search(rf"[\s'\"./]{re.escape(stem)}['\"\s:)]", text)):
        return True
    if base not in _GENERIC_NAMES and re.search(rf"(?<![\w/.-]){re.escape(base)}\b", text):
        return True
    module = stem.replace("/", ".")  # `No module named 'helpers'`, `ImportError: cannot import name x from 'db'`
    return rel.endswith(".py") and re.search(rf"""['"]{re.escape(module)}['"]""", text) is not None


def _raise_neighbours(
    files: list[tuple[_File, str]], sources: Mapping[str, str | None], scores: dict[str, int]
) -> None:
    """Files imported by, or importing, the files the evidence names."""
    peers: dict[str, dict[str, str]] = {}
    for f, _ in files:
        peers.setdefault(f.component, {})[f.rel] = f.path
    imports = {
        f.path: {peers[f.component][r] for r in imported(f.rel, sources.get(f.path) or "", set(peers[f.component]))}
        for f, _ in files
    }
    named = {f.path for f, _ in files if scores[f.path] >= NAMED}
    for f, _ in files:
        empty = not (sources.get(f.path) or "").strip()  # an empty `__init__.py` explains nothing
        if (
            scores[f.path] < NEIGHBOUR
            and not empty
            and (imports[f.path] & named or any(f.path in imports[n] for n in named))
        ):
            scores[f.path] = NEIGHBOUR


def imported(rel: str, source: str, peers: set[str]) -> set[str]:
    """The files of the same component that `rel` imports (python `import`/`from`, node `require`/`import`)."""
    found: set[str] = set()
    if rel.endswith(".py"):
        here = posixpath.dirname(rel)
        for match in _PY_IMPORT.finditer(source):
            modules = [match.group(1)] if match.group(1) is not None else (match.group(3) or "").split(",")
            names = [n.strip(" ()") for n in (match.group(2) or "").split(",")]
            for module in modules:
                found |= _python_targets(module.strip().split(" ")[0], names, here, peers)
    elif rel.endswith((".js", ".mjs", ".cjs", ".ts", ".jsx", ".tsx")):
        for match in _JS_IMPORT.finditer(source):
            target = posixpath.normpath(posixpath.join(posixpath.dirname(rel), match.group(1)))
            for candidate in (target, *(target + ext for ext in (".js", ".mjs", ".cjs", ".ts", ".json"))):
                if candidate in peers:
                    found.add(candidate)
            found |= {t for t in (f"{target}/index.js",) if t in peers}
    return found


def _python_targets(module: str, names: list[str], here: str, peers: set[str]) -> set[str]:
    dots = len(module) - len(module.lstrip("."))
    parts = [p for p in module.lstrip(".").split(".") if p]
    base = here if dots else ""
    for _ in range(max(dots - 1, 0)):
        base = posixpath.dirname(base)
    stem = posixpath.join(base, *parts) if parts else base
    options = [f"{stem}.py", f"{stem}/__init__.py"] if stem else []
    options += [posixpath.join(stem, f"{n}.py") for n in names if n and n != "*"]  # `from pkg import mod`
    if not dots and here:  # a sibling imported by its bare name (the script's folder is on sys.path)
        options.append(posixpath.join(here, *parts) + ".py")
    return {o.lstrip("/") for o in options if o.lstrip("/") in peers}
