"""Test batches: a small dry run (no business record is written) queued by a person and run by the
dispatcher's pool, never inside the request. A batch with no failures sets the last-tested date."""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from .. import audit
from ..choices import RunKind, RunStatus
from ..extensions import db
from ..models import IntegrationConnection, IntegrationSyncJob, IntegrationSyncRun, User
from ..models.base import utcnow

DEFAULT_SIZE, MAX_SIZE = 25, 200
STUCK_AFTER = timedelta(minutes=10)


class TestBatchRefused(Exception):
    pass


def queue(conn: IntegrationConnection, job: IntegrationSyncJob, size: int, user: User) -> IntegrationSyncRun:
    if not 1 <= size <= MAX_SIZE:
        raise TestBatchRefused(f"A test batch takes 1 to {MAX_SIZE} records.")
    if conn.account is None or not conn.account.credentials_enc:
        raise TestBatchRefused("Store and check the credentials first (connection step).")
    busy = db.session.scalar(sa.select(sa.func.count()).select_from(IntegrationSyncRun).where(
        IntegrationSyncRun.connection_id == conn.id, IntegrationSyncRun.kind == RunKind.TEST_BATCH.value,
        IntegrationSyncRun.status.in_([RunStatus.QUEUED.value, RunStatus.RUNNING.value]),
        IntegrationSyncRun.created_at > utcnow() - STUCK_AFTER))
    if busy:
        raise TestBatchRefused("A test batch is already running for this connection; wait for it to finish.")
    run = IntegrationSyncRun(job_id=job.id, connection_id=conn.id, object_type=job.object_type,
                             kind=RunKind.TEST_BATCH.value, status=RunStatus.QUEUED.value, dry_run=True,
                             record_limit=size, triggered_by_user_id=user.id)
    db.session.add(run)
    db.session.flush()
    audit.record("test_batch.queued", conn, user, run_id=run.id, object_type=job.object_type, size=size)
    db.session.commit()
    return run


def claim_queued(worker: str, limit: int) -> list[int]:
    """Take queued test batches with a conditional UPDATE, so one process runs each."""
    ids = list(db.session.scalars(sa.select(IntegrationSyncRun.id).where(
        IntegrationSyncRun.status == RunStatus.QUEUED.value).order_by(IntegrationSyncRun.id).limit(limit)))
    won = []
    for run_id in ids:
        changed = db.session.execute(
            sa.update(IntegrationSyncRun).where(IntegrationSyncRun.id == run_id,
                                                IntegrationSyncRun.status == RunStatus.QUEUED.value)
            .values(status=RunStatus.RUNNING.value, worker=worker, started_at=utcnow(), heartbeat_at=utcnow())
            .execution_options(synchronize_session=False)).rowcount
        db.session.commit()
        if changed == 1:
            won.append(run_id)
    return won


def run_claimed(run_id: int) -> None:
    """Run a claimed queued run: a test batch, or a CSV import (queued the same way)."""
    from .runner import execute

    run = db.session.get(IntegrationSyncRun, run_id)
    if run.kind == RunKind.CSV_IMPORT:
        from ..imports.service import execute as execute_import
        from .liveness import heartbeat

        with heartbeat(run.id):
            execute_import(run)
    else:
        execute(run, full=True, keep_outcomes=True)


def record_test_result(run: IntegrationSyncRun) -> None:
    """A passing batch (it finished, saw records, none failed) becomes the connection's last test."""
    from ..wizard import checklist

    conn = db.session.get(IntegrationConnection, run.connection_id)
    passed = run.status == RunStatus.SUCCEEDED and run.failed == 0 and run.seen > 0
    if passed:
        conn.last_tested_at, conn.last_test_run_id = run.finished_at, run.id
        checklist.prove(conn, "test_batch_reviewed", True, f"test batch #{run.id}: {run.seen} records, none failed")
    audit.record("test_batch.finished", conn, None, run_id=run.id, passed=passed, seen=run.seen, failed=run.failed)
    db.session.commit()


def outcomes(run: IntegrationSyncRun) -> list[dict]:
    return [{"external_id": o[0], "bucket": o[1], "reason": o[2]} for o in (run.outcomes or [])]
