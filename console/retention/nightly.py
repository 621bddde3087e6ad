"""The nightly retention pass, claimed with the same lease as every other kind of background work: the
dispatcher of whichever process wins the row runs it; a process that dies mid-pass stops renewing, and
once the lease runs out the next tick anywhere takes the pass again (batches already deleted stay
deleted; one archived but not deleted is archived again into the same file)."""
from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import MaintenanceTask
from ..models.base import utcnow
from ..sync.runs.claims import Lease
from .run import run

TASK = "retention"
LEASE = Lease(MaintenanceTask, MaintenanceTask.lease_owner, MaintenanceTask.lease_expires_at, 300)


def next_slot(now: datetime) -> datetime:
    """The next CONSOLE_RETENTION_HOUR_UTC:00 (default 03:00 UTC) after `now`."""
    hour = int(current_app.config["RETENTION_HOUR_UTC"]) % 24
    slot = now.replace(hour=hour, minute=0, second=0, microsecond=0)
    return slot if slot > now else slot + timedelta(days=1)


def task() -> MaintenanceTask:
    row = db.session.scalar(sa.select(MaintenanceTask).where(MaintenanceTask.name == TASK))
    if row is None:
        db.session.add(MaintenanceTask(name=TASK, next_run_at=next_slot(utcnow())))
        try:
            db.session.commit()
        except IntegrityError:  # another process made it at the same moment
            db.session.rollback()
        row = db.session.scalar(sa.select(MaintenanceTask).where(MaintenanceTask.name == TASK))
    assert row is not None
    return row


def claim_due(worker: str, now: datetime | None = None) -> int | None:
    """The task's id when this process won tonight's pass, else None."""
    now = now or utcnow()
    row = task()
    if row.next_run_at > now:
        return None
    won = LEASE.claim([row.id], worker, where=[MaintenanceTask.next_run_at <= now], now=now)
    return won[0] if won else None


def run_claimed(task_id: int, worker: str) -> None:
    started, result = utcnow(), dict[str, Any]()
    try:
        with LEASE.renewing(task_id, worker):
            result = {"tables": [_plain(asdict(o)) for o in run()]}
    except Exception as exc:  # said on the admin page; the next night tries again
        db.session.rollback()
        result = {"error": f"{type(exc).__name__}: {exc}"[:500]}
        raise
    finally:
        LEASE.release(task_id, worker, next_run_at=next_slot(utcnow()), last_started_at=started,
                      last_finished_at=utcnow(), last_result=result)


def _plain(values: dict) -> dict:
    return {k: (v.isoformat(timespec="seconds") if isinstance(v, datetime) else v) for k, v in values.items()}
