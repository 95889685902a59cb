"""manifest.json: what materialize wrote for one iteration (format `genlib.manifest/1`, docs/manifest-json.md).

    Manifest(source_sha256=..., files=..., deletions=..., components=...)
    dump(manifest) -> str / load(path) -> Manifest | None

Written last, after every layer file, so a missing manifest means "not
materialized yet". The overlay, the registry and history read it back,
always through this model.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Final, Literal

from pydantic import Field, ValidationError

from genlib.documents.llm_output import ComponentSpec
from genlib.errors import WorkspaceError
from genlib.fsutil import read_json_object
from genlib.strict import Strict, describe_validation_error

FORMAT: Final = "genlib.manifest/1"
_FIX = "delete it and run `doit` again"


class Manifest(Strict):
    format: Literal["genlib.manifest/1"] = FORMAT
    source_sha256: str  # of the llm_output.json it was written from
    files: dict[str, str]  # path in the iteration -> sha256 as written
    deletions: list[str] = Field(default_factory=list)  # files or <layer>/<component> folders this iteration removes
    components: list[ComponentSpec] = Field(default_factory=list)  # as the answer declared them

    @property
    def removed_components(self) -> list[tuple[str, str]]:
        """(layer, name) of each whole component a deletion removes."""
        return [(gone.split("/")[0], gone.split("/")[1]) for gone in self.deletions if gone.count("/") == 1]


def dump(manifest: Manifest) -> str:
    return json.dumps(manifest.model_dump(mode="json"), indent=1, sort_keys=True) + "\n"


def load(path: Path) -> Manifest | None:
    """None when missing or of another format (materialize writes it again); damaged is a WorkspaceError."""
    data = read_json_object(path, _FIX)
    if data is None or data.get("format") != FORMAT:
        return None
    try:
        return Manifest.model_validate(data)
    except ValidationError as exc:
        raise WorkspaceError(f"{path}: {describe_validation_error(exc, 1)}; {_FIX}") from exc
