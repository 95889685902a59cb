"""What the local model costs on this machine: for each catalogue model installed, the server's start (process,
model load, listening), then one gen-sized request twice: a ~1,000-token prompt and 200 tokens out, then the same
prompt again, read from the prompt cache.

The servers run in a cache folder of their own (the models are linked in), so a person's running server is left
alone. The load average is printed with each row: on a busy machine the figures say more about the machine.

    python bench/local_model.py [--threads N] [--models qwen2.5-coder-0.5b qwen2.5-coder-1.5b]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import tempfile
import time
import urllib.request
from pathlib import Path

from genlib.model import catalogue, local

README = Path(__file__).parents[1] / "README.md"


def ask(state: local.ServerState, prompt: str) -> dict[str, float]:
    body = {
        "messages": [{"role": "user", "content": prompt}],
        "max_tokens": 200,
        "temperature": 0.2,
        "seed": 1,
        "ignore_eos": True,  # always 200 tokens, so rows compare
    }
    request = urllib.request.Request(
        f"{state.base_url}/chat/completions", json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=3600) as response:
        return dict(json.load(response)["timings"])


def row(name: str, threads: int) -> str:
    config = local.ServerConfig(name, str(catalogue.model_path(name)), threads, 4096, 60)
    started = time.monotonic()
    with local.serving(config, io.StringIO()) as state:
        ready = time.monotonic() - started
        prompt = (
            "You write small web apps.\n" + README.read_text()[:3500] + "\nWrite a Flask app with GET and POST /notes."
        )
        cold, warm = ask(state, prompt), ask(state, prompt)
    local.stop()
    return (
        f"{name:20} {threads:7} {ready:8.1f}s {state.load_seconds:6.1f}s {cold['prompt_n']:6.0f} "
        f"{cold['prompt_per_second']:10.1f} {cold['predicted_per_second']:9.1f} {warm['cache_n']:6.0f} "
        f"{warm['predicted_per_second']:9.1f}   {os.getloadavg()[0]:.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=0, help="0: the idle cores, as genlib starts it")
    parser.add_argument("--models", nargs="+", default=list(catalogue.CATALOGUE))
    args = parser.parse_args()
    models = catalogue.models_dir()
    with tempfile.TemporaryDirectory() as cache:
        os.environ["XDG_CACHE_HOME"] = cache
        (Path(cache) / "genlib").mkdir()
        (Path(cache) / "genlib" / "models").symlink_to(models)
        print("model                threads    start   load  prompt prompt t/s   gen t/s cached   gen t/s   load avg")
        for name in args.models:
            if not catalogue.installed(name):
                print(f"{name:20} not installed: genlib model install {name}")
                continue
            print(row(name, args.threads or local.idle_cores()), flush=True)


if __name__ == "__main__":
    main()
