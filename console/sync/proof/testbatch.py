"""Work a person queues for the dispatcher's pool, never run inside the request: test batches (a small
dry run per object type: no business record is written) and the first complete sync (real, staged runs).
The dispatcher claims them (sync/runs/lifecycle.py) and jobs/executors.py runs them. A passing batch
(sync/proof/verdict.py) sets the last-tested date."""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from ... import audit
from ...choices import ConnectionStatus, CredentialStatus, RunKind, RunStatus
from ...extensions import db
from ...models import IntegrationConnection, IntegrationSyncJob, IntegrationSyncRun, User
from ...models.base import require, utcnow
from ...refusals import Refused
from ..inbound import failures
from ..runs import lifecycle as runs

DEFAULT_SIZE, MAX_SIZE = 25, 200
STUCK_AFTER = timedelta(minutes=10)


class TestBatchRefused(Refused):
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
    queued = _queued(conn, jobs, user, RunKind.TEST_BATCH, dry_run=True, record_limit=size)
    for run in queued:
        audit.record("test_batch.queued", conn, user, run_id=run.id, object_type=run.object_type, size=size)
    if conn.status == ConnectionStatus.DRAFT:
        conn.status = ConnectionStatus.TESTING.value
        audit.record("connection.status_changed", conn, user, old=ConnectionStatus.DRAFT.value,
                     new=ConnectionStatus.TESTING.value, why="first test batch queued")
    db.session.commit()
    return queued


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
    queued = _queued(conn, jobs, user, RunKind.BACKFILL, dry_run=False, record_limit=None)
    audit.record("first_sync.queued", conn, user, run_ids=[r.id for r in queued],
                 objects=[j.object_type for j in jobs])
    db.session.commit()
    return queued


def _queued(conn: IntegrationConnection, jobs: list[IntegrationSyncJob], user: User, kind: RunKind, *, dry_run: bool,
            record_limit: int | None) -> list[IntegrationSyncRun]:
    return [runs.open_run(conn.id, job.object_type, kind.value, job=job, queued=True, dry_run=dry_run,
                          record_limit=record_limit, triggered_by_user_id=user.id) for job in jobs]


def _busy(conn: IntegrationConnection, kind: RunKind) -> bool:
    return bool(db.session.scalar(sa.select(sa.func.count()).select_from(IntegrationSyncRun).where(
        IntegrationSyncRun.connection_id == conn.id, IntegrationSyncRun.kind == kind.value,
        IntegrationSyncRun.status.in_([RunStatus.QUEUED.value, RunStatus.RUNNING.value]),
        IntegrationSyncRun.created_at > utcnow() - STUCK_AFTER)))


def record_test_result(run: IntegrationSyncRun) -> None:
    """Audit the batch's verdict; a passing batch becomes the connection's last test."""
    from .verdict import judge

    conn = require(IntegrationConnection, run.connection_id)
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
