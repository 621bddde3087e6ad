"""Raw webhook payloads as admins may see them: a property value whose field is marked sensitive in the
connection's mapping is masked (the rest of the event is shown as received)."""
from __future__ import annotations

import sqlalchemy as sa

from ..extensions import db
from ..models import EventWebhookEvent, IntegrationFieldMapping
from ..security.redact import MASK, redact


def sensitive_sources(connection_id: int | None) -> set[str]:
    if connection_id is None:
        return set()
    return set(db.session.scalars(sa.select(IntegrationFieldMapping.source_field).where(
        IntegrationFieldMapping.connection_id == connection_id, IntegrationFieldMapping.sensitive.is_(True))))


def masked_payload(event: EventWebhookEvent) -> dict | None:
    raw = dict(event.raw_payload or {})
    if not raw:
        return None
    if raw.get("propertyName") in sensitive_sources(event.connection_id) and "propertyValue" in raw:
        raw["propertyValue"] = MASK
    return redact(raw)
