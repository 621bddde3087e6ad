"""A sync job's lease (sync/claims.py): whoever holds it is the only process syncing that object.

The dispatcher claims due jobs with it (jobs/dispatcher.py); `holding_lease` takes the same lease outside
the dispatcher (a sync run from the command line, a reconcile repair, the first complete sync) and leaves
the schedule alone."""
from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from ..extensions import db
from ..models import IntegrationSyncJob
from .claims import Lease

LEASE_SECONDS = 60
JOB_LEASE = Lease(IntegrationSyncJob, IntegrationSyncJob.lease_owner, IntegrationSyncJob.lease_expires_at,
                  LEASE_SECONDS)


class JobBusy(Exception):
    """Another process holds the job's lease (a sync of that object is running)."""


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
