"""Reconciliation: the proof that the stored copy is exact, and its repair.

The provider's side is read straight from its list endpoint, never from our own cursor or search, and
compared with the stored records id by id and value by value (sync/proof/inventory_diff.py says how, and what
each kind of difference means).

`repair` batch-reads every differing record and applies it through the normal page writer (a run of
kind "reconcile"), whatever its stored version or hash says: the provider's current copy is the truth a
repair restores. It holds the job's lease so no sync of the same object runs meanwhile, and queues a
comparison after it, so what a repair could not heal is reported, never assumed away.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from ...choices import RunKind, RunStatus
from ...connectors.base import ConnectorError, Page, SourceRecord
from ...connectors.registry import source_label
from ...extensions import db
from ...mapping.mapper import MappingSpec
from ...models import IntegrationConnection, IntegrationReconciliation, IntegrationSyncJob, IntegrationSyncRun
from ...models.base import changed_rows, require, utcnow
from ...security.redact import redact_text
from ..inbound import links
from ..inbound.pipeline import PageWriter
from ..inbound.spec import inbound_spec
from ..provider import open_session
from ..runs import lifecycle as runs
from ..runs.accounting import Tally
from ..runs.frame import RunFrame
from ..runs.lease import JobBusy, holding_lease
from ..runs.lifecycle import RECONCILE_LEASE
from ..runs.page_commit import PageCommit
from .inventory_diff import Comparison, compare, ms

log = logging.getLogger(__name__)
EXAMPLES = 10
REPAIR_PAGE = 100


def queue(connection: IntegrationConnection, object_type: str, trigger: str, repair: bool = False,
          user_id: int | None = None, own: bool = False) -> IntegrationReconciliation:
    """The waiting reconcile (see `request`); `own`: a row of the caller's own, which it runs at once (the
    command line: a plain comparison must not run a repair someone else queued)."""
    if own:
        rec = IntegrationReconciliation(connection_id=connection.id, object_type=object_type, trigger=trigger,
                                        repair=repair, status=RunStatus.QUEUED.value, requested_by_user_id=user_id)
        db.session.add(rec)
        db.session.commit()
        return rec
    return request(connection, object_type, trigger, repair, user_id)[0]


def request(connection: IntegrationConnection, object_type: str, trigger: str, repair: bool = False,
            user_id: int | None = None) -> tuple[IntegrationReconciliation, bool]:
    """(the waiting reconcile of this connection and object, whether it is new). One waits at a time:
    25 clicks queue one full-inventory read, not 25 (a repair asked for later makes the waiting one repair).
    The job's row is locked first, so two requests at once cannot both find none waiting."""
    db.session.execute(sa.update(IntegrationSyncJob).where(
        IntegrationSyncJob.connection_id == connection.id, IntegrationSyncJob.object_type == object_type)
        .values(reconcile_next_at=IntegrationSyncJob.reconcile_next_at).execution_options(synchronize_session=False))
    waiting = db.session.scalar(sa.select(IntegrationReconciliation).where(
        IntegrationReconciliation.connection_id == connection.id, IntegrationReconciliation.object_type == object_type,
        IntegrationReconciliation.status == RunStatus.QUEUED.value).order_by(IntegrationReconciliation.id)
        .limit(1).with_for_update())
    if waiting is not None:
        waiting.repair = waiting.repair or repair
        db.session.commit()
        return waiting, False
    rec = IntegrationReconciliation(connection_id=connection.id, object_type=object_type, trigger=trigger,
                                    repair=repair, status=RunStatus.QUEUED.value, requested_by_user_id=user_id)
    db.session.add(rec)
    db.session.commit()
    return rec, True


def claim_queued(worker: str, limit: int) -> list[int]:
    """Queued reconciliations, taken in one conditional UPDATE (sync/runs/claims.py)."""
    ids = list(db.session.scalars(sa.select(IntegrationReconciliation.id).where(
        IntegrationReconciliation.status == RunStatus.QUEUED.value).order_by(IntegrationReconciliation.id).limit(limit)))
    return RECONCILE_LEASE.claim(ids, worker, where=[IntegrationReconciliation.status == RunStatus.QUEUED.value],
                                 status=RunStatus.RUNNING.value, started_at=utcnow())


def schedule_due(every: timedelta, now: datetime | None = None) -> int:
    """Queue the daily reconcile of every live connection's enabled jobs. The job's `reconcile_next_at`
    is claimed with a conditional UPDATE, so two dispatchers never queue the same one twice."""
    from ...choices import ConnectionStatus

    now = now or utcnow()
    due = db.session.execute(sa.select(IntegrationSyncJob.id, IntegrationSyncJob.connection_id,
                                       IntegrationSyncJob.object_type).join(IntegrationConnection).where(
        IntegrationConnection.status == ConnectionStatus.LIVE.value, IntegrationSyncJob.enabled.is_(True),
        sa.or_(IntegrationSyncJob.reconcile_next_at.is_(None), IntegrationSyncJob.reconcile_next_at <= now))).all()
    queued = 0
    for job_id, connection_id, object_type in due:
        won = changed_rows(db.session.execute(sa.update(IntegrationSyncJob).where(
            IntegrationSyncJob.id == job_id,
            sa.or_(IntegrationSyncJob.reconcile_next_at.is_(None), IntegrationSyncJob.reconcile_next_at <= now))
            .values(reconcile_next_at=now + every).execution_options(synchronize_session=False)))
        if won == 1:
            db.session.add(IntegrationReconciliation(connection_id=connection_id, object_type=object_type,
                                                     trigger="scheduled", status=RunStatus.QUEUED.value))
            queued += 1
        db.session.commit()
    return queued


def execute(rec_id: int, worker: str, client_options: dict | None = None,
            now: datetime | None = None) -> IntegrationReconciliation:
    """Compare (and repair when asked); the row records the outcome, provider trouble included. A queued
    row (the command line's) is claimed here; the lease is renewed while it works."""
    if require(IntegrationReconciliation, rec_id).status == RunStatus.QUEUED:
        claim = RECONCILE_LEASE.claim([rec_id], worker, where=[IntegrationReconciliation.status == RunStatus.QUEUED.value],
                                      status=RunStatus.RUNNING.value, started_at=utcnow())
        if not claim:
            return require(IntegrationReconciliation, rec_id)
    with RECONCILE_LEASE.renewing(rec_id, worker):
        return _execute(rec_id, worker, client_options, now)


def _execute(rec_id: int, worker: str, client_options: dict | None, now: datetime | None) -> IntegrationReconciliation:
    rec = require(IntegrationReconciliation, rec_id)
    connection = require(IntegrationConnection, rec.connection_id)
    job = db.session.scalar(sa.select(IntegrationSyncJob).where(
        IntegrationSyncJob.connection_id == rec.connection_id, IntegrationSyncJob.object_type == rec.object_type))
    repaired = False
    try:
        if job is None:
            raise ConnectorError(f"The connection has no {rec.object_type} sync job to reconcile.")
        session = open_session(connection, **(client_options or {}))
        spec = inbound_spec(connection.id, job, job.object_type, session.reference())
        found, since = compare(connection, job, session, spec, now)
        _store(rec, found, since)
        if rec.repair and rec.differences:
            rec.repaired, rec.repair_run_id = _repair(connection, job, found, session, worker, spec)
            repaired = True
        rec.status = RunStatus.SUCCEEDED.value
    except (ConnectorError, JobBusy) as exc:
        db.session.rollback()
        rec = require(IntegrationReconciliation, rec_id)
        rec.status, rec.error_message = RunStatus.FAILED.value, redact_text(str(exc))[:1000]
    except Exception as exc:
        db.session.rollback()
        log.exception("reconciliation %s failed", rec_id)
        rec = require(IntegrationReconciliation, rec_id)
        rec.status, rec.error_message = RunStatus.FAILED.value, f"Internal error: {type(exc).__name__}"
    rec.finished_at, rec.lease_expires_at = utcnow(), None
    db.session.commit()
    if repaired:
        request(connection, rec.object_type, "after repair")  # what the repair left is reported, not assumed
    return rec


def _store(rec: IntegrationReconciliation, found: Comparison, since: datetime | None) -> None:
    for key, value in found.counts.items():
        setattr(rec, key, value)
    rec.in_flight_since = since
    examples: dict = {k: sorted(v, key=_id_order)[:EXAMPLES] for k, v in found.ids.items() if v}
    if found.fields:
        examples["fields"] = {k: found.fields[k] for k in sorted(found.fields, key=_id_order)}
    if found.pending:
        examples["pending_push"] = found.pending[:EXAMPLES]
    rec.examples = examples
    db.session.commit()


def _id_order(external_id: str) -> tuple:
    return (0, int(external_id), "") if external_id.isdigit() else (1, 0, external_id)


def _repair(connection: IntegrationConnection, job: IntegrationSyncJob, found: Comparison, session,
            worker: str, spec) -> tuple[int, int]:
    """Apply the provider's current copy of every differing record through the page writer, whatever the
    stored version or hash says (a version the provider never had, values a hash no longer describes)."""
    ids = sorted({i for kind in IntegrationReconciliation.KINDS for i in found.ids[kind]}, key=_id_order)
    owner = f"{worker}:reconcile"
    with holding_lease(job.id, owner):
        run = runs.open_run(connection.id, job.object_type, RunKind.RECONCILE.value, job=job, worker=worker)
        db.session.commit()
        tally = Tally()
        run = RepairFrame(run, tally, connection, job, session, spec, ids, found, owner).execute()
        error = run.error_message if run.status == RunStatus.FAILED else None
        if error:
            raise ConnectorError(f"Repair stopped: {error}")
        return tally.created + tally.updated, run.id


class RepairFrame(RunFrame):
    """A reconcile's repair run: the provider's current copy of each differing record, REPAIR_PAGE a page."""

    marks_credentials = False

    def __init__(self, run: IntegrationSyncRun, tally: Tally, connection: IntegrationConnection,
                 job: IntegrationSyncJob, session: Any, spec: MappingSpec, ids: list[str], found: Comparison,
                 owner: str) -> None:
        super().__init__(run, tally, connection)
        self.session, self.job, self.spec, self.ids, self.found, self.owner = session, job, spec, ids, found, owner

    def body(self) -> None:
        run, job, spec, found, tally = self.run, self.job, self.spec, self.found, self.tally
        fields = spec.requested([c["field"] for c in (job.eligibility or []) if isinstance(c, dict) and c.get("field")])
        writer = PageWriter(self.connection, job.object_type, spec, run, source_label(self.connection.provider.key),
                            job.eligibility, False, tally, PageCommit(run, tally, self.session.stats, job.id, self.owner))
        writer.rewrite = writer.force = True
        stream = self.session.stream(job.object_type, fields)
        to_types = links.linked_types(self.session, self.connection.id, job.object_type)
        for i in range(0, len(self.ids), REPAIR_PAGE):
            chunk = self.ids[i:i + REPAIR_PAGE]
            records = stream.read(chunk)
            held = {r.external_id for r in records}
            records += [SourceRecord(x, {}, found.archived_at.get(x) or ms(utcnow()) or 0, archived=True)
                        for x in chunk if x not in held and x in found.archived_at]
            # the associations of every record repaired, read now (those of a record gone are none)
            writer.apply(Page(records, {}, links=links.read(self.session, job.object_type, to_types, chunk)), None)


def latest(connection_ids: list[int]) -> dict[tuple[int, str], IntegrationReconciliation]:
    """The newest finished reconciliation of each (connection, object type)."""
    if not connection_ids:
        return {}
    newest = (sa.select(sa.func.max(IntegrationReconciliation.id)).where(
        IntegrationReconciliation.connection_id.in_(connection_ids),
        IntegrationReconciliation.status == RunStatus.SUCCEEDED.value)
        .group_by(IntegrationReconciliation.connection_id, IntegrationReconciliation.object_type))
    rows = db.session.scalars(sa.select(IntegrationReconciliation).where(IntegrationReconciliation.id.in_(newest)))
    return {(r.connection_id, r.object_type): r for r in rows}
