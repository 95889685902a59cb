"""What heal does with an accepted patch (its rules are in genlib.answer.rules, shared with gen).

A patch is an `Answer` holding only what changes: whole new file contents,
explicit deletions, new or changed model scenarios (components may be redeclared).
"""

from __future__ import annotations

import hashlib
import json

from genlib.documents.llm_output import Answer


def only_changed(answer: Answer, tree: dict[str, str]) -> Answer:
    """The answer without the files it resent unchanged: a patch iteration holds only corrected files
    (an unchanged file written again would still move its mount and restart its service)."""
    return answer.model_copy(update={"files": [f for f in answer.files if tree.get(f.path) != f.content]})


def fingerprint(answer: Answer) -> str:
    """Order-independent identity of what a patch does (its summary does not count)."""
    canonical = {
        "files": sorted((f.path, f.content) for f in answer.files),
        "deletions": sorted(answer.deletions),
        "components": sorted(json.dumps(c.model_dump(mode="json"), sort_keys=True) for c in answer.components),
        "scenarios": sorted(json.dumps(s.model_dump(mode="json"), sort_keys=True) for s in answer.scenarios),
    }
    return hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()
