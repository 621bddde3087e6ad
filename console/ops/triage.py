"""Failures for triage. Sync errors grouped by connection, object type and code (counts per status, a
sample message and offending value); webhook events grouped by connection, event type and status (a
sample error). The rows of a filter a page at a time, and one action for a whole group (retry or
replay, ignore with one reason, resolve), changed in keyset chunks and audited once with its count."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from .. import audit
from ..choices import ErrorStatus, WebhookStatus
from ..extensions import db
from ..models import EventWebhookEvent, IntegrationSyncError, User
from ..models.base import utcnow
from . import services

PAGE_SIZE = 50
MAX_GROUPS = 100
CHUNK = 500  # a group's errors are changed this many at a time (short transactions, bounded memory)
OPEN_STATES = (ErrorStatus.OPEN.value, ErrorStatus.RETRYING.value, ErrorStatus.DEAD_LETTER.value)


@dataclass(frozen=True)
class ErrorFilter:
    status: str = ""
    stage: str = ""
    connection_id: int | None = None
    object_type: str = ""
    code: str = ""
    run_id: int | None = None
    since_hours: int | None = None
    assignee_id: int | None = None  # a staff user's errors (the view turns "mine" into the viewer's id)
    unassigned: bool = False

    def where(self) -> list:
        e, out = IntegrationSyncError, []
        if self.status:
            out.append(e.status == self.status)
        if self.stage:
            out.append(e.stage == self.stage)
        if self.connection_id:
            out.append(e.connection_id == self.connection_id)
        if self.object_type:
            out.append(e.object_type == self.object_type)
        if self.code:
            out.append(e.code == self.code)
        if self.run_id:
            out.append(e.run_id == self.run_id)
        if self.since_hours:
            out.append(e.created_at >= utcnow() - timedelta(hours=self.since_hours))
        if self.assignee_id:
            out.append(e.assignee_user_id == self.assignee_id)
        elif self.unassigned:
            out.append(e.assignee_user_id.is_(None))
        return out


@dataclass
class Group:
    connection_id: int
    object_type: str
    code: str
    total: int
    open: int
    retrying: int
    dead_letter: int
    newest_at: datetime
    sample: IntegrationSyncError | None = None

    @property
    def actionable(self) -> int:
        return self.open + self.retrying + self.dead_letter


def groups(f: ErrorFilter) -> list[Group]:
    """Errors per (connection, object type, code), the biggest first; without a status filter, only
    the groups with something still to do."""
    e = IntegrationSyncError

    def count(status: str):
        return sa.func.sum(sa.case((e.status == status, 1), else_=0))
    where = f.where()
    if not f.status:
        where.append(e.status.in_(OPEN_STATES))
    rows = db.session.execute(
        sa.select(e.connection_id, e.object_type, e.code, sa.func.count(), count(ErrorStatus.OPEN.value),
                  count(ErrorStatus.RETRYING.value), count(ErrorStatus.DEAD_LETTER.value), sa.func.max(e.created_at),
                  sa.func.max(e.id))
        .where(*where).group_by(e.connection_id, e.object_type, e.code)
        .order_by(sa.func.count().desc(), e.connection_id, e.object_type, e.code).limit(MAX_GROUPS)).all()
    samples = {s.id: s for s in db.session.scalars(sa.select(e).where(e.id.in_([r[-1] for r in rows])))} if rows else {}
    return [Group(c, o, code, int(total), int(op or 0), int(rt or 0), int(dl or 0), newest, samples.get(newest_id))
            for c, o, code, total, op, rt, dl, newest, newest_id in rows]


def page(f: ErrorFilter, number: int) -> tuple[list[IntegrationSyncError], int]:
    """One page of the filter's errors, newest first, and how many there are in all."""
    return _page(IntegrationSyncError, f.where(), number)


def _page(model: Any, where: list, number: int) -> tuple[list, int]:
    total = db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where)) or 0
    rows = db.session.scalars(sa.select(model).where(*where).order_by(model.id.desc())
                              .offset((max(1, number) - 1) * PAGE_SIZE).limit(PAGE_SIZE)).all()
    return list(rows), int(total)


def _each(model: Any, where: tuple, change: Callable[[Any], None]) -> int:
    """Apply `change` to every row matching `where`, in keyset chunks of CHUNK, each committed: short
    transactions, bounded memory, and each row changed once whatever happens to the others meanwhile."""
    done, last_id = 0, 0
    while True:
        chunk = db.session.scalars(sa.select(model).where(*where, model.id > last_id).order_by(model.id)
                                   .limit(CHUNK)).all()
        if not chunk:
            return done
        last_id = chunk[-1].id
        for row in chunk:
            change(row)
        done += len(chunk)
        db.session.commit()


def act_on_group(connection_id: int, object_type: str, code: str, action: str, user: User, reason: str) -> int:
    """Retry, ignore or resolve every error of a group still to be dealt with; returns how many."""
    if action not in ("retry", "ignore", "resolve"):
        raise services.OpsRefused("Choose retry, ignore or resolve.")
    if action == "ignore" and not reason.strip():
        raise services.OpsRefused("Say why the errors are ignored: the reason is kept with each of them.")
    e = IntegrationSyncError
    closing = ErrorStatus.IGNORED if action == "ignore" else ErrorStatus.RESOLVED
    done = _each(e, (e.connection_id == connection_id, e.object_type == object_type, e.code == code,
                     e.status.in_(OPEN_STATES)),
                 services.make_due if action == "retry" else lambda err: services.close(err, user, closing, reason))
    if not done:
        raise services.OpsRefused("Nothing in this group is open any more.")
    audit.record(f"sync_error.group_{action}", None, user, connection_id=connection_id, object_type=object_type,
                 code=code, errors=done, reason=reason.strip() or None)
    db.session.commit()
    return done


# ---- webhook events ---------------------------------------------------------------------------------
UNFINISHED = (WebhookStatus.FAILED.value, WebhookStatus.RETRYING.value, WebhookStatus.DEAD_LETTER.value)


@dataclass
class EventGroup:
    connection_id: int | None
    event_type: str
    status: str
    total: int
    newest_at: datetime
    sample: EventWebhookEvent | None = None


def event_groups(where: list, status: str) -> list[EventGroup]:
    """Unfinished events (or those of `status`) per connection, event type and status, the biggest first."""
    w = EventWebhookEvent
    rows = db.session.execute(
        sa.select(w.connection_id, w.event_type, w.status, sa.func.count(), sa.func.max(w.created_at), sa.func.max(w.id))
        .where(*where, w.status == status if status else w.status.in_(UNFINISHED))
        .group_by(w.connection_id, w.event_type, w.status)
        .order_by(sa.func.count().desc(), w.connection_id, w.event_type, w.status).limit(MAX_GROUPS)).all()
    samples = {s.id: s for s in db.session.scalars(sa.select(w).where(w.id.in_([r[-1] for r in rows])))} if rows else {}
    return [EventGroup(c, t, st, int(n), newest, samples.get(newest_id)) for c, t, st, n, newest, newest_id in rows]


def event_page(where: list, number: int) -> tuple[list[EventWebhookEvent], int]:
    return _page(EventWebhookEvent, where, number)


def act_on_event_group(connection_id: int | None, event_type: str, status: str, action: str, user: User,
                       reason: str) -> int:
    """Replay, ignore or resolve every event of a group (unfinished ones only); returns how many."""
    if action not in ("replay", "ignore", "resolve"):
        raise services.OpsRefused("Choose replay, ignore or resolve.")
    if status not in UNFINISHED:
        raise services.OpsRefused("Only failed, retrying or dead-lettered events are acted on as a group.")
    if action == "ignore" and not reason.strip():
        raise services.OpsRefused("Say why the events are ignored: the reason is kept with each of them.")
    w = EventWebhookEvent
    where = (w.connection_id.is_(None) if connection_id is None else w.connection_id == connection_id,
             w.event_type == event_type, w.status == status)
    change = {"replay": services.requeue, "ignore": lambda ev: services.mark_ignored(ev, user, reason),
              "resolve": lambda ev: services.mark_resolved(ev, user, reason)}[action]
    done = _each(w, where, change)
    if not done:
        raise services.OpsRefused("Nothing in this group is left to act on.")
    audit.record(f"webhook.group_{action}", None, user, connection_id=connection_id, event_type=event_type,
                 status=status, events=done, reason=reason.strip() or None)
    db.session.commit()
    return done
