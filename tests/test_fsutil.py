from __future__ import annotations

import os
from pathlib import Path

import pytest

from genlib.fsutil import atomic_write_text


def test_an_interrupted_write_leaves_the_old_file_and_no_temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "registry.yaml"
    target.write_text("old: true\n")

    def interrupted(src: str, dst: str) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_text(target, "new: true\n")
    assert target.read_text() == "old: true\n"
    assert [p.name for p in tmp_path.iterdir()] == ["registry.yaml"]


def test_written_files_are_readable_by_the_containers_user(tmp_path: Path) -> None:
    target = tmp_path / "a" / "server.js"
    atomic_write_text(target, "ok")
    assert target.read_text() == "ok"
    assert target.stat().st_mode & 0o777 == 0o644
