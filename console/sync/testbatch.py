"""Work a person queues for the dispatcher's pool, never run inside the request: test batches (a small
dry run per object type: no business record is written) and the first complete sync (real, staged runs).
A passing batch (sync/verdict.py) sets the last-tested date."""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from .. import audit
from ..choices import ConnectionStatus, CredentialStatus, RunKind, RunStatus
from ..extensions import db
from ..models import IntegrationConnection, IntegrationSyncJob, IntegrationSyncRun, User
from ..models.base import utcnow
from . import failures

DEFAULT_SIZE, MAX_SIZE = 25, 200
STUCK_AFTER = timedelta(minutes=10)


class TestBatchRefused(Exception):
    pass


def queue(conn: IntegrationConnection, jobs: list[IntegrationSyncJob], size: int, user: User) -> list[IntegrationSyncRun]:
    """Queue one dry-run batch per job (one object type, or every enabled one). The first batch of a
    draft connection moves it to testing: the only way a draft leaves draft, and it is audited."""
    if not 1 <= size <= MAX_SIZE:
        raise TestBatchRefused(f"A test batch takes 1 to {MAX_SIZE} records.")
    if conn.account is None or not conn.account.credentials_enc:
        raise TestBatchRefused("Store and check the credentials first (connection step).")
    if not jobs:
        raise TestBatchRefused("No enabled sync job to test: choose the records to sync on the mapping step.")
    if _busy(conn, RunKind.TEST_BATCH):
        raise TestBatchRefused("A test batch is already running for this connection; wait for it to finish.")
    runs = _queued(conn, jobs, user, RunKind.TEST_BATCH, dry_run=True, record_limit=size)
    for run in runs:
        audit.record("test_batch.queued", conn, user, run_id=run.id, object_type=run.object_type, size=size)
    if conn.status == ConnectionStatus.DRAFT:
        conn.status = ConnectionStatus.TESTING.value
        audit.record("connection.status_changed", conn, user, old=ConnectionStatus.DRAFT.value,
                     new=ConnectionStatus.TESTING.value, why="first test batch queued")
    db.session.commit()
    return runs


def queue_first_sync(conn: IntegrationConnection, jobs: list[IntegrationSyncJob], user: User) -> list[IntegrationSyncRun]:
    """The first complete sync: one full, real run per enabled job, queued for the dispatcher's pool.
    Its records are stored but staged: nothing shows them to the client before go-live."""
    if conn.status == ConnectionStatus.DRAFT:
        raise TestBatchRefused("Run a test batch first (test step): the first complete sync comes after it.")
    if conn.status != ConnectionStatus.TESTING:
        raise TestBatchRefused("The first complete sync runs before go-live; a live connection syncs on schedule.")
    if conn.account is None or conn.account.credentials_status != CredentialStatus.VALID:
        raise TestBatchRefused("Verify the credentials first (connection step).")
    if not jobs:
        raise TestBatchRefused("No enabled sync job: choose the records to sync on the mapping step.")
    if _busy(conn, RunKind.BACKFILL):
        raise TestBatchRefused("The first complete sync is already running; its progress is below.")
    runs = _queued(conn, jobs, user, RunKind.BACKFILL, dry_run=False, record_limit=None)
    audit.record("first_sync.queued", conn, user, run_ids=[r.id for r in runs],
                 objects=[j.object_type for j in jobs])
    db.session.commit()
    return runs


def _queued(conn: IntegrationConnection, jobs: list[IntegrationSyncJob], user: User, kind: RunKind, *, dry_run: bool,
            record_limit: int | None) -> list[IntegrationSyncRun]:
    runs = [IntegrationSyncRun(job_id=job.id, connection_id=conn.id, object_type=job.object_type, kind=kind.value,
                               status=RunStatus.QUEUED.value, dry_run=dry_run, record_limit=record_limit,
                               triggered_by_user_id=user.id) for job in jobs]
    db.session.add_all(runs)
    db.session.flush()
    return runs


def _busy(conn: IntegrationConnection, kind: RunKind) -> bool:
    return bool(db.session.scalar(sa.select(sa.func.count()).select_from(IntegrationSyncRun).where(
        IntegrationSyncRun.connection_id == conn.id, IntegrationSyncRun.kind == kind.value,
        IntegrationSyncRun.status.in_([RunStatus.QUEUED.value, RunStatus.RUNNING.value]),
        IntegrationSyncRun.created_at > utcnow() - STUCK_AFTER)))


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
    elif run.kind == RunKind.BACKFILL:
        from .lease import JobBusy, holding_lease

        try:  # the job's own lease: nothing else syncs this object meanwhile (a `flask sync run`, say)
            with holding_lease(run.job_id, run.worker or "first-sync", wait=5.0):
                execute(run, full=True)
        except JobBusy as busy:
            run.status, run.finished_at, run.error_message = RunStatus.FAILED.value, utcnow(), str(busy)
            db.session.commit()
    else:
        execute(run, full=True, keep_outcomes=True)


def record_test_result(run: IntegrationSyncRun) -> None:
    """Audit the batch's verdict; a passing batch becomes the connection's last test."""
    from .verdict import judge

    conn = db.session.get(IntegrationConnection, run.connection_id)
    verdict = judge(run, conn)
    if verdict.passes:
        conn.last_tested_at, conn.last_test_run_id = run.finished_at, run.id
    audit.record("test_batch.finished", conn, None, run_id=run.id, object_type=run.object_type,
                 passed=verdict.passes, seen=run.seen, failed=run.failed)
    db.session.commit()


def outcomes(run: IntegrationSyncRun) -> list[dict]:
    rows = [list(o) + ["", ""] for o in (run.outcomes or [])]
    return [{"external_id": o[0], "bucket": o[1], "reason": o[2], "code": o[3] or "",
             "failure_class": failures.class_of(o[3]) if o[1] == "failed" else "", "field": o[4] or ""}
            for o in rows]
