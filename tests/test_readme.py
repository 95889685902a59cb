"""The README's configuration block is a working genlib.toml holding the real defaults."""

from __future__ import annotations

import tomllib
from pathlib import Path

from genlib.config import Settings, load_settings

README = Path(__file__).resolve().parent.parent / "README.md"


def readme_toml() -> str:
    text = README.read_text()
    start = text.index("```toml\n") + len("```toml\n")
    return text[start : text.index("```", start)]


def test_the_readme_lists_every_setting_with_its_default(tmp_path: Path) -> None:
    documented = {k: v for table in tomllib.loads(readme_toml()).values() for k, v in table.items()}
    defaults = Settings()
    names = set(Settings._fields) - {"extra"}
    assert set(documented) == names
    for name in names:
        assert documented[name] == getattr(defaults, name), name
    (tmp_path / "genlib.toml").write_text(readme_toml())
    assert load_settings(tmp_path) == defaults
