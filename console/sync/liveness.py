"""Runs prove they are alive: a heartbeat on the run row while it works, and a sweep that closes every
run whose process stopped beating (killed, out of memory, the machine gone), whatever its kind (sync,
webhook, test batch, CSV import) and whatever its job's state. A swept run keeps what it committed:
its counts are written with every page, and the job's cursor with the page that moved it."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

import sqlalchemy as sa

from ..choices import ImportStatus, RunStatus
from ..extensions import db
from ..models import CsvImport, IntegrationSyncRun
from ..models.base import utcnow
from .repeating import repeating

log = logging.getLogger(__name__)
BEAT_SECONDS = 15
STOPPED_AFTER = timedelta(minutes=2)  # eight missed beats: the process is gone, not slow
STOPPED_MESSAGE = ("The process running this stopped (no heartbeat since {at:%Y-%m-%d %H:%M:%S} UTC). What it "
                   "committed is kept; the next run resumes from the last saved cursor.")


def heartbeat(run_id: int, every: float = BEAT_SECONDS):
    """Beat for `run_id` on a thread of its own (its own connection) until the block ends: a run
    waiting out a 429 storm is alive although it commits nothing."""
    engine, table = db.engines[None], IntegrationSyncRun.__table__

    def beat() -> None:
        with engine.begin() as conn:
            conn.execute(sa.update(table).where(table.c.id == run_id, table.c.status == RunStatus.RUNNING.value)
                         .values(heartbeat_at=utcnow()))

    return repeating(every, beat, f"heartbeat-{run_id}")


def _fail_import(run_id: int) -> None:
    run = db.session.get(IntegrationSyncRun, run_id)
    imp = db.session.scalar(sa.select(CsvImport).where(CsvImport.run_id == run_id))
    if imp is None:
        return
    imp.status = ImportStatus.FAILED.value
    imp.error = (f"The import stopped after {run.seen:,} of {imp.row_count:,} rows ({run.created:,} new, "
                 f"{run.updated:,} updated, {run.failed:,} failed were kept); upload the file again to import "
                 "the rest: rows already imported count as unchanged.")


def sweep(now=None) -> list[int]:
    """Close runs whose heartbeat stopped; returns their ids. Safe to run in any number of processes:
    the UPDATE only matches a run that is still running with a stale beat."""
    now = now or utcnow()
    cutoff = now - STOPPED_AFTER
    last_sign = sa.func.coalesce(IntegrationSyncRun.heartbeat_at, IntegrationSyncRun.started_at,
                                 IntegrationSyncRun.created_at)
    stale = db.session.execute(sa.select(IntegrationSyncRun.id, last_sign, IntegrationSyncRun.kind).where(
        IntegrationSyncRun.status == RunStatus.RUNNING.value, last_sign < cutoff)).all()
    closed = []
    for run_id, last, kind in stale:
        if isinstance(last, str):  # SQLite hands back coalesce() of datetimes as text
            last = datetime.fromisoformat(last)
        changed = db.session.execute(
            sa.update(IntegrationSyncRun).where(IntegrationSyncRun.id == run_id,
                                                IntegrationSyncRun.status == RunStatus.RUNNING.value, last_sign < cutoff)
            .values(status=RunStatus.FAILED.value, finished_at=now, error_message=STOPPED_MESSAGE.format(at=last))
            .execution_options(synchronize_session=False)).rowcount
        if changed:
            closed.append(run_id)
            if kind == "csv_import":
                _fail_import(run_id)
    db.session.commit()
    if closed:
        log.warning("closed %d runs whose process stopped: %s", len(closed), closed)
    return closed

