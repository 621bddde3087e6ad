"""Background normalization of stored webhook events (a scheduler job, never the request).

Each due event is claimed with a conditional UPDATE (one process wins it), grouped by connection and
object type, and applied through the sync engine's own mapping and upsert path: the object is read
from the provider (an event carries only the changed property), mapped, upserted, and normalized and
lead events are written. An older version never overwrites a newer one (the writer compares the
provider's modification times). Failures retry with backoff; after MAX_ATTEMPTS an event is
dead-lettered, and ops can replay it."""
from __future__ import annotations

import logging
from collections import defaultdict
from datetime import UTC, timedelta
from typing import Any

import sqlalchemy as sa

from ..choices import RunKind, WebhookStatus
from ..connectors import registry
from ..connectors.base import ConnectorError, Page, SourceRecord
from ..connectors.registry import source_label
from ..extensions import db
from ..mapping.mapper import MappingSpec
from ..models import (
    EventWebhookEvent,
    IntegrationConnection,
    IntegrationNormalizedEvent,
    IntegrationSyncJob,
    IntegrationSyncRun,
)
from ..models.base import require, utcnow
from ..security.redact import redact_text
from ..sync import catalogue, schema_drift
from ..sync.inbound import links
from ..sync.inbound.pipeline import PageWriter
from ..sync.inbound.spec import inbound_spec
from ..sync.provider import open_session
from ..sync.runs import lifecycle as runs
from ..sync.runs.accounting import Tally
from ..sync.runs.claims import Lease, worker_id
from ..sync.runs.frame import RunFrame

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5
CLAIM = Lease(EventWebhookEvent, EventWebhookEvent.claimed_by, EventWebhookEvent.next_attempt_at, 120)
DUE = (WebhookStatus.RECEIVED.value, WebhookStatus.RETRYING.value)


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(3600, 10 * 3 ** max(0, attempts - 1)))


def claim(owner: str, limit: int = 200) -> list[int]:
    """Due events, taken in one conditional UPDATE per batch (sync/runs/claims.py). The lease is the event's
    next attempt time: a process that dies holding a batch leaves it due again when the lease runs out,
    its attempt counted."""
    now = utcnow()
    ids = list(db.session.scalars(sa.select(EventWebhookEvent.id).where(
        EventWebhookEvent.status.in_(DUE), CLAIM.free(now)).order_by(EventWebhookEvent.id).limit(limit)))
    return CLAIM.claim(ids, owner, where=[EventWebhookEvent.status.in_(DUE)], now=now,
                       attempts=EventWebhookEvent.attempts + 1)


def process_due(limit: int = 200, owner: str | None = None) -> int:
    """One pass: claim and normalize up to `limit` events. Returns how many were handled."""
    ids = claim(owner or worker_id(), limit)
    if not ids:
        return 0
    events = list(db.session.scalars(sa.select(EventWebhookEvent).where(EventWebhookEvent.id.in_(ids))))
    groups: dict[tuple, list[EventWebhookEvent]] = defaultdict(list)
    for event in events:
        if event.provider == "manual_csv":
            groups[("csv", event.connection_id, None)].append(event)
        elif is_link_change(event):  # grouped with the records whose associations it asks to read again
            source = link_source(event)
            groups[(event.provider, event.connection_id, source[0] if source else None)].append(event)
        else:
            groups[(event.provider, event.connection_id, object_of(event))].append(event)
    for (provider, connection_id, object_type), batch in groups.items():
        try:
            if provider == "csv":
                _apply_csv(batch)
            else:
                _apply_api(connection_id, object_type, batch)
        except Exception as exc:  # one group's trouble never stops the others
            db.session.rollback()
            if not isinstance(exc, ConnectorError):
                log.exception("webhook normalization failed for connection %s", connection_id)
            _fail(batch, str(exc) if isinstance(exc, ConnectorError) else f"Internal error: {type(exc).__name__}")
    return len(ids)


def _fail(batch: list[EventWebhookEvent], reason: str, ids: set[int] | None = None) -> None:
    for event in db.session.scalars(sa.select(EventWebhookEvent).where(
            EventWebhookEvent.id.in_([e.id for e in batch if ids is None or e.id in ids]))):
        event.last_error = redact_text(reason)[:1000]
        if event.attempts >= MAX_ATTEMPTS:
            event.status, event.next_attempt_at = WebhookStatus.DEAD_LETTER.value, None
        else:
            event.status = WebhookStatus.RETRYING.value
            event.next_attempt_at = utcnow() + backoff(event.attempts)
    db.session.commit()


def _done(events: list[EventWebhookEvent], note: str | None = None) -> None:
    now = utcnow()
    for event in events:
        event.status, event.processed_at, event.next_attempt_at = WebhookStatus.NORMALIZED.value, now, None
        event.last_error = note
    db.session.commit()


def _ignore(events: list[EventWebhookEvent], note: str) -> None:
    now = utcnow()
    for event in events:
        event.status, event.processed_at, event.next_attempt_at = WebhookStatus.IGNORED.value, now, None
        event.last_error = note
    db.session.commit()


def is_link_change(event: EventWebhookEvent) -> bool:
    return event.event_type.endswith(".associationChange")


def object_of(event: EventWebhookEvent) -> str | None:
    """The object type whose record the event changed, as its connector reads the event's type."""
    try:
        read = registry.get(event.provider).event_object_type
    except registry.UnknownProvider:
        return None
    return read(event.event_type) if read else None


def link_source(event: EventWebhookEvent) -> tuple[str, str] | None:
    """The record whose associations an association change asks to read again (type, id), or None when
    the connector does not read associations between those types."""
    try:
        read = registry.get(event.provider).link_source
    except registry.UnknownProvider:
        return None
    return read(event.payload_summary or {}) if read else None


def _apply_api(connection_id: int | None, object_type: str | None, batch: list[EventWebhookEvent]) -> None:
    unread = [e for e in batch if is_link_change(e) and link_source(e) is None]
    if unread:
        _ignore(unread, "Not applied: associations between these object types are not synced.")
        batch = [e for e in batch if e not in unread]
        if not batch:
            return
    if connection_id is None or object_type is None:
        _fail(batch, "No connection or object type for this event (unknown portal or subscription).")
        return
    conn = require(IntegrationConnection, connection_id)
    session = open_session(conn, timeout=10.0, max_attempts=3)
    job = db.session.scalar(sa.select(IntegrationSyncJob).where(
        IntegrationSyncJob.connection_id == conn.id, IntegrationSyncJob.object_type == object_type))
    spec = inbound_spec(conn.id, job, object_type, catalogue.reference(conn), schema_drift.broken(conn.id, object_type))
    if not spec.rules:
        _fail(batch, f"{object_type} has no mapping yet; confirm the mapping in the wizard.")
        return
    if job is None or job.last_success_at is None:
        # Nothing flows before the object's first complete sync: that sync reads the record as it is then,
        # and hands its cursor to the incremental runs, so this change is not lost by being left out.
        _ignore(batch, f"Not applied: {object_type} has not completed its first sync yet; that sync reads this "
                       "change.")
        return
    tally = Tally(keep_outcomes=True)
    frame = WebhookFrame(_run(conn, object_type, job), tally, conn, session, spec, batch, job.eligibility)
    frame.execute()
    if frame.failure is not None:  # the run says why; the caller retries the events
        raise frame.failure
    link_events = [e for e in batch if is_link_change(e)]
    _done(link_events, None if frame.linked else "Not applied: the associated object type is not synced.")
    batch = [e for e in batch if not is_link_change(e)]
    outcome = {ext: (bucket, reason) for ext, bucket, reason, *_ in tally.outcomes}
    failed = {e.id for e in batch if outcome.get(e.object_id or "", ("", ""))[0] == "failed"}
    if failed:
        reasons = {outcome[e.object_id or ""][1] for e in batch if e.id in failed}
        _fail(batch, "; ".join(sorted(reasons))[:1000], failed)
    _done([e for e in batch if e.id not in failed and e.object_id in outcome])
    _done([e for e in batch if e.object_id not in outcome],
          "The object no longer exists at the provider; nothing to apply.")


def _current_versions(session, object_type: str, fields: list[str], batch: list[EventWebhookEvent]) -> list[SourceRecord]:
    """The provider's current version of every object the events name. An event carries one changed
    property and may be old or out of order, so it is never applied itself: a deletion is applied only
    when the provider confirms it (the batch read no longer finds the object), and then as of the
    deletion's time; an object found active is applied as found, whatever older deletion arrived."""
    wanted = sorted({e.object_id for e in batch if e.object_id and not is_link_change(e)})
    found = {r.external_id: r for r in (session.stream(object_type, fields).read(wanted) if wanted else [])}
    deleted: dict[str, int] = {}
    for e in batch:
        if e.event_type.endswith(".deletion") and e.object_id and e.object_id not in found:
            at = int(e.occurred_at.replace(tzinfo=UTC).timestamp() * 1000) if e.occurred_at else 0
            deleted[e.object_id] = max(at, deleted.get(e.object_id, 0))
    return list(found.values()) + [SourceRecord(oid, {}, at, archived=True) for oid, at in deleted.items()]


def _fields(eligibility: list | None) -> list[str]:
    return [c["field"] for c in (eligibility or []) if isinstance(c, dict) and c.get("field")]


def _run(conn: IntegrationConnection, object_type: str, job: IntegrationSyncJob | None) -> IntegrationSyncRun:
    run = runs.open_run(conn.id, object_type, RunKind.WEBHOOK.value, job=job)
    db.session.commit()
    return run


class WebhookFrame(RunFrame):
    """A webhook batch's run: the provider's current version of each record the events name, written as one
    page (the events themselves are never applied: they may be old or out of order)."""

    marks_credentials = False

    def __init__(self, run: IntegrationSyncRun, tally: Tally, connection: IntegrationConnection, session: Any,
                 spec: MappingSpec, batch: list[EventWebhookEvent], eligibility: list | None) -> None:
        super().__init__(run, tally, connection)
        self.session, self.spec, self.batch, self.eligibility = session, spec, batch, eligibility
        self.linked = False  # whether associations were read (an association change needs a synced object)

    def body(self) -> None:
        run, spec, conn, session = self.run, self.spec, self.connection, self.session
        eligibility = self.eligibility
        records = _current_versions(session, run.object_type, spec.requested(_fields(eligibility)), self.batch)
        # Associations of every record read, and of each record an association change names (read now:
        # the event says only that something changed, perhaps long ago, perhaps twice since).
        to_types = links.linked_types(session, conn.id, run.object_type)
        named = {source[1] for e in self.batch if is_link_change(e) and (source := link_source(e))}
        page = Page(records, {}, links=links.read(session, run.object_type, to_types,
                                                  sorted({r.external_id for r in records} | named)))
        self.linked = bool(to_types)
        writer = PageWriter(conn, run.object_type, spec, run, source_label(conn.provider.key), eligibility, False,
                            self.tally)
        writer.source_kind, writer.measure_lag = "webhook", True
        writer.apply(page, None)


def _apply_csv(batch: list[EventWebhookEvent]) -> None:
    """A finished CSV import becomes a normalized event whose summary is the client-safe report line."""
    from sqlalchemy.orm import Session

    with Session(db.engines["traffic"]) as traffic:
        for event in batch:
            summary = event.payload_summary or {}
            exists = traffic.scalar(sa.select(IntegrationNormalizedEvent.id).where(
                IntegrationNormalizedEvent.connection_id == event.connection_id,
                IntegrationNormalizedEvent.source_kind == "csv",
                IntegrationNormalizedEvent.source_ref == event.source_event_id))
            if exists is None:
                traffic.add(IntegrationNormalizedEvent(
                    connection_id=event.connection_id, source_kind="csv", source_ref=event.source_event_id,
                    object_type=summary.get("object_type", "contacts"), event_type="import_completed",
                    summary={"line": report_line(summary)}, occurred_at=event.occurred_at))
        traffic.commit()
    _done(batch)


def report_line(summary: dict) -> str:
    """Plain words for the client; no file name, hash or person (those stay in the ops view)."""
    created, updated = int(summary.get("created", 0)), int(summary.get("updated", 0))
    return (f"Manual import: {int(summary.get('rows', 0)):,} rows checked, {created:,} new and {updated:,} "
            f"updated records.")
