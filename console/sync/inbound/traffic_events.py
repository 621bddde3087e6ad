"""A page's raw and normalized events, written to the traffic database and committed there before any
business row (deduplicated by event key, so a replayed page adds nothing)."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ...extensions import db
from ...mapping.mapper import MappingSpec
from ...models import IntegrationNormalizedEvent, IntegrationRawEvent
from ...models.base import table
from ...security.redact import drop_keys
from . import bulk
from .decision import Decision, changes


class TrafficEvents:
    """The traffic rows of one run's pages (sensitive properties dropped from raw payloads)."""

    def __init__(self, connection_id: int, run_id: int | None, object_type: str, spec: MappingSpec) -> None:
        self.connection_id, self.run_id, self.object_type, self.spec = connection_id, run_id, object_type, spec
        self._dropping: dict[str, bool] = {}  # property name -> dropped from raw payloads (sensitive)

    def write(self, decisions: list[Decision], source_kind: str, measure_lag: bool, now: datetime) -> None:
        """Raw and normalized events, committed in the traffic database before any business row."""
        keys = [d.event_key for d in decisions if d.bucket != "duplicate"]
        if not keys:
            return
        with Session(db.engines["traffic"]) as traffic:
            self._add(traffic, decisions, keys, source_kind, measure_lag, now)
            traffic.commit()

    def _add(self, traffic: Session, decisions: list[Decision], keys: list[str], source_kind: str,
             measure_lag: bool, now: datetime) -> None:
        conn = traffic.connection()
        have = set(conn.scalars(sa.select(IntegrationRawEvent.event_key).where(
            IntegrationRawEvent.connection_id == self.connection_id, IntegrationRawEvent.event_key.in_(keys))))
        have_norm = set(conn.scalars(sa.select(IntegrationNormalizedEvent.source_ref).where(
            # per connection: two connections to one portal read the same record at the same version
            IntegrationNormalizedEvent.connection_id == self.connection_id,
            IntegrationNormalizedEvent.source_kind == source_kind,
            IntegrationNormalizedEvent.source_ref.in_(keys))))
        sensitive = self.spec.sensitive_fields
        raw_rows, normalized_rows = [], []
        for d in decisions:
            if d.bucket == "duplicate" or d.event_key in have:
                continue
            have.add(d.event_key)
            rec = d.record
            raw_rows.append({"connection_id": self.connection_id, "run_id": self.run_id, "object_type": self.object_type,
                             "external_id": rec.external_id, "event_key": d.event_key, "created_at": now,
                             "payload": self._payload(rec.properties, sensitive),
                             "provider_updated_at": d.occurred})
            if d.bucket in ("created", "updated") and d.event_key not in have_norm:
                normalized_rows.append({
                    "connection_id": self.connection_id, "source_kind": source_kind, "source_ref": d.event_key,
                    "object_type": self.object_type, "external_id": rec.external_id,
                    "lead_id": d.lead.id if d.lead else None, "created_at": now,
                    "event_type": "archived" if rec.archived else d.bucket,
                    "summary": {"changed": sorted(changes(d).keys())}, "occurred_at": d.occurred,
                    "lag_ms": _lag_ms(d, now) if measure_lag else None})
        for model, rows in ((IntegrationRawEvent, raw_rows), (IntegrationNormalizedEvent, normalized_rows)):
            bulk.insert_many(conn, table(model), rows)

    def _payload(self, properties: dict, sensitive: set[str]) -> dict:
        """The properties without the sensitive ones (dropped, not masked). Which keys to drop is
        decided once per key name: pages repeat the same names."""
        if not sensitive:
            return properties
        dropping = self._dropping
        for key in properties:
            if key not in dropping:
                dropping[key] = not drop_keys({key: None}, sensitive)
        if not any(dropping[key] for key in properties):
            return properties
        return {k: v for k, v in properties.items() if not dropping[k]}


def _lag_ms(d: Decision, now: datetime) -> int | None:
    """Our write minus the provider's modification time (a clock ahead of ours counts as no lag)."""
    if d.occurred is None:
        return None
    return max(0, int((now - d.occurred).total_seconds() * 1000))
