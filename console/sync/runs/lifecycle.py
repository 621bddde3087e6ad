"""A run's life, and the one module that writes a run's status and counts.

    open_run (queued, or running at once) -> claim_queued (queued -> running, with a lease)
    -> heartbeat (renews the lease while it works) -> finish / fail (final) ; or sweep (the lease ran out)

Every running run holds a lease (`worker`, `lease_expires_at`, sync/runs/claims.py) renewed by its heartbeat;
a process that dies (killed, out of memory, the machine gone) stops renewing, and `sweep` fails the run
in any process, whatever its kind, saying what it had committed: its counts are written with every page,
and the job's cursor with the page that moved it, so the next run resumes from there. Features hear of
finished and stopped runs through sync/runs/events.py."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from ...choices import RunStatus
from ...extensions import db
from ...models import IntegrationReconciliation, IntegrationSyncJob, IntegrationSyncRun
from ...models.base import changed_rows, require, utcnow
from ...security.redact import redact_text
from . import hourly
from .accounting import Tally
from .claims import Lease, worker_id
from .events import announce_run_stopped

log = logging.getLogger(__name__)
BEAT_SECONDS = 15
STOPPED_AFTER = timedelta(minutes=2)  # eight missed beats: the process is gone, not slow
LEASE = Lease(IntegrationSyncRun, IntegrationSyncRun.worker, IntegrationSyncRun.lease_expires_at,
              STOPPED_AFTER.total_seconds())
RECONCILE_LEASE = Lease(IntegrationReconciliation, IntegrationReconciliation.worker,
                        IntegrationReconciliation.lease_expires_at, STOPPED_AFTER.total_seconds())

Q, R, S, P, F, C = (RunStatus.QUEUED.value, RunStatus.RUNNING.value, RunStatus.SUCCEEDED.value,
                    RunStatus.PARTIAL.value, RunStatus.FAILED.value, RunStatus.CANCELLED.value)
# The allowed moves. A final status never changes: a run the sweep failed while its process was only
# stalled keeps the sweep's words when that process comes back to finish it.
TRANSITIONS: dict[str, frozenset[str]] = {Q: frozenset({R, F, C}), R: frozenset({S, P, F})}

STOPPED = hourly.STOPPED  # how a swept run's message begins (the stopped-runs alert)
STOPPED_MESSAGE = (STOPPED + " (no heartbeat since {at:%Y-%m-%d %H:%M:%S} UTC). It had "
                   "committed {seen:,} records read ({created:,} new, {updated:,} updated, {unchanged:,} "
                   "unchanged, {duplicate:,} duplicate, {failed:,} failed); they are kept, and the next run "
                   "resumes from the last saved cursor.")


def open_run(connection_id: int, object_type: str, kind: str, *, job: IntegrationSyncJob | None = None,
             queued: bool = False, worker: str | None = None, **fields: Any) -> IntegrationSyncRun:
    """A new run row, queued for the dispatcher's pool or running at once under `worker`'s lease
    (flushed, not committed: the caller commits it with whatever else it records)."""
    now = utcnow()
    run = IntegrationSyncRun(job_id=job.id if job is not None else None, connection_id=connection_id,
                             object_type=object_type, kind=kind, **fields)
    if queued:
        run.status = Q
    else:
        run.status, run.started_at, run.heartbeat_at = R, now, now
        run.worker, run.lease_expires_at = worker or worker_id(), LEASE.deadline(now)
        run.cursor_before = job.cursor if job is not None else None
    db.session.add(run)
    db.session.flush()
    return run


def claim_queued(worker: str, limit: int) -> list[int]:
    """Take up to `limit` queued runs (test batches, first complete syncs, CSV imports) in one UPDATE."""
    ids = db.session.scalars(sa.select(IntegrationSyncRun.id).where(IntegrationSyncRun.status == Q)
                             .order_by(IntegrationSyncRun.id).limit(limit)).all()
    now = utcnow()
    return LEASE.claim(ids, worker, where=[IntegrationSyncRun.status == Q], now=now, status=R, started_at=now,
                       heartbeat_at=now)


def start(run: IntegrationSyncRun) -> None:
    """Note the job's cursor as the run begins (a claimed run was queued before it was known)."""
    if run.job_id is not None and run.cursor_before is None:
        job = db.session.get(IntegrationSyncJob, run.job_id)
        run.cursor_before = job.cursor if job is not None else None
        db.session.commit()


def heartbeat(run: IntegrationSyncRun, every: float = BEAT_SECONDS):
    """Renew the run's lease on a thread of its own until the block ends: a run waiting out a 429 storm
    is alive although it commits nothing."""
    return LEASE.renewing(run.id, run.worker or "", where=[IntegrationSyncRun.__table__.c.status == R],
                          beat=lambda now: {"heartbeat_at": now}, every=every)


def _move(run: IntegrationSyncRun, status: str, message: str | None = None) -> bool:
    if status not in TRANSITIONS.get(run.status, frozenset()):
        log.warning("run %s is %s already; not moving it to %s", run.id, run.status, status)
        return False
    run.status = status
    if message:
        run.error_message = redact_text(message)[:1000]
    run.finished_at, run.lease_expires_at = utcnow(), None
    hourly.add_run(run, status)  # in the transaction that finishes the run
    return True


def finish(run: IntegrationSyncRun, tally: Tally, error: str | None = None, stats: Any = None) -> IntegrationSyncRun:
    """Close a running run with its counts and API use: failed with `error`, or when the accounting check
    fails; partial when records failed; succeeded otherwise. The caller commits."""
    run = db.session.merge(run)
    tally.store_on(run)
    if stats is not None:
        run.api_calls, run.rate_limited = stats.api_calls, stats.rate_limited
    error = error or tally.imbalance()
    _move(run, F if error else (P if tally.failed else S), error)
    return run


def fail(run: IntegrationSyncRun, message: str) -> IntegrationSyncRun:
    """Fail a queued or running run that never got to finish (its job was busy, it was refused). Commits."""
    run = db.session.merge(run)
    _move(run, F, message)
    db.session.commit()
    return run


def sweep(now: datetime | None = None) -> list[int]:
    """Fail every run and reconciliation whose lease ran out; returns the runs' ids. Safe in any number of
    processes: each UPDATE matches only a row still running with an expired lease."""
    now = now or utcnow()
    closed = [run_id for run_id in _expired_runs(now) if _stop(run_id, now)]
    _sweep_reconciliations(now)
    if closed:
        log.warning("closed %d runs whose process stopped: %s", len(closed), closed)
    return closed


def _last_sign():
    return sa.func.coalesce(IntegrationSyncRun.heartbeat_at, IntegrationSyncRun.started_at,
                            IntegrationSyncRun.created_at)


def _expired(now: datetime):
    """The lease ran out; a run from before leases (none set) is judged by its last heartbeat."""
    return sa.and_(IntegrationSyncRun.status == R, sa.or_(
        IntegrationSyncRun.lease_expires_at <= now,
        sa.and_(IntegrationSyncRun.lease_expires_at.is_(None), _last_sign() < now - STOPPED_AFTER)))


def _expired_runs(now: datetime) -> list[int]:
    return list(db.session.scalars(sa.select(IntegrationSyncRun.id).where(_expired(now))
                                   .order_by(IntegrationSyncRun.id)))


def _stop(run_id: int, now: datetime) -> bool:
    run = require(IntegrationSyncRun, run_id)
    last = run.heartbeat_at or run.started_at or run.created_at
    message = STOPPED_MESSAGE.format(at=last, seen=run.seen, created=run.created, updated=run.updated,
                                     unchanged=run.unchanged, duplicate=run.duplicate, failed=run.failed)
    changed = changed_rows(db.session.execute(sa.update(IntegrationSyncRun).where(IntegrationSyncRun.id == run_id, _expired(now))
                                 .values(status=F, finished_at=now, lease_expires_at=None, error_message=message)
                                 .execution_options(synchronize_session=False)))
    if changed:
        hourly.add_run(run, F, stopped=True)
    db.session.commit()
    if changed:
        db.session.expire(run)
        announce_run_stopped(run)
    return bool(changed)


def _sweep_reconciliations(now: datetime) -> None:
    db.session.execute(sa.update(IntegrationReconciliation).where(
        IntegrationReconciliation.status == R,
        sa.or_(IntegrationReconciliation.lease_expires_at <= now,
               sa.and_(IntegrationReconciliation.lease_expires_at.is_(None),
                       IntegrationReconciliation.started_at < now - STOPPED_AFTER)))
        .values(status=F, finished_at=now, lease_expires_at=None,
                error_message="The process running this reconciliation stopped before it finished; nothing was "
                              "repaired after its last saved page. Queue it again.")
        .execution_options(synchronize_session=False))
    db.session.commit()
