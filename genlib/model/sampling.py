"""What a server is asked to sample with, in the form each server takes, and how a retry after a stopped answer
differs (issue 22: a small model loops; llama.cpp's DRY sampler and a mild repeat penalty end most loops).

    Sampling.of(settings, again)   temperature, seed and the anti-repetition settings; `again` > 0 on a retry
                                   (a loop, an answer over its wall-clock budget, a refused answer): another
                                   seed, warmer, stronger
    ollama_options(s)              Ollama's options (it has no DRY): repeat_penalty, repeat_last_n
    llama_fields(s)                llama.cpp's own fields, beyond OpenAI's: repeat_penalty, repeat_last_n and DRY
    openai_fields(s)               what any OpenAI-compatible API takes (a strict hosted one refuses unknown
                                   fields): temperature, seed, and on a retry frequency_penalty
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from genlib.config import Settings

# a retry after a stopped answer: at least this warm, and these penalties at least (a loop is most likely again
# with the same seed and the same sampler; the first ask keeps the person's settings)
RETRY_TEMPERATURE = 0.7
RETRY_REPEAT_PENALTY = 1.15
RETRY_REPEAT_LAST_N = 256
RETRY_DRY_MULTIPLIER = 1.2
RETRY_FREQUENCY_PENALTY = 0.3  # servers with no DRY nor repeat_penalty (OpenAI's API, vLLM's default route)


@dataclass(frozen=True)
class Sampling:
    temperature: float
    seed: int
    repeat_penalty: float
    repeat_last_n: int
    dry_multiplier: float
    dry_base: float
    dry_allowed_length: int
    frequency_penalty: float = 0.0

    @classmethod
    def of(cls, settings: Settings, again: int = 0) -> Sampling:
        s = settings
        first = cls(
            s.temperature, s.seed, s.repeat_penalty, s.repeat_last_n, s.dry_multiplier, s.dry_base, s.dry_allowed_length
        )
        if not again:
            return first
        return replace(
            first,
            seed=s.seed + again,
            temperature=max(first.temperature, RETRY_TEMPERATURE),
            repeat_penalty=max(first.repeat_penalty, RETRY_REPEAT_PENALTY),
            repeat_last_n=max(first.repeat_last_n, RETRY_REPEAT_LAST_N),
            dry_multiplier=max(first.dry_multiplier, RETRY_DRY_MULTIPLIER),
            frequency_penalty=RETRY_FREQUENCY_PENALTY,
        )


Fields = dict[str, float | int]


def ollama_options(s: Sampling) -> Fields:
    return {
        "temperature": s.temperature,
        "seed": s.seed,
        "repeat_penalty": s.repeat_penalty,
        "repeat_last_n": s.repeat_last_n,
    }


def openai_fields(s: Sampling) -> Fields:
    fields: Fields = {"temperature": s.temperature, "seed": s.seed}
    if s.frequency_penalty:
        fields["frequency_penalty"] = s.frequency_penalty
    return fields


def llama_fields(s: Sampling) -> Fields:
    """llama.cpp's server: DRY and its repeat penalty instead of frequency_penalty (which would also punish code
    for using a name again)."""
    return {
        "temperature": s.temperature,
        "seed": s.seed,
        "repeat_penalty": s.repeat_penalty,
        "repeat_last_n": s.repeat_last_n,
        "dry_multiplier": s.dry_multiplier,
        "dry_base": s.dry_base,
        "dry_allowed_length": s.dry_allowed_length,
    }
