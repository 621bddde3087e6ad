"""The provider's property catalogue for a connection, fetched over HTTP and kept for a minute so a
mapping page with several sections does not call the provider once per section."""
from __future__ import annotations

import threading
import time

from ..models import IntegrationConnection
from ..sync.provider import open_session

TTL_SECONDS = 60.0
_cache: dict[tuple[int, str], tuple[float, list[dict]]] = {}
_lock = threading.Lock()


def properties(conn: IntegrationConnection, object_type: str, fresh: bool = False) -> list[dict]:
    """Raises ConnectorError when the provider cannot be asked (no credentials, refused, down)."""
    key = (conn.account_id or 0, object_type)
    with _lock:
        hit = _cache.get(key)
    if hit and not fresh and time.monotonic() - hit[0] < TTL_SECONDS:
        return hit[1]
    props = open_session(conn, timeout=10.0, max_attempts=2).properties(object_type)
    with _lock:
        _cache[key] = (time.monotonic(), props)
    return props


def forget(conn: IntegrationConnection) -> None:
    with _lock:
        for key in [k for k in _cache if k[0] == (conn.account_id or 0)]:
            del _cache[key]


def stages(conn: IntegrationConnection) -> list[tuple[str, str, str]]:
    """Every deal stage the provider has: (stage id, label, open|won|lost), cached like the properties."""
    key = (conn.account_id or 0, "_stages")
    with _lock:
        hit = _cache.get(key)
    if hit and time.monotonic() - hit[0] < TTL_SECONDS:
        return hit[1]
    ref = open_session(conn, timeout=10.0, max_attempts=2).reference()
    rows = [(sid, label, ref.stage_states.get(sid, "open")) for sid, label in ref.stages.items()]
    with _lock:
        _cache[key] = (time.monotonic(), rows)
    return rows
