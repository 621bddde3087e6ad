"""HubSpot webhook signatures: v3 (HMAC-SHA256, base64, over method + URI + body + timestamp, valid for
5 minutes), and v2 / v1 (SHA-256 hex of secret + [method + URI +] body) for apps configured that way.
Comparisons are constant-time; any of an account's secrets may match (rotation)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Iterable, Mapping

MAX_AGE_MS = 5 * 60 * 1000
# HubSpot decodes these before signing v3 (its docs: "decode the URL-encoded characters").
_V3_DECODE = {"%3A": ":", "%2F": "/", "%3F": "?", "%40": "@", "%21": "!", "%24": "$", "%27": "'", "%28": "(",
              "%29": ")", "%2A": "*", "%2C": ",", "%3B": ";"}


class SignatureError(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason, self.detail = reason, detail


def _v3_uri(uri: str) -> str:
    for encoded, char in _V3_DECODE.items():
        uri = uri.replace(encoded, char).replace(encoded.lower(), char)
    return uri


def expected(version: str, secret: str, method: str, uri: str, body: bytes, timestamp: str = "") -> str:
    if version == "v1":
        return hashlib.sha256(secret.encode() + body).hexdigest()
    if version == "v2":
        return hashlib.sha256((secret + method + uri).encode() + body).hexdigest()
    mac = hmac.new(secret.encode(), (method + _v3_uri(uri)).encode() + body + timestamp.encode(), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


def digits(value: object, longest: int = 20) -> int | None:
    """An id or epoch-ms timestamp from untrusted input: ASCII digits only, bounded length, else None."""
    text = str(value) if isinstance(value, (int, str)) and not isinstance(value, bool) else ""
    return int(text) if 0 < len(text) <= longest and text.isascii() and text.isdigit() else None


def match(headers: Mapping[str, str], method: str, uri: str, body: bytes, secrets: Iterable[str],
          now_ms: int | None = None) -> tuple[str, str]:
    """Return (signature version, the secret that matched), or raise SignatureError with the reason."""
    secrets = [s for s in secrets if s]
    if not secrets:
        raise SignatureError("unknown_account", "No signing secret is stored for this portal.")
    v3 = headers.get("X-HubSpot-Signature-v3")
    if v3:
        stamp = headers.get("X-HubSpot-Request-Timestamp", "")
        stamp_ms = digits(stamp, 15)
        if stamp_ms is None:
            raise SignatureError("missing_timestamp", "A v3 signature needs X-HubSpot-Request-Timestamp in epoch ms.")
        age = (now_ms if now_ms is not None else int(time.time() * 1000)) - stamp_ms
        if abs(age) > MAX_AGE_MS:
            raise SignatureError("stale_timestamp", f"The timestamp is {age // 1000} s off (limit 300 s): a replay?")
        for s in secrets:
            if hmac.compare_digest(expected("v3", s, method, uri, body, stamp).encode(), v3.encode()):
                return "v3", s
        raise SignatureError("bad_signature", "The v3 signature does not match.")
    signature = headers.get("X-HubSpot-Signature")
    version = headers.get("X-HubSpot-Signature-Version", "v1")
    if not signature:
        raise SignatureError("missing_signature", "No HubSpot signature header.")
    if version not in ("v1", "v2"):
        raise SignatureError("bad_version", "Unknown signature version.")
    for s in secrets:
        if hmac.compare_digest(expected(version, s, method, uri, body).encode(), signature.encode()):
            return version, s
    raise SignatureError("bad_signature", f"The {version} signature does not match.")
