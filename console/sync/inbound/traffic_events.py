"""A page's raw and normalized events, written to the traffic database and committed there before any
business row (deduplicated by event key, so a replayed page adds nothing)."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ...extensions import db
from ...mapping.mapper import MappingSpec
from ...models import IntegrationNormalizedEvent, IntegrationRawEvent
from ...security.redact import drop_keys
from .decision import Decision, changes
from .plan import PageRows


class TrafficEvents:
    """The traffic rows of one run's pages (sensitive properties dropped from raw payloads)."""

    def __init__(self, connection_id: int, run_id: int | None, object_type: str, spec: MappingSpec) -> None:
        self.connection_id, self.run_id, self.object_type, self.spec = connection_id, run_id, object_type, spec
        self._seen: set[str] = set()  # property names met so far
        self._dropped: set[str] = set()  # ... and those dropped from raw payloads (sensitive)

    def write(self, decisions: list[Decision], source_kind: str, measure_lag: bool, rows: PageRows) -> None:
        """Raw and normalized events, committed in the traffic database before any business row."""
        keys = [d.event_key for d in decisions if d.bucket != "duplicate"]
        if not keys:
            return
        with Session(db.engines["traffic"]) as traffic:
            self._add(traffic, decisions, keys, source_kind, measure_lag, rows)
            traffic.commit()

    def _add(self, traffic: Session, decisions: list[Decision], keys: list[str], source_kind: str,
             measure_lag: bool, rows: PageRows) -> None:
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
            occurred = rows.occurred(d)
            raw_rows.append(rows.raw(d, self._payload(d.record.properties, sensitive), occurred))
            if d.bucket in ("created", "updated") and d.event_key not in have_norm:
                lag = _lag_ms(d, rows.now) if measure_lag else None
                normalized_rows.append(rows.normalized(d, source_kind, sorted(changes(d)), lag, occurred))
        rows.plan.raw_table.insert.execute(conn, raw_rows)
        rows.plan.normalized_table.insert.execute(conn, normalized_rows)

    def _payload(self, properties: dict, sensitive: set[str]) -> dict:
        """The properties without the sensitive ones (dropped, not masked). Which keys to drop is
        decided once per key name (pages repeat the same names), and found by set operations."""
        if not sensitive:
            return properties
        keys = properties.keys()
        if not keys <= self._seen:
            for key in keys - self._seen:
                if not drop_keys({key: None}, sensitive):
                    self._dropped.add(key)
                self._seen.add(key)
        if not keys & self._dropped:
            return properties
        return {k: v for k, v in properties.items() if k not in self._dropped}


def _lag_ms(d: Decision, now: datetime) -> int | None:
    """Our write minus the provider's modification time (a clock ahead of ours counts as no lag)."""
    if d.occurred is None:
        return None
    return max(0, int((now - d.occurred).total_seconds() * 1000))
