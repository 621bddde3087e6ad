"""The connections list: filters, search, and per connection the facts an owner scans for
(last tested, last successful sync, open alerts, next wizard step), each in one query."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from ..choices import AlertStatus, WizardStep
from ..extensions import db
from ..models import Client, ConnectionChecklistItem, IntegrationConnection, IntegrationSyncJob, MonitorAlert, User


@dataclass
class Row:
    connection: IntegrationConnection
    last_success_at: datetime | None
    open_alerts: int
    next_step: WizardStep | None
    done: int
    total: int


def connections(status: str = "", client_id: int | None = None, owner_id: int | None = None,
                q: str = "") -> list[IntegrationConnection]:
    query = sa.select(IntegrationConnection).join(Client).order_by(Client.name, IntegrationConnection.name)
    if status:
        query = query.where(IntegrationConnection.status == status)
    if client_id:
        query = query.where(IntegrationConnection.client_id == client_id)
    if owner_id:
        query = query.where(IntegrationConnection.owner_user_id == owner_id)
    if q.strip():
        like = f"%{q.strip().lower()}%"
        query = query.where(sa.or_(sa.func.lower(IntegrationConnection.name).like(like),
                                   sa.func.lower(Client.name).like(like)))
    return list(db.session.scalars(query.limit(500)))


def rows(conns: list[IntegrationConnection]) -> list[Row]:
    ids = [c.id for c in conns]
    if not ids:
        return []
    success = dict(db.session.execute(sa.select(IntegrationSyncJob.connection_id, sa.func.max(
        IntegrationSyncJob.last_success_at)).where(IntegrationSyncJob.connection_id.in_(ids))
        .group_by(IntegrationSyncJob.connection_id)).all())
    alerts = dict(db.session.execute(sa.select(MonitorAlert.connection_id, sa.func.count()).where(
        MonitorAlert.connection_id.in_(ids), MonitorAlert.status == AlertStatus.OPEN.value)
        .group_by(MonitorAlert.connection_id)).all())
    items: dict[int, list[ConnectionChecklistItem]] = {}
    for item in db.session.scalars(sa.select(ConnectionChecklistItem).where(
            ConnectionChecklistItem.connection_id.in_(ids)).order_by(ConnectionChecklistItem.position)):
        items.setdefault(item.connection_id, []).append(item)
    out = []
    for c in conns:
        required = [i for i in items.get(c.id, []) if i.required]
        open_steps = [i.step for i in required if i.done_at is None]
        nxt = next((s for s in WizardStep if s.value in open_steps), None)
        out.append(Row(c, success.get(c.id), alerts.get(c.id, 0), nxt,
                       sum(1 for i in required if i.done_at), len(required)))
    return out


def owners() -> list[User]:
    return list(db.session.scalars(sa.select(User).where(User.role.in_(["owner", "admin"])).order_by(User.name)))
