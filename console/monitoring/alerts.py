"""Alert conditions per connection, evaluated by the dispatcher once a minute. Each condition keeps
one open `monitor_alerts` row (never a duplicate while it holds), raises its severity when it worsens,
and resolves itself when the cause clears. Notifications (issue 8) are not sent yet: each row's
`notified_state` is left for the notifier.

Conditions: stale syncs (no success within the connection's stale multiple of the schedule; critical at
twice that), invalid credentials, failed webhooks in the last hour (signature rejections, failures and
dead letters) over the connection's threshold, 429s in the last hour, dead letters waiting, and a live
connection without a baseline."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from .. import audit
from ..choices import AlertSeverity, AlertStatus, ConnectionStatus, CredentialStatus, ErrorStatus, WebhookStatus
from ..extensions import db
from ..models import (EventWebhookEvent, IntegrationConnection, IntegrationSyncError, IntegrationSyncJob,
                      IntegrationSyncRun, MonitorAlert, User, WebhookRejection)
from ..models.base import utcnow

WATCHED = (ConnectionStatus.LIVE.value, ConnectionStatus.TESTING.value)
RANK = {AlertSeverity.INFO.value: 0, AlertSeverity.WARNING.value: 1, AlertSeverity.CRITICAL.value: 2}


@dataclass(frozen=True)
class Finding:
    kind: str
    severity: AlertSeverity
    message: str


def _stale(conn: IntegrationConnection, now: datetime) -> list[Finding]:
    out = []
    for job in db.session.scalars(sa.select(IntegrationSyncJob).where(
            IntegrationSyncJob.connection_id == conn.id, IntegrationSyncJob.enabled.is_(True))):
        limit = timedelta(seconds=job.schedule_seconds * max(1, conn.stale_multiple))
        since = job.last_success_at or job.created_at
        if since < now - limit:
            severe = since < now - 2 * limit
            out.append(Finding(f"stale_sync:{job.object_type}",
                               AlertSeverity.CRITICAL if severe else AlertSeverity.WARNING,
                               f"{job.object_type.title()} have not synced successfully since "
                               f"{since:%Y-%m-%d %H:%M} UTC (expected every {job.schedule_seconds // 60 or 1} min)."))
    return out


def _credentials(conn: IntegrationConnection) -> list[Finding]:
    account = conn.account
    if account is not None and account.credentials_status == CredentialStatus.INVALID:
        return [Finding("credentials_invalid", AlertSeverity.CRITICAL,
                        f"The provider refuses the credentials: {account.credentials_error or 'check them'}.")]
    return []


def _count(model, *where) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where)) or 0


def _webhooks(conn: IntegrationConnection, now: datetime) -> list[Finding]:
    hour = now - timedelta(hours=1)
    rejected = _count(WebhookRejection, WebhookRejection.connection_id == conn.id, WebhookRejection.created_at >= hour)
    failing = _count(EventWebhookEvent, EventWebhookEvent.connection_id == conn.id,
                     EventWebhookEvent.created_at >= hour,
                     EventWebhookEvent.status.in_([WebhookStatus.FAILED.value, WebhookStatus.RETRYING.value,
                                                   WebhookStatus.DEAD_LETTER.value]))
    total, threshold = rejected + failing, max(1, conn.failed_webhook_threshold)
    if total < threshold:
        return []
    return [Finding("failed_webhooks", AlertSeverity.CRITICAL if total >= 3 * threshold else AlertSeverity.WARNING,
                    f"{total} webhook deliveries failed in the last hour ({rejected} refused signatures, "
                    f"{failing} not normalized); the threshold is {threshold}.")]


def _rate_limits(conn: IntegrationConnection, now: datetime) -> list[Finding]:
    waited = db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(IntegrationSyncRun.rate_limited), 0)).where(
        IntegrationSyncRun.connection_id == conn.id, IntegrationSyncRun.created_at >= now - timedelta(hours=1)))
    if not waited:
        return []
    return [Finding("rate_limited", AlertSeverity.WARNING,
                    f"The provider answered 429 {waited} times in the last hour; syncs are slowed down.")]


def _dead_letters(conn: IntegrationConnection) -> list[Finding]:
    dead = (_count(EventWebhookEvent, EventWebhookEvent.connection_id == conn.id,
                   EventWebhookEvent.status == WebhookStatus.DEAD_LETTER.value)
            + _count(IntegrationSyncError, IntegrationSyncError.connection_id == conn.id,
                     IntegrationSyncError.status == ErrorStatus.DEAD_LETTER.value))
    if not dead:
        return []
    return [Finding("dead_letters", AlertSeverity.CRITICAL if dead >= 10 else AlertSeverity.WARNING,
                    f"{dead} records or events gave up after their retries; replay or resolve them in ops.")]


def _baseline(conn: IntegrationConnection) -> list[Finding]:
    from ..metrics.baselines import active

    if conn.status == ConnectionStatus.LIVE and not active(conn.id):
        return [Finding("no_baseline", AlertSeverity.WARNING, "The connection is live without a baseline.")]
    return []


def findings(conn: IntegrationConnection, now: datetime) -> list[Finding]:
    return (_stale(conn, now) + _credentials(conn) + _webhooks(conn, now) + _rate_limits(conn, now)
            + _dead_letters(conn) + _baseline(conn))


def evaluate(now: datetime | None = None) -> dict[str, int]:
    """One pass over the watched connections; returns how many alerts opened, escalated and resolved."""
    now = now or utcnow()
    changes = {"opened": 0, "escalated": 0, "resolved": 0}
    for conn in db.session.scalars(sa.select(IntegrationConnection).where(IntegrationConnection.status.in_(WATCHED))):
        current = {f.kind: f for f in findings(conn, now)}
        open_rows = {a.kind: a for a in db.session.scalars(sa.select(MonitorAlert).where(
            MonitorAlert.connection_id == conn.id,
            MonitorAlert.status.in_([AlertStatus.OPEN.value, AlertStatus.ACKNOWLEDGED.value])))}
        for kind, finding in current.items():
            row = open_rows.get(kind)
            if row is None:
                db.session.add(MonitorAlert(connection_id=conn.id, kind=kind, severity=finding.severity.value,
                                            status=AlertStatus.OPEN.value, message=finding.message[:1000],
                                            opened_at=now, last_seen_at=now))
                changes["opened"] += 1
                continue
            row.last_seen_at, row.message = now, finding.message[:1000]
            if RANK[finding.severity.value] > RANK[row.severity]:
                row.severity, row.escalated_at, row.status = finding.severity.value, now, AlertStatus.OPEN.value
                changes["escalated"] += 1
        for kind, row in open_rows.items():
            if kind not in current:
                row.status, row.resolved_at = AlertStatus.RESOLVED.value, now
                changes["resolved"] += 1
    db.session.commit()
    return changes


def acknowledge(alert: MonitorAlert, user: User, note: str) -> None:
    alert.status, alert.acknowledged_at = AlertStatus.ACKNOWLEDGED.value, utcnow()
    alert.acknowledged_by_user_id, alert.ack_note = user.id, note.strip()[:500] or None
    audit.record("alert.acknowledged", alert, user, kind=alert.kind, note=alert.ack_note)
    db.session.commit()
