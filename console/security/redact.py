"""Redaction of secrets and sensitive values before anything is logged, stored as a summary or shown."""
from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

MASK = "[redacted]"
# Substrings that mark a key as secret wherever they appear (accessToken, client_secret…),
# and short words that only count as a whole segment (ssn, not "business").
SENSITIVE_KEY = re.compile(
    r"pass(word|wd)|secret|token|authoriz|api[_-]?key|credential|cookie|signature|private[_-]?key"
    r"|(^|[_.\-])(ssn|sin|iban|pin|cvv)($|[_.\-])",
    re.IGNORECASE,
)
BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}")
LONG_TOKEN = re.compile(r"\b(pat-[a-z0-9-]{8,}|[A-Za-z0-9_-]{32,})\b")


def redact_text(text: str) -> str:
    """Mask bearer credentials and long token-like strings inside free text."""
    text = BEARER.sub(lambda m: f"{m.group(1)} {MASK}", text)
    return LONG_TOKEN.sub(MASK, text)


def redact(value: Any, sensitive_keys: Iterable[str] = ()) -> Any:
    """Return a copy of `value` with secret-looking keys and listed sensitive keys masked."""
    extra = {k.lower() for k in sensitive_keys}
    if isinstance(value, dict):
        return {
            k: MASK if (SENSITIVE_KEY.search(str(k)) or str(k).lower() in extra)
            else redact(v, extra)
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [redact(v, extra) for v in value]
    if isinstance(value, str):
        return redact_text(value)
    return value


def drop_keys(value: dict[str, Any], keys: Iterable[str]) -> dict[str, Any]:
    """Remove keys entirely (sensitive fields must not even appear masked in raw events)."""
    drop = {k.lower() for k in keys}
    return {k: v for k, v in value.items() if k.lower() not in drop}
