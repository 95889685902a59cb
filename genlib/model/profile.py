"""Which prompts a model gets: `small` or `large` (setting `profile`; `auto`, the default, goes by the model's size).

    settle(settings, llm)   the settings with `profile` decided: the setting, or for `auto` small under SMALL_BELOW
                            parameters (what the server says: Ollama's parameter_size, llama.cpp's n_params; else
                            a size in the model's name, "qwen2.5-coder-1.5b"), large when nothing says
    template(settings, n)   the prompt template a profile reads: templates/small/<n> for small

Why two: a 1.5B model given the large prompts (14 KB of rules and an 8 KB schema, no example) copied the rules into
its plan and looped; one short worked example, the schema enforced by the server instead of printed, known-good
starting files (templates/starters/) and one file per heal round made it land apps. Large models keep the long
prompts, which every scripted test holds to.
"""

from __future__ import annotations

import re

from genlib.config import Settings

SMALL_BELOW = 4e9  # parameters: the 0.5B-3B coders people run on a laptop's CPU
SMALL = "small"
_SIZE = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)\s*([KMBT])\b", re.IGNORECASE)
_UNITS = {"k": 1e3, "m": 1e6, "b": 1e9, "t": 1e12}
_IN_NAME = re.compile(r"(?:^|[-_:/ ])(\d+(?:\.\d+)?)b(?:$|[-_:. ])", re.IGNORECASE)


def parse_size(text: str) -> float | None:
    """ "1.5B" -> 1.5e9, "494.03M" -> 4.9403e8 (Ollama's parameter_size); None when it is not a size."""
    found = _SIZE.search(text.strip())
    return float(found.group(1)) * _UNITS[found.group(2).lower()] if found else None


def size_in_name(model: str) -> float | None:
    """The size a model's name carries ("qwen2.5-coder:1.5b", "Qwen2.5-Coder-7B-Instruct"), or None."""
    found = _IN_NAME.search(model)
    return float(found.group(1)) * 1e9 if found else None


def parameters(llm: object) -> float | None:
    """What the server says of the model's size, else its name; None when neither does."""
    ask = getattr(llm, "parameters", None)  # a provider that cannot tell (or a test's fake) has no such method
    said = ask() if callable(ask) else None
    return said or size_in_name(str(getattr(llm, "model", "")))


def settle(settings: Settings, llm: object) -> tuple[Settings, str]:
    """`settings` with profile small or large (small always asks in steps: a plan, then each file), and the line
    gen and heal print about it."""
    if settings.profile != "auto":
        profile, why = settings.profile, "the profile setting"
    else:
        count = parameters(llm)
        profile = SMALL if count is not None and count < SMALL_BELOW else "large"
        why = f"{count / 1e9:.1f}B parameters" if count else "the model's size is unknown"
    other = "large" if profile == SMALL else SMALL
    line = f"prompts: {profile} ({why}; profile={other} for the {other} ones)"
    return settings._replace(profile=profile, steps=settings.steps or profile == SMALL), line


def template(settings: Settings, name: str) -> str:
    return f"{SMALL}/{name}" if settings.profile == SMALL else name
