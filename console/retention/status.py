"""What the retention admin page shows: per table its policy, how many rows it holds, its oldest row,
and how many are past their age now; and the nightly pass's last result and next time."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from ..extensions import db
from ..kept import kept
from ..models import EventAdminAction, MaintenanceTask
from ..models.base import utcnow
from .nightly import TASK
from .policy import policies
from .run import count_due


@dataclass(frozen=True)
class TableState:
    table: str
    words: str
    days: int | None
    rollup: bool
    rows: int
    oldest: datetime | None
    due: int


COUNTED_FOR = 60.0  # seconds a process keeps the counts: counting a million-row table takes most of a second


def counted() -> tuple[datetime, list[TableState]]:
    """The tables' states as counted at most COUNTED_FOR seconds ago in this process, and when."""
    return kept("retention_tables", COUNTED_FOR, tables)


def tables() -> list[TableState]:
    out = []
    now = utcnow()
    for p in policies():
        model = p.model or EventAdminAction  # the audit log: shown, never removed
        column = getattr(model, p.time_column)
        rows, oldest = db.session.execute(sa.select(sa.func.count(), sa.func.min(column)).select_from(model)).one()
        due = count_due(p, now - timedelta(days=p.days)) if p.model is not None and p.days is not None else 0
        out.append(TableState(p.table, p.words, p.days if p.model is not None else None, p.rollup, int(rows or 0),
                              oldest, due))
    return out


def last_pass() -> MaintenanceTask | None:
    return db.session.scalar(sa.select(MaintenanceTask).where(MaintenanceTask.name == TASK))
