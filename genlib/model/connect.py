"""Which provider answers: the one `settings.provider` names.

The providers' clients are imported only here, when one is made, so a no-op `doit` never loads them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, TextIO

from genlib.config import Settings

if TYPE_CHECKING:
    from genlib.model.ollama import OllamaLLM
    from genlib.model.openai import OpenAILLM


@contextmanager
def connect(settings: Settings, out: TextIO | None = None) -> Iterator[OllamaLLM | OpenAILLM]:
    """The provider `settings.provider` names; its connections are closed on the way out."""
    llm: OllamaLLM | OpenAILLM
    if settings.provider == "ollama":
        from genlib.model.ollama import OllamaLLM

        llm = OllamaLLM(settings, out)
    else:
        from genlib.model.openai import OpenAILLM

        llm = OpenAILLM(settings, out)
    try:
        yield llm
    finally:
        llm.close()
