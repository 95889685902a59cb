"""The rules for a component's dependency files: requirements.txt, package.json, package-lock.json.

A dependency file may only name packages of the configured index (PyPI, the npm registry,
or the person's own index settings): never another index, a URL, a VCS checkout or a local
path, and never an install script (genlib runs npm with --ignore-scripts, so one would
silently not run). Each refusal is one OutputError whose message the model can act on; the
same check runs on a model's answer (the reason goes back to it) and before a build (a
person's edit becomes a failed build result that heal can fix).
"""

from __future__ import annotations

import json
import re
from typing import Any

from genlib.errors import OutputError

PYTHON_FILES = ("requirements.txt",)
NODE_FILES = ("package.json", "package-lock.json")
MANIFEST_BYTES = 16 * 1024  # requirements.txt, package.json: a few dozen lines
MAX_PACKAGES = 40  # "few, well-known" ones; hundreds would make every build slow and fragile
_NPM_DEP_TABLES = ("dependencies", "devDependencies", "optionalDependencies", "peerDependencies")
_COMMENT = re.compile(r"(?:^|\s)#.*$")  # as pip reads it: `#` at the start or after any blank (a tab too)
_NPM_REFERENCE = re.compile(r"^\$[A-Za-z0-9@/._-]{1,214}$")  # overrides: "$express", the version dependencies pin
_NPM_INSTALLED_TABLES = ("dependencies", "optionalDependencies", "peerDependencies")  # npm install --omit=dev
_NPM_INSTALL_HOOKS = ("preinstall", "install", "postinstall", "prepare", "preprepare", "postprepare")
_NPM_SPEC = re.compile(r"^[A-Za-z0-9.*^~<>=|x +-]{1,64}$")  # semver ranges and dist-tags, no `:` or `/`


def is_dependency_file(path: str) -> bool:
    """A dependency file sits at the top of its component's folder: `<layer>/<component>/requirements.txt`."""
    parts = path.split("/")
    return len(parts) == 3 and parts[2] in (*PYTHON_FILES, *NODE_FILES)


def runtime_of(name: str) -> str:
    return "python" if name in PYTHON_FILES else "node"


def check(path: str, content: str) -> None:
    """Raise OutputError naming `path` when its content breaks a rule; other paths pass."""
    if not is_dependency_file(path):
        return
    name = path.rsplit("/", 1)[1]
    size = len(content.encode("utf-8"))
    if name != "package-lock.json" and size > MANIFEST_BYTES:
        raise OutputError(f"{path} is {size} bytes, over the {MANIFEST_BYTES} allowed: list only what the code imports")
    try:
        if name == "requirements.txt":
            _check_requirements(content)
        elif name == "package.json":
            _check_package_json(_json_object(content))
        else:
            _check_package_lock(_json_object(content))
    except OutputError as exc:
        raise OutputError(f"{path}: {exc}") from exc


def check_answer_file(path: str, content: str) -> None:
    """`check`, for a file a model writes: it may not write a package-lock.json. A lock lists every
    transitive package with its integrity hash, which a model cannot know: a made-up one installs a
    partial tree (`Cannot find module` at run time) or fails on checksums. A person's lock is welcome."""
    if is_dependency_file(path) and path.endswith("/package-lock.json"):
        raise OutputError(
            f"{path}: a model cannot write a lock file (integrity hashes of every package); leave it out and list "
            "exact versions in package.json"
        )
    check(path, content)


def _check_requirements(content: str) -> None:
    count = len(_requirements(content))
    if count > MAX_PACKAGES:
        raise OutputError(f"{count} requirements, over the {MAX_PACKAGES} allowed: keep the few the code imports")


def _requirements(content: str) -> list[str]:
    """The requirement lines of a requirements.txt (comments and blank lines left out), each checked."""
    from packaging.requirements import InvalidRequirement, Requirement

    found = []
    for number, raw in enumerate(content.splitlines(), 1):
        line = _COMMENT.sub("", raw).strip()
        if not line or line.startswith("#"):
            continue
        where = f"line {number} {line[:80]!r}"
        if line.startswith("-") or line.endswith("\\"):
            raise OutputError(f"{where}: options (-r, -e, --index-url, ...) are not allowed; write `name==version`")
        try:
            req = Requirement(line)
        except InvalidRequirement as exc:
            raise OutputError(f"{where} is not a requirement ({exc}); write `name==version`") from exc
        if req.url:
            raise OutputError(f"{where} points at a URL or path; name a package of the index: `name==version`")
        found.append(line)
    return found


def installs_nothing(name: str, content: str) -> bool:
    """A requirements.txt of comments only, or a package.json without dependencies (only `scripts`, or only
    devDependencies, which builds omit): nothing to install, so no image is needed. A file that breaks a
    rule is not `nothing`: its build says what is wrong."""
    try:
        if name in PYTHON_FILES:
            return not _requirements(content)
        data = _json_object(content)
    except OutputError:
        return False
    return not any(data.get(table) for table in _NPM_INSTALLED_TABLES)


def _json_object(content: str) -> dict[str, object]:
    try:
        data = json.loads(content)
    except json.JSONDecodeError as exc:
        raise OutputError(f"not valid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise OutputError("must be a JSON object")
    return data


def _check_package_json(data: dict[str, object]) -> None:
    scripts = data.get("scripts") or {}
    hooks = [name for name in _NPM_INSTALL_HOOKS if isinstance(scripts, dict) and name in scripts]
    if hooks:
        raise OutputError(f"script {hooks[0]!r} would never run (genlib installs with --ignore-scripts); remove it")
    count = 0
    for table in _NPM_DEP_TABLES:
        deps = data.get(table) or {}
        if not isinstance(deps, dict):
            raise OutputError(f"{table} must be an object of name: version")
        for name, spec in deps.items():
            if not isinstance(spec, str) or not _NPM_SPEC.match(spec):
                raise OutputError(
                    f"{table}.{name} = {spec!r}: only a version or range of the registry is allowed "
                    "(no URL, git, file:, link:, npm: alias or path)"
                )
        count += len(deps)
    if count > MAX_PACKAGES:
        raise OutputError(f"{count} dependencies, over the {MAX_PACKAGES} allowed: keep the few the code requires")
    _check_overrides(data.get("overrides") or {}, "overrides")


def _check_overrides(node: Any, where: str) -> None:
    """npm's `overrides` replace a package anywhere in the tree: a URL or git spec there would install from
    outside the registry as surely as one in `dependencies`. Values: a version, a range, or `$name`."""
    if isinstance(node, dict):
        for name, value in node.items():
            _check_overrides(value, f"{where}.{name}")
    elif not isinstance(node, str) or not (_NPM_SPEC.match(node) or _NPM_REFERENCE.match(node)):
        raise OutputError(f"{where} = {node!r}: only a version or range of the registry (or `$name`) is allowed")


def _check_package_lock(data: dict[str, object]) -> None:
    packages = data.get("packages") or {}
    if not isinstance(packages, dict):
        raise OutputError("packages must be an object")
    for where, entry in packages.items():
        if not isinstance(entry, dict):
            continue
        resolved = str(entry.get("resolved", ""))
        if entry.get("link") or (resolved and not resolved.startswith(("https://", "http://"))):
            raise OutputError(f"{where or 'the root'} resolves to {resolved or 'a link'}: only registry packages")
