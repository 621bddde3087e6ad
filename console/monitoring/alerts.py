"""Alerts per connection, evaluated by the dispatcher once a minute (conditions.py says what is found).

Each condition keeps one open `monitor_alerts` row while it holds, raises its severity when it worsens,
and resolves itself when the cause clears. The row's `open_key` ("connection:kind", cleared on
resolution) is unique, so two processes evaluating at the same moment cannot both open the same alert:
the loser's commit fails, and its second pass finds the winner's row."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from .. import audit
from ..choices import AlertSeverity, AlertStatus, ConnectionStatus
from ..extensions import db
from ..models import IntegrationConnection, MonitorAlert, User
from ..models.base import utcnow
from . import freshness
from .conditions import Facts, Finding, findings

WATCHED = (ConnectionStatus.LIVE.value, ConnectionStatus.TESTING.value)
RANK = {AlertSeverity.INFO.value: 0, AlertSeverity.WARNING.value: 1, AlertSeverity.CRITICAL.value: 2}
UNRESOLVED = (AlertStatus.OPEN.value, AlertStatus.ACKNOWLEDGED.value)
BATCH = 200  # connections whose facts are read and alerts committed together


def open_key(connection_id: int, kind: str) -> str:
    return f"{connection_id}:{kind}"


def _apply(conn: IntegrationConnection, current: dict[str, Finding], open_rows: dict[str, MonitorAlert],
           now: datetime, changes: dict[str, int]) -> None:
    for kind, finding in current.items():
        row = open_rows.get(kind)
        if row is None:
            db.session.add(MonitorAlert(connection_id=conn.id, kind=kind, open_key=open_key(conn.id, kind),
                                        severity=finding.severity.value, status=AlertStatus.OPEN.value,
                                        message=finding.message[:1000], opened_at=now, last_seen_at=now))
            changes["opened"] += 1
            continue
        row.last_seen_at, row.message = now, finding.message[:1000]
        if RANK[finding.severity.value] > RANK[row.severity]:
            row.severity, row.escalated_at, row.status = finding.severity.value, now, AlertStatus.OPEN.value
            changes["escalated"] += 1
    for kind, row in open_rows.items():
        if kind not in current:
            row.status, row.resolved_at, row.open_key = AlertStatus.RESOLVED.value, now, None
            changes["resolved"] += 1


def evaluate(now: datetime | None = None) -> dict[str, int]:
    """One pass over the watched connections; returns how many alerts opened, escalated and resolved.
    Settled hours' freshness is summed into the rollups first; then each batch of connections has its
    facts read at once (conditions.Facts) and its alerts committed together."""
    now = now or utcnow()
    changes = {"opened": 0, "escalated": 0, "resolved": 0}
    ids = list(db.session.scalars(sa.select(IntegrationConnection.id).where(IntegrationConnection.status.in_(WATCHED))
                                  .order_by(IntegrationConnection.id)))
    for start in range(0, len(ids), BATCH):  # the settled hours' freshness, in short transactions of their own
        freshness.settle(list(db.session.scalars(sa.select(IntegrationConnection).where(
            IntegrationConnection.id.in_(ids[start:start + BATCH])))), now)
        db.session.commit()
    for start in range(0, len(ids), BATCH):
        chunk = ids[start:start + BATCH]
        for attempt in (1, 2):
            conns = list(db.session.scalars(sa.select(IntegrationConnection).where(IntegrationConnection.id.in_(chunk))
                                            .options(selectinload(IntegrationConnection.account))
                                            .order_by(IntegrationConnection.id)))
            before = dict(changes)
            try:
                facts = Facts.read(conns, now)
                alerts: dict[int, dict[str, MonitorAlert]] = {}
                for alert in db.session.scalars(sa.select(MonitorAlert).where(
                        MonitorAlert.connection_id.in_(chunk), MonitorAlert.status.in_(UNRESOLVED))):
                    alerts.setdefault(alert.connection_id or 0, {})[alert.kind] = alert
                for conn in conns:
                    _apply(conn, {f.kind: f for f in findings(conn, now, facts)}, alerts.get(conn.id, {}), now, changes)
                db.session.commit()
                break
            except IntegrityError:  # another process opened the same alert a moment ago
                db.session.rollback()
                changes.update(before)
                if attempt == 2:
                    raise
    return changes


def acknowledge(alert: MonitorAlert, user: User, note: str) -> None:
    alert.status, alert.acknowledged_at = AlertStatus.ACKNOWLEDGED.value, utcnow()
    alert.acknowledged_by_user_id, alert.ack_note = user.id, note.strip()[:500] or None
    audit.record("alert.acknowledged", alert, user, kind=alert.kind, note=alert.ack_note)
    db.session.commit()
