"""Sync errors for triage: grouped by connection, object type and code (counts per status, a sample
message and offending value), the records of a filter a page at a time, and one action for a whole
group (retry, ignore with one reason, resolve), audited once with its count."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa

from .. import audit
from ..choices import ErrorStatus
from ..extensions import db
from ..models import IntegrationSyncError, User
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
    sample: IntegrationSyncError | None = field(default=None)

    @property
    def actionable(self) -> int:
        return self.open + self.retrying + self.dead_letter


def groups(f: ErrorFilter) -> list[Group]:
    """Errors per (connection, object type, code), the biggest first; without a status filter, only
    the groups with something still to do."""
    e = IntegrationSyncError

    def count(status: str):
        return sa.func.sum(sa.case((e.status == status, 1), else_=0))
    where = f.where() or []
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
    e = IntegrationSyncError
    total = db.session.scalar(sa.select(sa.func.count()).select_from(e).where(*f.where())) or 0
    rows = db.session.scalars(sa.select(e).where(*f.where()).order_by(e.id.desc())
                              .offset((max(1, number) - 1) * PAGE_SIZE).limit(PAGE_SIZE)).all()
    return list(rows), int(total)


def act_on_group(connection_id: int, object_type: str, code: str, action: str, user: User, reason: str) -> int:
    """Retry, ignore or resolve every error of a group still to be dealt with; returns how many."""
    if action not in ("retry", "ignore", "resolve"):
        raise services.OpsRefused("Choose retry, ignore or resolve.")
    if action == "ignore" and not reason.strip():
        raise services.OpsRefused("Say why the errors are ignored: the reason is kept with each of them.")
    e = IntegrationSyncError
    where = (e.connection_id == connection_id, e.object_type == object_type, e.code == code, e.status.in_(OPEN_STATES))
    done, last_id = 0, 0
    while True:  # keyset chunks: each error changed once, whatever happens to the others meanwhile
        chunk = db.session.scalars(sa.select(e).where(*where, e.id > last_id).order_by(e.id).limit(CHUNK)).all()
        if not chunk:
            break
        last_id = chunk[-1].id
        for err in chunk:
            if action == "retry":
                services.make_due(err)
            else:
                services.close(err, user, ErrorStatus.IGNORED if action == "ignore" else ErrorStatus.RESOLVED, reason)
        done += len(chunk)
        db.session.commit()
    if not done:
        raise services.OpsRefused("Nothing in this group is open any more.")
    audit.record(f"sync_error.group_{action}", None, user, connection_id=connection_id, object_type=object_type,
                 code=code, errors=done, reason=reason.strip() or None)
    db.session.commit()
    return done
