"""The rules a heal patch must follow before anything is written.

A patch is an `Answer` holding only what changes: whole new file contents,
explicit deletions, new or changed model scenarios (components may be
redeclared). Every broken rule is one `PatchRejected` whose message is fed back
to the model as the reason for a retry, so it speaks to the model.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from genlib.config import Settings
from genlib.errors import OutputError, PatchRejected
from genlib.llm_output import Answer, check_answer
from genlib.scenarios import TestFile


@dataclass(frozen=True)
class Patch:
    answer: Answer
    changed: list[str]  # files whose content differs from the current tree (new ones included)
    deleted: list[str]
    fingerprint: str  # equal fingerprints = the same patch proposed twice (no progress)


def validate(
    answer: Answer,
    *,
    tree: dict[str, str],
    tests: TestFile,
    known_components: set[tuple[str, str]],
    settings: Settings,
) -> Patch:
    """Check `answer` against the current effective `tree` and test.yaml; raise PatchRejected."""
    try:
        check_answer(
            answer,
            where="patch",
            max_file_bytes=settings.max_file_bytes,
            max_files=settings.max_files,
            known_components=known_components,
        )
    except OutputError as exc:
        raise PatchRejected(str(exc)) from exc
    _check_scenarios(answer, tests)
    _check_deletions(answer, tree)
    protect_person_services(answer, tests)
    changed = [f.path for f in only_changed(answer, tree).files]
    if not changed and not answer.deletions and not answer.scenarios and not answer.components:
        raise PatchRejected("patch changes nothing: every file has the content it already has; fix the failure")
    return Patch(answer, changed, sorted(answer.deletions), fingerprint(answer))


def only_changed(answer: Answer, tree: dict[str, str]) -> Answer:
    """The answer without the files it resent unchanged: a patch iteration holds only corrected files
    (an unchanged file written again would still move its mount and restart its service)."""
    return answer.model_copy(update={"files": [f for f in answer.files if tree.get(f.path) != f.content]})


def _check_scenarios(answer: Answer, tests: TestFile) -> None:
    """A person's scenario is out of bounds: not re-sent, not replaced, not weakened."""
    protected = {s.name for s in tests.scenarios if s.origin == "user"}
    for scenario in answer.scenarios:
        if scenario.name in protected:
            raise PatchRejected(
                f"scenario {scenario.name!r} was written by a person (origin user) and may not be changed; "
                "fix the app so it passes instead"
            )
        if "origin" in scenario.model_fields_set and scenario.origin == "user":
            raise PatchRejected(f"scenario {scenario.name!r} claims origin user; a patch may only add origin model")


def _check_deletions(answer: Answer, tree: dict[str, str]) -> None:
    """Deleting what does not exist is a confused patch."""
    for gone in answer.deletions:
        if not any(path == gone or path.startswith(gone + "/") for path in tree):
            raise PatchRejected(f"deletion {gone!r} names no current file; delete only files listed in the app")


def protect_person_services(answer: Answer, tests: TestFile) -> None:
    """A person's scenario keeps its service: no answer (gen or heal) may delete it or stop it running."""
    guarded = {s.service: s.name for s in tests.scenarios if s.origin == "user"}
    for gone in answer.deletions:
        if gone.count("/") == 1:
            layer, name = gone.split("/")
            service = f"{name}-{layer}"
            if service in guarded:
                raise PatchRejected(
                    f"deleting {gone!r} removes service {service!r}, which scenario {guarded[service]!r} "
                    "(written by a person) tests; fix the component instead"
                )
    for comp in answer.components:
        if comp.service in guarded and not comp.runnable:
            raise PatchRejected(
                f"component {comp.layer}/{comp.name} would no longer run, but scenario "
                f"{guarded[comp.service]!r} (written by a person) tests {comp.service!r}; give it a command"
            )


def fingerprint(answer: Answer) -> str:
    """Order-independent identity of what a patch does (its summary does not count)."""
    canonical = {
        "files": sorted((f.path, f.content) for f in answer.files),
        "deletions": sorted(answer.deletions),
        "components": sorted(json.dumps(c.model_dump(mode="json"), sort_keys=True) for c in answer.components),
        "scenarios": sorted(json.dumps(s.model_dump(mode="json"), sort_keys=True) for s in answer.scenarios),
    }
    return hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()
