"""The connector interface: pages of provider records, and the errors every adapter raises."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit


class ConnectorError(Exception):
    """Base for provider errors; `message` is safe to store and show (no secrets, no payloads)."""

    code = "provider_error"


class RetriableError(ConnectorError):
    """Transient: 5xx, resets, timeouts, truncated bodies. Retried with backoff, then surfaced."""

    code = "provider_unavailable"


class FatalError(ConnectorError):
    """The request itself is wrong (4xx other than 401/429): retrying will not help."""

    code = "provider_rejected"

    def __init__(self, message: str, status: int | None = None, category: str | None = None) -> None:
        super().__init__(message)
        self.status, self.category = status, category


class AuthExpired(ConnectorError):
    """Credentials were refused even after one refresh: the connection needs new credentials."""

    code = "credentials_invalid"


@dataclass
class SourceRecord:
    """One provider record as fetched: id, flat string properties, modification time (epoch ms)."""

    external_id: str
    properties: dict[str, Any]
    updated_ms: int
    created_ms: int | None = None
    archived: bool = False
    line: int = 0                   # where a file's row came from (a CSV line); 0 for an API record


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One HTTP call to the provider as a run's request log keeps it (no body, no header, no query value)."""

    at: float                       # epoch seconds when it was sent
    method: str
    path: str                       # the path with ids as {id}
    query_keys: str                 # the query's keys, comma-separated ("" for none)
    status: int | None              # None: no answer (refused, timed out)
    latency_ms: int
    rate_remaining: int | None      # the provider's rate headers, where it sends them
    daily_remaining: int | None
    attempt: int                    # 0: the request's first try


@dataclass(frozen=True)
class Link:
    """An association the provider holds now, from a record to another: of which type (its category and
    type id: the default association, or a label) and the label's text (None for the default one)."""

    to_id: str
    category: str
    type_id: int
    label: str | None = None


# to type -> from record id -> every association it has now (an id with none maps to an empty list)
Links = dict[str, dict[str, list[Link]]]


@dataclass
class Page:
    records: list[SourceRecord]
    cursor: dict[str, Any]          # the cursor to store once this page is committed
    done: bool = False
    skipped: int = 0                # records deduplicated away (already processed at the cursor instant)
    meta: dict[str, Any] = field(default_factory=dict)
    links: Links = field(default_factory=dict)  # the page's records' associations, read with the page


class Stream(Protocol):
    object_type: str

    def pages(self, cursor: dict | None, limit: int | None = None, page_size: int = 100) -> Iterator[Page]: ...

    def read(self, ids: list[str]) -> list[SourceRecord]: ...


@dataclass
class Reference:
    """Provider reference data: owner names and pipeline/stage labels."""

    owners: dict[str, str] = field(default_factory=dict)
    pipelines: dict[str, str] = field(default_factory=dict)
    stages: dict[str, str] = field(default_factory=dict)
    stage_states: dict[str, str] = field(default_factory=dict)  # stage id -> open | won | lost


@dataclass(frozen=True)
class AccountInfo:
    """What the credentials open: the provider's account id and the scopes really granted."""

    portal_id: str
    scopes: list[str]
    time_zone: str | None
    currency: str | None


class Session(Protocol):
    """An open connection to a provider account: streams, the property catalogue, reference data, and
    the account's call counters (`stats.api_calls`, `stats.rate_limited`)."""

    stats: Any

    def stream(self, object_type: str, properties: list[str], lookback_ms: int = ...) -> Stream: ...

    def properties(self, object_type: str) -> list[dict]: ...

    def object_schemas(self) -> list[dict]:
        """The account's custom object types, bounded and checked by the connector, each as
        {object_type, name, singular, plural, primary_property, properties: [{name, label, type}],
        associations: [the console's core object types it associates with]}."""
        ...

    def reference(self) -> Reference: ...

    def inspect(self) -> AccountInfo: ...

    def write(self, object_type: str, inputs: list[WriteInput], id_property: str | None = None) -> list[WriteResult]: ...

    def define_property(self, object_type: str, name: str, label: str, unique: bool = False) -> None: ...

    def associate(self, from_type: str, to_type: str, links: list[LinkInput]) -> list[WriteResult]: ...

    def linked_types(self, object_type: str) -> tuple[str, ...]:
        """The object types whose associations from `object_type` this provider's sync reads (each pair of
        types in one direction only)."""
        ...

    def links(self, from_type: str, to_type: str, ids: list[str]) -> dict[str, list[Link]]:
        """Every association each record has now to records of `to_type` (every id asked is a key)."""
        ...


@dataclass
class WriteInput:
    """One record to write: by the provider's id (`id`), or upserted on a unique property's value (`key`)."""

    ref: Any                       # the caller's handle for this record (a lead id), echoed in the result
    properties: dict[str, str]
    id: str | None = None
    key: str | None = None


@dataclass
class LinkInput:
    """An association to create between two provider records, with a label ("" for the default one)."""

    ref: Any
    from_id: str
    to_id: str
    label: str = ""


@dataclass
class WriteResult:
    ref: Any
    id: str | None = None          # the provider's id after the write
    created: bool = False
    updated_ms: int | None = None  # the provider's modification time after the write
    error: str | None = None       # why this record was not written (the others were)


def unreachable(url: str, exc: Exception) -> str:
    """'Could not reach http://host:port (connection refused)': the address and why, in words."""
    text = str(exc).lower()
    if "timeout" in type(exc).__name__.lower():
        why = "no answer in time"
    elif "refused" in text:
        why = "connection refused"
    elif "name or service not known" in text or "nodename" in text or "getaddrinfo" in text or "resolve" in text:
        why = "the host name does not resolve"
    elif "ssl" in text or "certificate" in text:
        why = "the TLS certificate was not accepted"
    elif "reset" in text or "aborted" in text or "remote end closed" in text:
        why = "the connection was dropped"
    else:
        why = "network error"
    parts = urlsplit(url)
    return f"Could not reach {parts.scheme}://{parts.netloc} ({why})"
