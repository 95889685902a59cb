"""Workspace settings: defaults < user genlib.toml < workspace genlib.toml < environment < doit variables.

The user file ($XDG_CONFIG_HOME/genlib/genlib.toml, else ~/.config/genlib/genlib.toml)
holds what belongs to the machine, such as the offline base image; the workspace
file what belongs to the app.

Every knob has one name used in all four places: `model` in genlib.toml's
[model] table, GENLIB_MODEL in the environment, `model=` on the doit line.
"""

# No `from __future__ import annotations` here, unlike the rest of genlib: Settings is a NamedTuple, which
# would turn each of its ~70 string annotations into a ForwardRef compiled at every import (a no-op `doit` too).

import json
import os
import re
from pathlib import Path
from typing import Any, NamedTuple

from genlib.errors import ConfigError
from genlib.fsutil import atomic_write_text

CONFIG_FILE = "genlib.toml"

ONLINE_IMAGES = {
    "python": "python:3.11-slim",
    "node": "node:20-slim",
    "static": "python:3.11-slim",
    "postgres": "postgres:16-bookworm",
    "redis": "redis:7-bookworm",
}
OFFLINE_IMAGE = "genlib/base:bookworm"
DEPS_REPOSITORY = "genlib/deps"  # genlib.stack.images tags each dependency set's image genlib/deps:<runtime>-<hash>
# Built on OFFLINE_IMAGE by `genlib base-image` from Debian's packages (genlib/stack/dataimages/).
OFFLINE_DATA_IMAGES = {"postgres": "genlib/postgres:bookworm", "redis": "genlib/redis:bookworm"}

# Where Debian, Ubuntu, Alpine (first) and Fedora/RHEL keep the CA bundle the host trusts.
SYSTEM_CA_BUNDLES = ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt")


def offline_build_image(image: str = OFFLINE_IMAGE) -> str:
    """The offline image's build stage twin: the same system plus pip, venv and npm (`genlib base-image`)."""
    return f"{image}-build"


class Settings(NamedTuple):
    """One run's settings, merged by load_settings; `settings._replace(model=...)` makes a changed copy.

    A NamedTuple, not a frozen dataclass: every `doit` defines this class, a no-op too, and a dataclass of
    ~70 fields compiles its generated methods (~19 KB of source) each time, the largest part of genlib's
    start-up; a NamedTuple's are generic."""

    # the model
    # "auto": Ollama when it answers at ollama_host, else the local model when installed; "ollama"; "openai": any
    # OpenAI-compatible server (llama.cpp, vLLM, a hosted API); "local": a llama.cpp server genlib runs itself
    provider: str = "auto"
    model: str = "qwen2.5-coder:7b"
    ollama_host: str = "http://127.0.0.1:11434"
    base_url: str = ""  # provider openai: the API root, e.g. http://127.0.0.1:8080/v1
    api_key_env: str = ""  # provider openai: the NAME of the environment variable holding the key
    # provider local (docs/local-model.md): a catalogue name (installed on first use) or a path to a GGUF file
    local_model: str = "qwen2.5-coder-0.5b"
    local_threads: int = 0  # 0: the cores other work leaves idle when the server starts (at least 1)
    local_ctx: int = 16384  # the server's context window, in tokens
    local_idle: int = 900  # seconds with no run connected, then the local server exits
    temperature: float = 0.2
    seed: int = 0
    timeout: float = 600.0
    retries: int = 2
    num_ctx_max: int = 32768
    num_predict: int = 8192
    gen_budget_chars: int = 48000  # every gen request (the prompt, the plan, each file) within it: ~13.7k tokens
    steps: bool = True  # gen and heal ask for a plan, then each file as plain text (false: one JSON answer)
    think: bool = False  # reasoning models: ask for thinking (kept in llm_output.json, never in a file)
    keep_alive: str = ""  # Ollama: how long the model stays loaded after a request ("30m", "-1"); "" its default
    # what keeps an answer from running away (genlib.model.sampling, .watch, .repetition)
    repeat_penalty: float = 1.05  # Ollama and llama.cpp: a token used in the last repeat_last_n costs a little
    repeat_last_n: int = 64
    dry_multiplier: float = 0.8  # llama.cpp's DRY sampler: a sequence repeated beyond dry_allowed_length tokens
    dry_base: float = 1.75  # is penalized more, the longer it grows (0 multiplier: off)
    dry_allowed_length: int = 3
    llama_samplers: str = "auto"  # llama.cpp's own fields (DRY, repeat_penalty): auto (GET /props answers), on, off
    loop_guard: bool = True  # stop a streamed answer that keeps repeating itself, and ask again
    plan_tokens: int = 2048  # each kind of request: the tokens it may take (the room asked for) and its wall clock
    plan_seconds: float = 900.0
    header_tokens: int = 1024  # a heal's header (the patch's plan)
    header_seconds: float = 600.0
    file_tokens: int = 4096  # one file of a gen or heal in steps (a longer one is continued)
    file_seconds: float = 900.0
    profile: str = "auto"  # prompts: "small" (short, a worked example, starters), "large", or "auto" by size
    # the runtime
    port_base: int = 0  # 0: each workspace picks free host ports of its own (genlib.stack.ports)
    image_python: str = ONLINE_IMAGES["python"]
    image_node: str = ONLINE_IMAGES["node"]
    image_static: str = ONLINE_IMAGES["static"]
    image_postgres: str = ONLINE_IMAGES["postgres"]
    image_redis: str = ONLINE_IMAGES["redis"]
    memory: str = "256m"
    cpus: float = 0.5
    up_timeout: int = 120
    browser: str = ""  # Chromium for page scenarios: a path, or "" to find chromium on PATH
    allow_skipped: int = 0  # 1: a run with skipped scenarios (a page without a browser) may still be green
    browser_allow: str = ""  # hosts a page may reach besides the stack, comma-separated: "cdn.example.org,host:8443"
    # building a component's dependencies (requirements.txt, package.json) into its image
    build_image_python: str = ""  # the build stage's image; "" = image_python (it must have pip and venv)
    build_image_node: str = ""  # "" = image_node (it must have npm)
    pip_index_url: str = ""  # "" = pip's default (PyPI)
    pip_extra_index_url: str = ""
    npm_registry: str = ""  # "" = npm's default (registry.npmjs.org)
    ca_bundle: str = "system"  # a CA file builds trust; "system" = the host's bundle when it has one; "" = none
    build_timeout: int = 900
    # releasing and deploying (genlib.deploy)
    registry: str = ""  # where `doit release push=1` pushes: host:port/prefix ("" = the images stay here)
    replicas: str = "1"  # per program service: "2", "notes-api=2", "3,notes-api=2" (a default, then exceptions)
    swarm_mesh: bool = True  # false: for engines without IPVS (no routing mesh): host-mode ports, DNS round robin
    swarm_port_base: int = 30000  # the routing mesh publishes each service at this + a hash of its name
    k8s_version: str = "1.30"  # the Kubernetes version whose schemas check deploy/k8s/
    # heal
    max_iter: int = 3
    prompt_budget_chars: int = 20000  # ~5.7k tokens at 3.5 chars/token: the heal target is <= 6k
    token_budget: int = 0
    # what an answer may hold
    max_file_bytes: int = 256 * 1024
    max_files: int = 200
    max_components: int = 30  # components in the app an answer would produce
    max_text_chars: int = 4000  # any other string of an answer: a description, a command argument, a scenario field

    def image_for(self, runtime: str) -> str:
        return str(getattr(self, f"image_{runtime}"))

    def build_image_for(self, runtime: str) -> str:
        return str(getattr(self, f"build_image_{runtime}")) or self.image_for(runtime)

    def ca_bundle_path(self) -> Path | None:
        """The CA file passed into builds; None for none. A named file that is missing is a ConfigError."""
        if self.ca_bundle == "system":
            return next((Path(p) for p in SYSTEM_CA_BUNDLES if Path(p).is_file()), None)
        if not self.ca_bundle:
            return None
        path = Path(self.ca_bundle).expanduser()
        if not path.is_file():
            raise ConfigError(f"ca_bundle {self.ca_bundle!r} is not a file; set it to a CA file, 'system' or ''")
        return path


_ENV_ALIASES = {"ollama_host": "OLLAMA_HOST"}
PROVIDERS = ("auto", "ollama", "openai", "local")
LLAMA_SAMPLERS = ("auto", "on", "off")
PROFILES = ("auto", "small", "large")
_BOOLEANS = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}


def load_settings(root: Path, variables: dict[str, str] | None = None) -> Settings:
    """Merge the layers; a value of the wrong type is one clear ConfigError."""
    values: dict[str, object] = {}
    values.update(_from_file(user_config_path()))
    values.update(_from_file(root / CONFIG_FILE))
    values.update(_from_env())
    values.update({k: v for k, v in (variables or {}).items() if k in _field_names()})
    return _coerce(values)


def user_config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "genlib" / CONFIG_FILE


def remember(values: dict[str, str | int | float]) -> Path:
    """Merge `values` into the user genlib.toml (machine settings such as the offline image)."""
    path = user_config_path()
    merged = {**_from_file(path), **values}
    lines = ["# genlib's settings for this machine; `genlib base-image --use` writes here. Edit freely.", "[machine]"]
    lines += [f"{name} = {json.dumps(value)}" for name, value in sorted(merged.items())]
    atomic_write_text(path, "\n".join(lines) + "\n")
    return path


def _field_names() -> set[str]:
    return set(Settings._fields)


def _from_file(path: Path) -> dict[str, object]:
    if not path.exists():
        return {}
    import tomllib  # here: most workspaces have no genlib.toml, and a no-op `doit` should not load a parser

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}; fix the TOML syntax") from exc
    flat: dict[str, object] = {}
    for table in data.values():  # [model], [runtime], [heal], [limits] are only grouping
        if isinstance(table, dict):
            flat.update(table)
    unknown = set(flat) - _field_names()
    if unknown:
        raise ConfigError(f"{path}: unknown setting {sorted(unknown)[0]!r}; see README 'Configuration'")
    return flat


def _from_env() -> dict[str, object]:
    found: dict[str, object] = {}
    for name in _field_names():
        env_name = _ENV_ALIASES.get(name, f"GENLIB_{name.upper()}")
        if os.environ.get(env_name):
            found[name] = os.environ[env_name]
    return found


def _coerce(values: dict[str, object]) -> Settings:
    defaults = Settings()
    converted: dict[str, Any] = {}  # each value of its field's type
    for name, raw in values.items():
        kind = type(getattr(defaults, name))
        if kind is bool and isinstance(raw, str):
            raw = _BOOLEANS.get(raw.strip().lower(), raw)
        if kind is bool and not isinstance(raw, bool):
            raise ConfigError(f"setting {name}={raw!r} is not a bool (true/false, 1/0)")
        try:
            converted[name] = kind(raw)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"setting {name}={raw!r} is not a {kind.__name__}") from exc
    host = converted.get("ollama_host")
    if isinstance(host, str) and host and "://" not in host:
        converted["ollama_host"] = f"http://{host}"
    settings = defaults._replace(**converted)
    _check_provider(settings)
    return settings


def _check_provider(settings: Settings) -> None:
    if settings.llama_samplers not in LLAMA_SAMPLERS:
        raise ConfigError(
            f"setting llama_samplers={settings.llama_samplers!r} is not one of {', '.join(LLAMA_SAMPLERS)}"
        )
    if settings.profile not in PROFILES:
        raise ConfigError(f"setting profile={settings.profile!r} is not one of {', '.join(PROFILES)}")
    if settings.provider not in PROVIDERS:
        raise ConfigError(f"setting provider={settings.provider!r} is not one of {', '.join(PROVIDERS)}")
    if settings.provider == "openai" and "://" not in settings.base_url:
        raise ConfigError(
            f"provider=openai needs base_url= (GENLIB_BASE_URL) with a scheme, e.g. http://127.0.0.1:8080/v1; "
            f"got {settings.base_url!r}"
        )
    if settings.api_key_env and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", settings.api_key_env):
        raise ConfigError(
            "setting api_key_env names an environment variable (such as OPENAI_API_KEY), never the key itself"
        )
