"""Every few seconds, count the notes the API holds."""

import json
import os
import time
import urllib.request

API = os.environ.get("NOTES_API_URL", "http://notes-api:3000")


def digest() -> int:
    with urllib.request.urlopen(f"{API}/notes", timeout=3) as resp:
        return len(json.load(resp))


if __name__ == "__main__":
    while True:
        try:
            print(f"digest ok: {digest()} notes", flush=True)
        except OSError as exc:
            print(f"digest waiting for api: {exc}", flush=True)
        time.sleep(3)
