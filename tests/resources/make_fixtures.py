"""Writes the hand-made llm_output.json fixtures from readable source files.

Run `python tests/resources/make_fixtures.py` after editing anything under apps/*/src.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

HERE = Path(__file__).parent / "apps"


def build(app: Path) -> dict[str, object]:
    spec = yaml.safe_load((app / "app.yaml").read_text())
    src = app / "src"
    files = [{"path": str(p.relative_to(src)), "content": p.read_text()} for p in sorted(src.rglob("*")) if p.is_file()]
    return {
        "format": "genlib.llm_output/1",
        "kind": spec.get("kind", "gen"),
        "description": spec["description"],
        "created": "2026-11-25T00:00:00Z",
        "raw": "(hand-written fixture)",
        "answer": {
            "summary": spec["description"],
            "components": spec["components"],
            "files": files,
            "deletions": spec.get("deletions", []),
            "scenarios": spec.get("scenarios", []),
        },
    }


if __name__ == "__main__":
    for app in sorted(p for p in HERE.iterdir() if (p / "app.yaml").exists()):
        out = app / "llm_output.json"
        out.write_text(json.dumps(build(app), indent=2) + "\n")
        print(f"wrote {out}")
