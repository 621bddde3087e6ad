"""A sandbox CRM record and the values it holds: HubSpot's rendering of datetimes (epoch ms held, ISO
shown), the coercion of written values, comparison by property type, and who is writing (per thread)."""
from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from .schema import CUSTOM, DATE_PROPS, DATETIME_PROPS, MODIFIED_PROPERTY, NUMBER_PROPS, PROPERTIES, SINGULAR

DEFAULT_PROPERTIES = {
    "contacts": ["createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname"],
    "companies": ["createdate", "domain", "hs_lastmodifieddate", "hs_object_id", "name"],
    "deals": ["amount", "closedate", "createdate", "dealname", "dealstage", "hs_lastmodifieddate",
              "hs_object_id", "pipeline"],
    "products": ["createdate", "description", "hs_lastmodifieddate", "hs_object_id", "name", "price"],
    "line_items": ["createdate", "hs_lastmodifieddate", "hs_object_id", "hs_product_id", "name", "price", "quantity"],
    "tickets": ["content", "createdate", "hs_lastmodifieddate", "hs_object_id", "hs_pipeline", "hs_pipeline_stage",
                "hs_ticket_priority", "subject"],
    CUSTOM: ["hs_createdate", "hs_lastmodifieddate", "hs_object_id"],
}
FIRST_ID = {"contacts": 1001, "companies": 2_000_001, "deals": 5_000_001, "products": 7_000_001,
            "line_items": 8_000_001, "tickets": 9_000_001, CUSTOM: 12_000_001}
# Who is writing, per request thread: an app through the API (its webhooks say INTEGRATION and name the
# app in `sourceId`, as HubSpot's do) or a person in HubSpot's UI (the sandbox's admin changes).
_writer = threading.local()
UI_SOURCE = ("CRM_UI", "userId:1")


def acting_as(change_source: str, source_id: str) -> None:
    """Name the writer of this thread's next changes (until the next call)."""
    _writer.source = (change_source, source_id)


def change_source() -> tuple[str, str]:
    return getattr(_writer, "source", UI_SOURCE)


def now_ms() -> int:
    return int(time.time() * 1000)


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


class Record:
    """One CRM object. Datetime properties are held as epoch ms and rendered as ISO strings."""

    __slots__ = ("id", "props", "created", "updated", "archived", "archived_at", "indexed_at")

    def __init__(self, id_: int, props: dict[str, Any], created: int, updated: int) -> None:
        self.id, self.created, self.updated = id_, created, updated
        self.props = {k: v for k, v in props.items() if v is not None}
        self.archived, self.archived_at = False, 0
        self.indexed_at = 0  # epoch ms from which search sees this version (search lags behind writes)

    def value(self, name: str, object_type: str) -> Any:
        """The raw value used for filtering and sorting (ms for datetimes)."""
        if name == "hs_object_id":
            return self.id
        if name in ("createdate", "hs_createdate"):
            return self.created
        if name == MODIFIED_PROPERTY[object_type]:
            return self.updated
        return self.props.get(name)

    def rendered(self, name: str, object_type: str) -> str | None:
        value = self.value(name, object_type)
        if value is None:
            return None
        if name in DATETIME_PROPS:
            return iso(int(value))[:10] if name in DATE_PROPS else iso(int(value))
        return str(value)

    def to_api(self, object_type: str, properties: Iterable[str] | None) -> dict[str, Any]:
        names = list(properties) if properties else DEFAULT_PROPERTIES[object_type]
        known = KNOWN[object_type]
        body: dict[str, Any] = {
            "id": str(self.id),
            "properties": {n: self.rendered(n, object_type) for n in names if n in known},
            "createdAt": iso(self.created),
            "updatedAt": iso(self.updated),
            "archived": self.archived,
        }
        if self.archived:
            body["archivedAt"] = iso(self.archived_at)
        return body


KNOWN = {t: {p["name"] for p in props} for t, props in PROPERTIES.items()}


def coerce(props: dict[str, Any]) -> dict[str, Any]:
    """Written values as the store keeps them: datetimes as epoch ms, booleans as HubSpot's words, the rest as text."""
    out: dict[str, Any] = {}
    for key, value in (props or {}).items():
        if key in DATETIME_PROPS and value not in (None, ""):
            out[key] = parse_time(value)
        elif value is None:
            out[key] = None
        else:
            out[key] = str(value) if not isinstance(value, bool) else ("true" if value else "false")
    return out


def parse_time(value: Any) -> int:
    """Epoch ms from an epoch-ms number/string or an ISO date(-time)."""
    text = str(value).strip()
    if text.lstrip("-").isdigit():
        return int(text)
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1000)


def singular(object_type: str) -> str:
    return SINGULAR[object_type]


def comparable(name: str, value: Any) -> Any:
    """Normalise a stored or filter value for comparison by property type."""
    if value is None:
        return None
    if name in DATETIME_PROPS or name == "hs_object_id":
        try:
            return parse_time(value)
        except ValueError:
            return None
    if name in NUMBER_PROPS:
        try:
            return float(value)
        except ValueError:
            return None
    return str(value).lower()
