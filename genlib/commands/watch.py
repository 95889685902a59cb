"""`doit watch`: run the graph after each change to a layer file, test.yaml or a template, until Ctrl-C.

File events come from watchfiles (Rust's notify underneath: inotify here, no polling),
which also debounces: a save that touches several files is one run. Between runs
the workspace lock is free, so `doit logs` or `doit status` work in another
terminal; Ctrl-C stops watching and leaves the stack as it is.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TextIO

from genlib import lock
from genlib.app import snapshot
from genlib.app.iterations import find_iteration, head, read_manifest
from genlib.documents import results
from genlib.errors import WorkspaceError
from genlib.fsutil import sha256_file
from genlib.tasks import doit_run
from genlib.workspace import LAYERS, Workspace

DEBOUNCE_MS = 400
IDLE_MS = 500  # how often the watcher wakes with nothing to report (Ctrl-C is handled at once anyway)
DEFAULT_TASKS = ("materialize", "registry", "compose", "up", "test")  # what a plain `doit` runs


def watched(ws: Workspace) -> Callable[[object, str], bool]:
    """The filter: layer files of any iteration, test.yaml, docker-compose.yml.j2 and templates/.

    What the graph itself writes (results.json, logs/, screenshots/, registry.yaml,
    docker-compose.yml, .genlib/) is not watched, so a run never triggers the next.
    """
    root = ws.root

    def wanted(_change: object, path: str) -> bool:
        try:
            parts = Path(path).relative_to(root).parts
        except ValueError:
            return False
        if not parts or parts[-1].startswith("."):
            return False  # an editor's or genlib's temporary file, renamed over the real one
        if parts in (("test.yaml",), ("docker-compose.yml.j2",)) or parts[0] == "templates":
            return True
        return len(parts) >= 5 and parts[0] == "iterations" and parts[2] in LAYERS and not Path(path).is_dir()

    return wanted


def run(ws: Workspace, variables: dict[str, str], out: TextIO | None = None) -> int:
    """Run once now, then after each batch of changes; 0 on Ctrl-C."""
    import watchfiles

    out = out or sys.stdout
    print(f"watch: layer files, test.yaml and templates of {ws.root}; Ctrl-C stops", file=out, flush=True)
    # One watcher for the whole session, armed before the first run: an edit made during or
    # right after a run is never missed. Idle timeouts yield an empty batch (skipped).
    batches = watchfiles.watch(
        ws.root, watch_filter=watched(ws), debounce=DEBOUNCE_MS, rust_timeout=IDLE_MS, yield_on_timeout=True
    )
    try:
        next(batches)
        materialized = graph(ws, variables, out, [])
        for changes in batches:
            changed = sorted(path for _change, path in changes)
            if materialized:  # what the run itself wrote arrives now: not a person's edit
                changed = [path for path in changed if not as_generated(ws, Path(path))]
            if changed:
                materialized = graph(ws, variables, out, changed)
    except KeyboardInterrupt:
        print("\nwatch: stopped; the stack is left as it is (`doit down` stops it)", file=out, flush=True)
    return 0


def graph(ws: Workspace, variables: dict[str, str], out: TextIO, changed: Iterable[str]) -> bool:
    """One run of the default tasks, under the workspace lock, then the results line; True if it materialized."""
    names = [Path(p).relative_to(ws.root).as_posix() for p in changed]
    if names:
        more = f" and {len(names) - 5} more" if len(names) > 5 else ""
        print(f"watch: changed: {', '.join(names[:5])}{more}", file=out, flush=True)
    try:
        lock.acquire(ws)
    except WorkspaceError as exc:
        print(f"watch: skipped: {exc}", file=out, flush=True)
        return False
    before = _stamp(snapshot.index_path(ws))
    try:
        code = doit_run.run(ws, DEFAULT_TASKS, variables)
    finally:
        lock.release(ws)
    print(f"watch: {time.strftime('%H:%M:%S')} {results_line(ws, code)}", file=out, flush=True)
    return _stamp(snapshot.index_path(ws)) != before  # materialize rewrites the index when it writes files


def as_generated(ws: Workspace, path: Path) -> bool:
    """The layer file holds what materialize wrote (its manifest's hash)."""
    try:
        name, rel = path.relative_to(ws.iterations_dir).as_posix().split("/", 1)
        manifest = read_manifest(find_iteration(ws, name))
        return manifest is not None and manifest.files.get(rel) == sha256_file(path)
    except (ValueError, OSError, WorkspaceError):
        return False


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return stat.st_mtime_ns, stat.st_size


def results_line(ws: Workspace, code: int) -> str:
    """`iter_002_patch: 5 passed, 0 failing` (or why there are no results)."""
    if code >= 2:
        return f"not tested: the graph stopped with an error (exit {code}, above)"
    try:
        current = head(ws)
        report = results.load(current.results) if current else None
    except WorkspaceError as exc:
        return f"no results: {exc}"
    if current is None or report is None:
        return "no results yet"
    names = [r.name for r in report.failing]
    shown = f": {', '.join(names[:3])}" + (", …" if len(names) > 3 else "") if names else ""
    return f"{current.name}: {report.summary['passed']} passed, {len(names)} failing{shown}"
