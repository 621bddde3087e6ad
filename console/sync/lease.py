"""A job's lease held outside the dispatcher: a sync run from the command line, a reconcile repair.

The lease is the same one the dispatcher claims (`lease_owner`, `lease_expires_at` on the job, taken
by a conditional UPDATE that only one process can win), so nothing else syncs that object meanwhile.
It is renewed on a thread while held and released at the end; it leaves the schedule alone."""
from __future__ import annotations

import time
from contextlib import contextmanager
from datetime import timedelta
from typing import Iterator

import sqlalchemy as sa

from ..extensions import db
from ..models import IntegrationSyncJob
from ..models.base import utcnow
from .repeating import repeating

LEASE_SECONDS = 60


class JobBusy(Exception):
    """Another process holds the job's lease (a sync of that object is running)."""


def _take(job_id: int, owner: str) -> bool:
    now = utcnow()
    won = db.session.execute(sa.update(IntegrationSyncJob).where(
        IntegrationSyncJob.id == job_id,
        sa.or_(IntegrationSyncJob.lease_expires_at.is_(None), IntegrationSyncJob.lease_expires_at < now))
        .values(lease_owner=owner, lease_expires_at=now + timedelta(seconds=LEASE_SECONDS))
        .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    return won == 1


@contextmanager
def holding_lease(job_id: int, owner: str, wait: float = 30.0) -> Iterator[None]:
    deadline = time.monotonic() + wait
    while not _take(job_id, owner):
        if time.monotonic() >= deadline:
            job = db.session.get(IntegrationSyncJob, job_id)
            raise JobBusy(f"A sync of {job.object_type if job else 'this object'} is running "
                          f"({job.lease_owner if job else 'another process'}); try again when it finishes.")
        time.sleep(1.0)
    engine, table = db.engines[None], IntegrationSyncJob.__table__

    def renew() -> None:
        with engine.begin() as conn:
            conn.execute(sa.update(table).where(table.c.id == job_id, table.c.lease_owner == owner)
                         .values(lease_expires_at=utcnow() + timedelta(seconds=LEASE_SECONDS)))

    try:
        with repeating(LEASE_SECONDS / 3, renew, f"lease-{job_id}"):
            yield
    finally:
        db.session.rollback()
        db.session.execute(sa.update(IntegrationSyncJob).where(
            IntegrationSyncJob.id == job_id, IntegrationSyncJob.lease_owner == owner)
            .values(lease_owner=None, lease_expires_at=None).execution_options(synchronize_session=False))
        db.session.commit()
