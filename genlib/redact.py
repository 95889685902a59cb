"""Secret values out of untrusted text, evidence left alone.

    redact(text, known=(db_password,)) -> text with each secret value replaced by [REDACTED]

What counts as a secret value, most specific first:

- a literal the caller knows is secret (`known`: a workspace's database password, …);
- a PEM private key block;
- the credentials of a URL (`postgres://user:pass@db` -> `postgres://[REDACTED]@db`);
- the value of a credential header (`Authorization: Bearer x`, `Cookie: …`, `X-Api-Key: …`);
- the value after a secret *name* (`DB_PASSWORD=x`, `"apiKey": "x"`, `client_secret: x`), where the
  name is one whose words include password/secret/token/credentials (or `api key`, `private key`, …);
  a word merely *containing* such letters (`KeyError`, `author`, `keys`) is not a name;
- well-known token shapes (JWT, GitHub/Slack/AWS/Google/OpenAI/Stripe keys), long hex runs, and long
  base64-like runs that mix letters and digits.

A redaction that erases evidence costs a heal round, so ordinary log and exception lines must come through
unchanged: tests/test_redact.py holds a corpus of them beside the secret shapes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

REDACTED = "[REDACTED]"
MIN_KNOWN = 4  # a shorter "secret" would erase ordinary words everywhere

# words that make a name a secret's name (the name is split at _ . - and camelCase)
_SECRET_WORDS = frozenset(
    {"password", "passwd", "pwd", "secret", "token", "credential", "credentials", "passphrase", "apikey"}
)
# `key` is a secret only after one of these (API_KEY, private_key, SECRET_KEY), not `sort_key`, `missing key`
_KEY_KINDS = frozenset(
    {"api", "secret", "private", "access", "signing", "encryption", "master", "client", "app", "auth", "license"}
)
_TOKEN_CHARS = r"[A-Za-z0-9._~+/=-]"

_PEM = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|\Z)", re.DOTALL)
_URL_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s:@]+:[^/\s@]+@")
_HEADER = re.compile(
    r"(?im)\b((?:proxy-)?authorization|cookie|set-cookie|x-api-key|x-auth-token)(\"?\s*[:=]\s*\"?)"
    r"((?:bearer|basic|token|digest)\s+)?([^\s\"',;]+)"
)
# `Bearer x` without the header name in front (a curl line, a client's debug output)
_BEARER = re.compile(rf"\b(Bearer|Basic)\s+(?=\S*[0-9._~+/=-]){_TOKEN_CHARS}{{8,}}")
# NAME sep VALUE: the name as an identifier (optionally quoted), then = or :, then a quoted or bare value
_ASSIGNMENT = re.compile(
    r"""(?P<name>(?<![\w.-])[A-Za-z][A-Za-z0-9_.-]*)(?P<sep>["']?\s*[=:]\s*)"""
    r"""(?:(?P<quote>["'])(?P<quoted>[^"'\n]*)(?P=quote)|(?P<bare>[^\s"',;}\]\)]+))"""
)
_SHAPES = re.compile(
    r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+"  # JWT
    r"|\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})"  # GitHub
    r"|\bxox[abprs]-[A-Za-z0-9-]{10,}"  # Slack
    r"|\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"  # AWS access key id
    r"|\bAIza[0-9A-Za-z_-]{35}"  # Google API key
    r"|\b(?:sk|pk|rk)_(?:live|test)_[A-Za-z0-9]{10,}"  # Stripe
    r"|\bsk-[A-Za-z0-9_-]{20,}"  # OpenAI-style
    r"|\b[0-9a-fA-F]{32,}\b"  # hex keys (also long hashes: no loss to a heal)
)
_LONG_RUN = re.compile(r"(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/_-]{40,}={0,2}")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def redact(text: str, known: Iterable[str] = ()) -> str:
    """`text` with every secret value replaced by [REDACTED]; everything else unchanged."""
    for secret in sorted({k for k in known if len(k) >= MIN_KNOWN}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    text = _PEM.sub(REDACTED, text)
    text = _URL_CREDENTIALS.sub(rf"\g<1>{REDACTED}@", text)
    text = _HEADER.sub(_header_value, text)
    text = _BEARER.sub(rf"\g<1> {REDACTED}", text)
    text = _assignments(text)
    text = _SHAPES.sub(REDACTED, text)
    return _LONG_RUN.sub(_keylike, text)


def is_secret_name(name: str) -> bool:
    """`DB_PASSWORD`, `apiKey`, `client-secret`, `auth.token`: yes; `KeyError`, `author`, `sort_key`: no."""
    words = [w.lower() for w in re.split(r"[_.\-]+", _CAMEL.sub("_", name)) if w]
    if any(w in _SECRET_WORDS for w in words):
        return True
    return any(w == "key" and i > 0 and words[i - 1] in _KEY_KINDS for i, w in enumerate(words))


def _header_value(match: re.Match[str]) -> str:
    if match.group(4) == REDACTED:
        return match.group(0)
    return f"{match.group(1)}{match.group(2)}{match.group(3) or ''}{REDACTED}"


def _assignments(text: str) -> str:
    """Each secret name's value replaced; after a name that is not secret, the scan resumes at its value
    (which may itself be `DB_PASSWORD=x`, as in `env: DB_PASSWORD=x`)."""
    out: list[str] = []
    pos = 0
    while match := _ASSIGNMENT.search(text, pos):
        value = match.group("quoted") if match.group("quote") else match.group("bare")
        if not is_secret_name(match.group("name")) or not value or value.startswith("[REDACTED"):
            out.append(text[pos : match.end("sep")])
            pos = match.end("sep")
            continue
        quote = match.group("quote") or ""
        out.append(f"{text[pos : match.end('sep')]}{quote}{REDACTED}{quote}")
        pos = match.end()
    out.append(text[pos:])
    return "".join(out)


def _keylike(match: re.Match[str]) -> str:
    """A long run mixing letters and digits looks like a key (base64, a JWT part); a path has many '/'."""
    run = match.group(0)
    mixed = any(c.isdigit() for c in run) and any(c.isalpha() for c in run)
    return REDACTED if mixed and run.count("/") <= 2 else run
