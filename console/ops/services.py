"""What ops do to failures, each change audited: retry now, replay (a fresh attempt budget), resolve,
ignore with a reason. Webhook events live in the traffic database, sync errors in the primary one."""
from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from .. import audit
from ..choices import ConnectionStatus, ErrorStatus, WebhookStatus
from ..extensions import db
from ..models import (
    EventWebhookEvent,
    IntegrationConnection,
    IntegrationSyncError,
    IntegrationSyncJob,
    IntegrationValueWaiver,
    User,
    WebhookRejection,
)
from ..models.base import utcnow
from ..refusals import Refused
from ..sync.inbound.failures import SOURCE_VALUE, class_of

REPLAYABLE = (WebhookStatus.FAILED.value, WebhookStatus.RETRYING.value, WebhookStatus.DEAD_LETTER.value,
              WebhookStatus.IGNORED.value)
MAX_BULK = 500


class OpsRefused(Refused):
    pass


def webhook_filter(status: str = "", event_type: str = "", connection_id: int | None = None,
                   since_hours: int | None = None) -> list:
    """The WHERE clauses of the webhook events page's filters."""
    where = []
    if status:
        where.append(EventWebhookEvent.status == status)
    if event_type:
        where.append(EventWebhookEvent.event_type.like(f"{event_type}%"))
    if connection_id:
        where.append(EventWebhookEvent.connection_id == connection_id)
    if since_hours:
        where.append(EventWebhookEvent.created_at >= utcnow() - timedelta(hours=since_hours))
    return where


def webhook_counts(since: datetime | None = None) -> dict[int | None, dict[str, int]]:
    """Per connection: events by status, duplicates received, and signature rejections."""
    since = since or utcnow() - timedelta(days=7)
    counts: dict[int | None, dict[str, int]] = {}
    for conn_id, status, n, dupes in db.session.execute(
            sa.select(EventWebhookEvent.connection_id, EventWebhookEvent.status, sa.func.count(),
                      sa.func.sum(EventWebhookEvent.duplicate_count))
            .where(EventWebhookEvent.created_at >= since)
            .group_by(EventWebhookEvent.connection_id, EventWebhookEvent.status)):
        row = counts.setdefault(conn_id, {})
        row[status] = n
        row["duplicates"] = row.get("duplicates", 0) + int(dupes or 0)
    for conn_id, n in db.session.execute(
            sa.select(WebhookRejection.connection_id, sa.func.count()).where(WebhookRejection.created_at >= since)
            .group_by(WebhookRejection.connection_id)):
        counts.setdefault(conn_id, {})["rejected"] = n
    return counts


def _events(ids: list[int]) -> list[EventWebhookEvent]:
    if not ids or len(ids) > MAX_BULK:
        raise OpsRefused(f"Choose between 1 and {MAX_BULK} events.")
    return list(db.session.scalars(sa.select(EventWebhookEvent).where(EventWebhookEvent.id.in_(ids))))


def replay_events(ids: list[int], user: User) -> int:
    """Queue events for normalization again with a fresh attempt budget (dead letters included)."""
    events = [e for e in _events(ids) if e.status in REPLAYABLE]
    if not events:
        raise OpsRefused("None of those events can be replayed (only failed, retrying, dead-lettered or ignored).")
    for event in events:
        requeue(event)
    audit.record("webhook.replayed", None, user, events=[e.id for e in events])
    db.session.commit()
    return len(events)


def requeue(event: EventWebhookEvent) -> None:
    """Back to the normalizer now, with a fresh attempt budget."""
    event.status, event.attempts, event.next_attempt_at = WebhookStatus.RETRYING.value, 0, utcnow()


def mark_ignored(event: EventWebhookEvent, user: User, reason: str) -> None:
    event.status, event.next_attempt_at = WebhookStatus.IGNORED.value, None
    event.last_error = f"Ignored by {user.email}: {reason.strip()}"[:1000]


def mark_resolved(event: EventWebhookEvent, user: User, reason: str) -> None:
    event.status, event.next_attempt_at, event.processed_at = WebhookStatus.NORMALIZED.value, None, utcnow()
    event.last_error = f"Resolved by hand by {user.email}: {reason.strip() or 'no reason given'}"[:1000]


def ignore_event(event: EventWebhookEvent, user: User, reason: str) -> None:
    if not reason.strip():
        raise OpsRefused("Say why the event is ignored.")
    if event.status == WebhookStatus.NORMALIZED:
        raise OpsRefused("The event is already normalized.")
    mark_ignored(event, user, reason)
    audit.record("webhook.ignored", None, user, event_id=event.id, reason=reason.strip())
    db.session.commit()


def resolve_event(event: EventWebhookEvent, user: User, reason: str) -> None:
    """Mark an event handled by hand (e.g. the record was fixed in the provider and synced)."""
    if event.status == WebhookStatus.NORMALIZED:
        raise OpsRefused("The event is already normalized.")
    mark_resolved(event, user, reason)
    audit.record("webhook.resolved", None, user, event_id=event.id, reason=reason.strip() or None)
    db.session.commit()


def retry_errors(ids: list[int], user: User) -> int:
    """Make errors due now: the next run of their job re-reads those records (replay)."""
    errors = list(db.session.scalars(sa.select(IntegrationSyncError).where(IntegrationSyncError.id.in_(ids[:MAX_BULK]))))
    errors = [e for e in errors if e.status in (ErrorStatus.OPEN, ErrorStatus.RETRYING, ErrorStatus.DEAD_LETTER)]
    if not errors:
        raise OpsRefused("None of those errors can be retried.")
    for err in errors:
        make_due(err)
    audit.record("sync_error.retried", None, user, errors=[e.id for e in errors])
    db.session.commit()
    return len(errors)


def _waived(err: IntegrationSyncError) -> bool:
    return bool(db.session.scalar(sa.select(sa.func.count()).select_from(IntegrationValueWaiver).where(
        IntegrationValueWaiver.connection_id == err.connection_id, IntegrationValueWaiver.object_type == err.object_type,
        IntegrationValueWaiver.external_id == err.external_id, IntegrationValueWaiver.code == err.code)))


def make_due(err: IntegrationSyncError) -> None:
    """The next run of the error's job reads the record again."""
    if err.status == ErrorStatus.DEAD_LETTER:
        err.attempts = 1  # a replayed dead letter gets a fresh attempt budget
    err.status, err.next_retry_at = ErrorStatus.RETRYING.value, utcnow()


def close_error(err: IntegrationSyncError, user: User, status: ErrorStatus, reason: str) -> None:
    if status == ErrorStatus.IGNORED and not reason.strip():
        raise OpsRefused("Say why the error is ignored.")
    if err.status in (ErrorStatus.RESOLVED, ErrorStatus.IGNORED):
        raise OpsRefused("The error is already closed.")
    close(err, user, status, reason)
    audit.record(f"sync_error.{status.value}", None, user, error_id=err.id, reason=reason.strip() or None)
    db.session.commit()


def close(err: IntegrationSyncError, user: User, status: ErrorStatus, reason: str) -> None:
    """Resolve or ignore one error (the caller audits and commits)."""
    err.status, err.resolved_at, err.resolved_by_user_id = status.value, utcnow(), user.id
    err.resolution_reason, err.next_retry_at = reason.strip()[:500] or None, None
    if status == ErrorStatus.IGNORED and err.external_id and class_of(err.code) == SOURCE_VALUE:
        # the same acceptance as the wizard's "ignore with a reason": a run whose only failures are
        # accepted source values counts as complete (sync/proof/verdict.py)
        if not _waived(err):
            db.session.add(IntegrationValueWaiver(connection_id=err.connection_id, object_type=err.object_type,
                                                  external_id=err.external_id, code=err.code,
                                                  reason=reason.strip()[:500], user_id=user.id))


def connection_names() -> dict[int, str]:
    return dict(db.session.execute(sa.select(IntegrationConnection.id, IntegrationConnection.name)).all())


def run_now(conn: IntegrationConnection, user: User) -> int:
    """Make the connection's enabled jobs due now; the dispatcher claims them within a tick (no work
    runs in the request). A job already running is left alone."""
    if conn.status == ConnectionStatus.TESTING:
        raise OpsRefused(f"{conn.name} is not live yet: nothing runs on schedule before go-live. Its test batches "
                         "and its first complete sync are started in the wizard (test and report steps).")
    if conn.status != ConnectionStatus.LIVE:
        raise OpsRefused(f"{conn.name} is {ConnectionStatus.label_of(conn.status).lower()}: only a live "
                         "connection runs. Resume it first.")
    now = utcnow()
    jobs = list(db.session.scalars(sa.select(IntegrationSyncJob).where(
        IntegrationSyncJob.connection_id == conn.id, IntegrationSyncJob.enabled.is_(True))))
    if not jobs:
        raise OpsRefused(f"{conn.name} has no enabled sync job; turn one on in the wizard's mapping step.")
    idle = [j for j in jobs if j.lease_expires_at is None or j.lease_expires_at < now]
    if not idle:
        raise OpsRefused(f"{conn.name} is already running; its row updates when the run finishes.")
    for job in idle:
        job.next_run_at = now
    audit.record("connection.run_now", conn, user, jobs=[j.object_type for j in idle])
    db.session.commit()
    return len(idle)
