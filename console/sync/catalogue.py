"""The provider's property catalogue for a connection, fetched over HTTP and kept for a minute so a
mapping page with several sections does not call the provider once per section."""
from __future__ import annotations

import threading
import time

from ..connectors.base import ConnectorError
from ..mapping.inference import looks_like
from ..mapping.mapper import Reference
from ..models import IntegrationConnection
from .provider import open_session

TTL_SECONDS = 60.0
_cache: dict[tuple[str, str], tuple[float, list[dict]]] = {}
_ref_cache: dict[tuple[str, str], tuple[float, Reference]] = {}
_lock = threading.Lock()


def _account_key(conn: IntegrationConnection) -> str:
    """The account and where it points: a changed base URL never serves the old provider's answers."""
    account = conn.account
    return f"{conn.account_id or 0}@{account.base_url if account else ''}"


def properties(conn: IntegrationConnection, object_type: str, fresh: bool = False) -> list[dict]:
    """Raises ConnectorError when the provider cannot be asked (no credentials, refused, down)."""
    key = (_account_key(conn), object_type)
    with _lock:
        hit = _cache.get(key)
    if hit and not fresh and time.monotonic() - hit[0] < TTL_SECONDS:
        return hit[1]
    props = open_session(conn, timeout=10.0, max_attempts=2).properties(object_type)
    with _lock:
        _cache[key] = (time.monotonic(), props)
    return props


def reference(conn: IntegrationConnection) -> Reference:
    """Owners and pipeline stages, cached like the properties: the webhook normalizer needs them on
    every pass, and they change rarely (an unknown owner fails the record, which retries)."""
    key = (_account_key(conn), "_reference")
    with _lock:
        hit = _ref_cache.get(key)
    if hit and time.monotonic() - hit[0] < TTL_SECONDS:
        return hit[1]
    ref = open_session(conn, timeout=10.0, max_attempts=2).reference()
    with _lock:
        _ref_cache[key] = (time.monotonic(), ref)
    return ref


def stages(conn: IntegrationConnection) -> list[tuple[str, str, str]]:
    """Every deal stage the provider has: (stage id, label, open|won|lost)."""
    ref = reference(conn)
    return [(sid, label, ref.stage_states.get(sid, "open")) for sid, label in ref.stages.items()]


SAMPLE_RECORDS = 100
MAX_SAMPLED = 100  # text properties sampled (their names go into one list request)
_typed_cache: dict[tuple[str, str], tuple[float, list[dict]]] = {}


def typed(conn: IntegrationConnection, object_type: str) -> list[dict]:
    """The properties, each text property that a page of records shows to hold something else carrying
    `inferred` (mapping/inference.py): its kind and how many sampled values fit. Cached like `properties`;
    a sample that cannot be read leaves the properties as the provider types them."""
    key = (_account_key(conn), object_type)
    with _lock:
        hit = _typed_cache.get(key)
    if hit and time.monotonic() - hit[0] < TTL_SECONDS:
        return hit[1]
    props = properties(conn, object_type)
    texts = [p["name"] for p in props if p.get("type") == "string" and not p.get("options")][:MAX_SAMPLED]
    try:
        sample = _sample(conn, object_type, texts) if texts else []
    except ConnectorError:
        sample = []
    out = []
    for prop in props:
        found = looks_like([r.properties.get(prop["name"]) for r in sample]) if prop["name"] in texts else None
        out.append({**prop, "inferred": found} if found else prop)
    with _lock:
        _typed_cache[key] = (time.monotonic(), out)
    return out


def _sample(conn: IntegrationConnection, object_type: str, names: list[str]) -> list:
    stream = open_session(conn, timeout=10.0, max_attempts=2).stream(object_type, names)
    first = next(iter(stream.pages(None, SAMPLE_RECORDS, SAMPLE_RECORDS)), None)
    return first.records if first else []


def object_schemas(conn: IntegrationConnection) -> list[dict]:
    """The portal's custom object types (checked and bounded by the connector), cached like the
    properties. Raises ConnectorError when they cannot be read (a token without the schemas scope, say)."""
    key = (_account_key(conn), "_schemas")
    with _lock:
        hit = _cache.get(key)
    if hit and time.monotonic() - hit[0] < TTL_SECONDS:
        return hit[1]
    schemas = open_session(conn, timeout=10.0, max_attempts=2).object_schemas()
    with _lock:
        _cache[key] = (time.monotonic(), schemas)
    return schemas
