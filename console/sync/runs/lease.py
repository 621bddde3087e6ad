"""A sync job's lease (sync/runs/claims.py): whoever holds it is the only process syncing that object.

The dispatcher claims due jobs with it (jobs/dispatcher.py); `holding_lease` takes the same lease outside
the dispatcher (a sync run from the command line, a reconcile repair, the first complete sync) and leaves
the schedule alone."""
from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from ...extensions import db
from ...models import IntegrationSyncJob
from ...models.base import changed_rows, table, utcnow
from .claims import Lease

LEASE_SECONDS = 60
JOB_LEASE = Lease(IntegrationSyncJob, IntegrationSyncJob.lease_owner, IntegrationSyncJob.lease_expires_at,
                  LEASE_SECONDS)


class JobBusy(Exception):
    """Another process holds the job's lease (a sync of that object is running)."""


class LeaseLost(Exception):
    """Another process holds the job now: this one stalled past its lease (a long pause, SIGSTOP, a
    suspended VM) and was taken over while it slept."""


def fence(job_id: int, owner: str) -> None:
    """In the caller's transaction, just before it commits: extend the job's lease if `owner` still
    holds it, else raise LeaseLost (the caller rolls back, so the page, its counts and the cursor are
    not written). The UPDATE locks the job's row until that commit, so no process can claim the job
    between this check and the commit: a holder that woke after another claimed the job writes nothing,
    and one that wakes before anyone claimed it carries on."""
    jobs = table(IntegrationSyncJob)
    won = changed_rows(db.session.execute(sa.update(jobs).where(jobs.c.id == job_id, jobs.c.lease_owner == owner)
                                          .values(lease_expires_at=JOB_LEASE.deadline(utcnow()))))
    if won != 1:
        raise LeaseLost("Another process took this job over while this run was stalled past its lease; "
                        "this run stopped without writing its last page. Nothing is lost: the other run "
                        "carries on from the job's position.")


@contextmanager
def holding_lease(job_id: int, owner: str, wait: float = 30.0) -> Iterator[None]:
    deadline = time.monotonic() + wait
    while not JOB_LEASE.claim([job_id], owner):
        if time.monotonic() >= deadline:
            job = db.session.get(IntegrationSyncJob, job_id)
            raise JobBusy(f"A sync of {job.object_type if job else 'this object'} is running "
                          f"({job.lease_owner if job else 'another process'}); try again when it finishes.")
        time.sleep(1.0)
    try:
        with JOB_LEASE.renewing(job_id, owner):
            yield
    finally:
        db.session.rollback()
        JOB_LEASE.release(job_id, owner)
