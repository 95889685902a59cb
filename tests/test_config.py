from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from genlib.config import load_settings, remember, user_config_path
from genlib.errors import ConfigError


def test_layers_rise_from_user_file_to_workspace_to_env_to_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = user_config_path()
    user.parent.mkdir(parents=True)
    user.write_text('[runtime]\nimage_python = "genlib/base:bookworm"\nport_base = 20000\n[model]\nmodel = "a"\n')
    (tmp_path / "genlib.toml").write_text('[model]\nmodel = "b"\ntemperature = 0.7\n')
    assert load_settings(tmp_path).model == "b"
    assert load_settings(tmp_path).image_python == "genlib/base:bookworm"
    monkeypatch.setenv("GENLIB_MODEL", "c")
    monkeypatch.setenv("OLLAMA_HOST", "10.0.0.1:11434")
    settings = load_settings(tmp_path)
    assert (settings.model, settings.temperature, settings.port_base) == ("c", 0.7, 20000)
    assert settings.ollama_host == "http://10.0.0.1:11434"
    assert load_settings(tmp_path, {"model": "d", "desc": "ignored"}).model == "d"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[model\n", "fix the TOML syntax"),
        ("[model]\nmodle = 'x'\n", "unknown setting 'modle'"),
        ("[runtime]\nport_base = 'high'\n", "port_base='high' is not a int"),
    ],
)
def test_bad_config_is_one_clear_error(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "genlib.toml").write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_settings(tmp_path)


def test_user_config_follows_xdg(tmp_path: Path) -> None:
    assert user_config_path() == Path(os.environ["XDG_CONFIG_HOME"]) / "genlib" / "genlib.toml"


def test_remember_merges_into_the_user_file(tmp_path: Path) -> None:
    user = user_config_path()
    user.parent.mkdir(parents=True)
    user.write_text("[model]\nmodel = 'kept'\n")
    remember({"image_python": "genlib/base:bookworm", "port_base": 20000})
    settings = load_settings(tmp_path)
    assert (settings.model, settings.image_python, settings.port_base) == ("kept", "genlib/base:bookworm", 20000)


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"provider": "anthropic"}, "setting provider='anthropic' is not one of auto, ollama, openai, local"),
        ({"provider": "openai"}, "provider=openai needs base_url= (GENLIB_BASE_URL) with a scheme"),
        ({"provider": "openai", "base_url": "localhost:8080/v1"}, "got 'localhost:8080/v1'"),
        ({"api_key_env": "sk-proj-abc123"}, "api_key_env names an environment variable"),
    ],
)
def test_provider_settings_are_checked(tmp_path: Path, variables: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)) as caught:
        load_settings(tmp_path, variables)
    assert "sk-proj" not in str(caught.value)  # a key pasted in by mistake is not repeated


def test_provider_openai_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GENLIB_PROVIDER", "openai")
    monkeypatch.setenv("GENLIB_BASE_URL", "http://127.0.0.1:8080/v1")
    settings = load_settings(tmp_path)
    assert (settings.provider, settings.base_url) == ("openai", "http://127.0.0.1:8080/v1")


def test_booleans_read_as_people_write_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for text, value in (("0", False), ("false", False), ("yes", True), ("1", True)):
        monkeypatch.setenv("GENLIB_THINK", text)
        assert load_settings(tmp_path).think is value
    with pytest.raises(ConfigError, match="setting think='maybe' is not a bool"):
        load_settings(tmp_path, {"think": "maybe"})
