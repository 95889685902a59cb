"""Which provider answers: the one `settings.provider` names, or for "auto" the first that can.

    auto     Ollama when it answers at ollama_host, else the local model when installed, else one error
             naming both ways out
    local    a llama.cpp server genlib runs itself (genlib.model.local), spoken to as an OpenAI-compatible one

The first line of every gen and heal says which server and model answer. The providers' clients are imported
only here, when one is made, so a no-op `doit` never loads them.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, TextIO

from genlib.config import Settings
from genlib.errors import ConfigError, LLMUnavailable
from genlib.model import catalogue

if TYPE_CHECKING:
    from genlib.model.ollama import OllamaLLM
    from genlib.model.openai import OpenAILLM

OLLAMA_PROBE_SECONDS = 2.0


@contextmanager
def connect(settings: Settings, out: TextIO | None = None) -> Iterator[OllamaLLM | OpenAILLM]:
    """The provider that answers; its connections are closed (and the local server let go) on the way out."""
    provider, why = choose(settings)
    if provider == "local":
        with _local(settings, out, why) as served:
            yield served
        return
    llm: OllamaLLM | OpenAILLM = _ollama(settings, out) if provider == "ollama" else _openai(settings, out)
    _say(out, f"model: {llm.model} ({_server(provider, llm.host)})")
    try:
        yield llm
    finally:
        llm.close()


def choose(settings: Settings) -> tuple[str, str]:
    """The provider to use and, for "auto", why (shown on the model line)."""
    if settings.provider != "auto":
        return settings.provider, ""
    if ollama_answers(settings.ollama_host):
        return "ollama", ""
    if catalogue.installed(settings.local_model) and runtime_installed():
        return "local", f"; Ollama does not answer at {settings.ollama_host}"
    raise LLMUnavailable(
        f"cannot reach Ollama at {settings.ollama_host} and no local model is installed; start `ollama serve` "
        f"(or set OLLAMA_HOST), or install one: pip install 'genlib[local]' && "
        f"genlib model install {settings.local_model}"
    )


def ollama_answers(host: str) -> bool:
    import httpx

    try:
        return httpx.get(f"{host.rstrip('/')}/api/version", timeout=OLLAMA_PROBE_SECONDS).status_code == 200
    except httpx.HTTPError:
        return False


def runtime_installed() -> bool:
    """xllamacpp can be imported (found, not imported: it loads llama.cpp)."""
    return importlib.util.find_spec("xllamacpp") is not None


@contextmanager
def _local(settings: Settings, out: TextIO | None, why: str) -> Iterator[OpenAILLM]:
    import sys

    from genlib.model import local

    if not runtime_installed():
        raise ConfigError("provider=local needs llama.cpp's runtime: pip install 'genlib[local]'")
    say = out or sys.stdout
    config = local.config_for(settings)
    _say(out, f"model: {config.name} (local llama.cpp, {local.threads(local.threads_for(config))}{why})")
    catalogue.ensure_installed(settings.local_model, say)
    with local.serving(config, say) as state:
        served = settings._replace(
            provider="openai", base_url=state.base_url, model=config.name, api_key_env="", llama_samplers="on"
        )
        llm = _openai(served, out)
        try:
            yield llm
        except LLMUnavailable as exc:
            if local.running() is not None:
                raise
            # not "start llama-server or set base_url": genlib started this one, and it is gone
            raise LLMUnavailable(f"{exc} (the local model server stopped: see {local.log_path()})") from exc
        finally:
            llm.close()


def _ollama(settings: Settings, out: TextIO | None) -> OllamaLLM:
    from genlib.model.ollama import OllamaLLM

    return OllamaLLM(settings, out)


def _openai(settings: Settings, out: TextIO | None) -> OpenAILLM:
    from genlib.model.openai import OpenAILLM

    return OpenAILLM(settings, out)


def _server(provider: str, host: str) -> str:
    return f"Ollama at {host}" if provider == "ollama" else f"OpenAI-compatible server at {host}"


def _say(out: TextIO | None, line: str) -> None:
    if out is not None:
        out.write(line + "\n")
        out.flush()
