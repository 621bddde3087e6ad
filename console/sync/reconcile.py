"""Reconciliation: the proof that the stored copy is exact, and its repair.

The provider's side is read straight from its list endpoint (every id and modification time, archived
included, one call per 100 records), never from our own cursor or search. It is compared with the
stored records and the open sync errors:

  missing           active at the provider, not stored, no open error explains it
  extra             stored as active, archived at the provider or unknown to it
  stale             stored at another version than the provider's current one
  wrongly_archived  stored as archived, active at the provider
  failing           not stored at the current version because a sync error holds it: open, retrying, or
                    ignored by a person with a reason (an unusable source value); each visible in ops
  ignored           active at the provider but outside the job's eligibility conditions
  in_flight         changed at the provider since the last completed sync started: the next run takes it

`repair` batch-reads every differing record and applies it through the normal page writer (a run of
kind "reconcile", newest wins), holding the job's lease so no sync of the same object runs meanwhile.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from ..choices import ErrorStatus, RunKind, RunStatus
from ..connectors.base import ConnectorError, Page, SourceRecord
from ..connectors.registry import source_label
from ..extensions import db
from ..mapping.service import load_spec
from ..models import (
    CrmLead,
    IntegrationConnection,
    IntegrationReconciliation,
    IntegrationSyncError,
    IntegrationSyncJob,
    IntegrationSyncRun,
)
from ..models.base import changed_rows, require, utcnow
from ..security.redact import redact_text
from . import runs
from .accounting import Tally
from .eligibility import ineligible_reason
from .lease import JobBusy, LeaseLost, fence, holding_lease
from .pipeline import PageWriter
from .provider import open_session
from .runs import RECONCILE_LEASE

log = logging.getLogger(__name__)
EXAMPLES = 10
REPAIR_PAGE = 100
SYNC_KINDS = (RunKind.SCHEDULED.value, RunKind.MANUAL.value, RunKind.BACKFILL.value)


@dataclass
class Comparison:
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        ("provider_active", "provider_archived", "stored_active", "stored_archived", "missing", "extra", "stale",
         "wrongly_archived", "failing", "ignored", "in_flight"), 0))
    ids: dict[str, list[str]] = field(default_factory=lambda: {k: [] for k in IntegrationReconciliation.KINDS})
    archived_at: dict[str, int] = field(default_factory=dict)  # provider archive time of "extra" ids

    def note(self, kind: str, external_id: str) -> None:
        self.counts[kind] += 1
        if kind in self.ids:
            self.ids[kind].append(external_id)


def _ms(dt: datetime | None) -> int | None:

    return None if dt is None else int(round(dt.replace(tzinfo=UTC).timestamp() * 1000))


def in_flight_since(job: IntegrationSyncJob) -> datetime | None:
    """The start of the newest completed sync of this job: changes after it may not be read yet."""
    return db.session.scalar(sa.select(sa.func.max(IntegrationSyncRun.started_at)).where(
        IntegrationSyncRun.job_id == job.id, IntegrationSyncRun.dry_run.is_(False),
        IntegrationSyncRun.kind.in_(SYNC_KINDS),
        IntegrationSyncRun.status.in_([RunStatus.SUCCEEDED.value, RunStatus.PARTIAL.value])))


def compare(connection: IntegrationConnection, job: IntegrationSyncJob, session) -> tuple[Comparison, datetime | None]:
    """Read the provider's inventory and compare it with the stored records, id by id."""
    since = in_flight_since(job)
    cutoff = _ms(since)
    eligibility = job.eligibility or []
    fields = [c["field"] for c in eligibility if isinstance(c, dict) and c.get("field")]
    stream = session.stream(job.object_type, [])
    active = {r.external_id: r for r in stream.inventory(archived=False, properties=fields)}
    archived = {r.external_id: r for r in stream.inventory(archived=True) if r.external_id not in active}
    stored = {ext: (ms, arch) for ext, ms, arch in (
        (ext, _ms(at), bool(arch)) for ext, at, arch in db.session.execute(
            sa.select(CrmLead.external_id, CrmLead.provider_updated_at, CrmLead.archived).where(
                CrmLead.connection_id == connection.id, CrmLead.object_type == job.object_type)))}
    failing = set(db.session.scalars(sa.select(IntegrationSyncError.external_id).where(
        IntegrationSyncError.connection_id == connection.id, IntegrationSyncError.object_type == job.object_type,
        IntegrationSyncError.status.in_([ErrorStatus.OPEN.value, ErrorStatus.RETRYING.value,
                                         ErrorStatus.IGNORED.value]))))
    out = Comparison()
    c = out.counts
    c["provider_active"], c["provider_archived"] = len(active), len(archived)
    c["stored_active"] = sum(1 for _, arch in stored.values() if not arch)
    c["stored_archived"] = len(stored) - c["stored_active"]

    def recent(rec: SourceRecord) -> bool:
        return cutoff is not None and rec.updated_ms >= cutoff

    for ext, rec in active.items():
        held = stored.get(ext)
        if ineligible_reason(rec.properties, eligibility):
            out.note("ignored", ext)
            continue
        current = held is not None and not held[1] and held[0] == rec.updated_ms
        if current:
            continue
        if ext in failing:
            out.note("failing", ext)
        elif recent(rec):
            out.note("in_flight", ext)
        elif held is None:
            out.note("missing", ext)
        elif held[1]:
            out.note("wrongly_archived", ext)
        else:
            out.note("stale", ext)
    for ext, (_, is_archived) in stored.items():
        if is_archived or ext in active:
            continue
        gone = archived.get(ext)
        if gone is not None and recent(gone):
            out.note("in_flight", ext)
            continue
        out.note("extra", ext)
        out.archived_at[ext] = gone.updated_ms if gone is not None else 0
    return out, since


def queue(connection: IntegrationConnection, object_type: str, trigger: str, repair: bool = False,
          user_id: int | None = None) -> IntegrationReconciliation:
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
    """Queued reconciliations, taken in one conditional UPDATE (sync/claims.py)."""
    ids = list(db.session.scalars(sa.select(IntegrationReconciliation.id).where(
        IntegrationReconciliation.status == RunStatus.QUEUED.value).order_by(IntegrationReconciliation.id).limit(limit)))
    return RECONCILE_LEASE.claim(ids, worker, where=[IntegrationReconciliation.status == RunStatus.QUEUED.value],
                                 status=RunStatus.RUNNING.value, started_at=utcnow())


def schedule_due(every: timedelta, now: datetime | None = None) -> int:
    """Queue the daily reconcile of every live connection's enabled jobs. The job's `reconcile_next_at`
    is claimed with a conditional UPDATE, so two dispatchers never queue the same one twice."""
    from ..choices import ConnectionStatus

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


def execute(rec_id: int, worker: str, client_options: dict | None = None) -> IntegrationReconciliation:
    """Compare (and repair when asked); the row records the outcome, provider trouble included. A queued
    row (the command line's) is claimed here; the lease is renewed while it works."""
    if require(IntegrationReconciliation, rec_id).status == RunStatus.QUEUED:
        claim = RECONCILE_LEASE.claim([rec_id], worker, where=[IntegrationReconciliation.status == RunStatus.QUEUED.value],
                                      status=RunStatus.RUNNING.value, started_at=utcnow())
        if not claim:
            return require(IntegrationReconciliation, rec_id)
    with RECONCILE_LEASE.renewing(rec_id, worker):
        return _execute(rec_id, worker, client_options)


def _execute(rec_id: int, worker: str, client_options: dict | None) -> IntegrationReconciliation:
    rec = require(IntegrationReconciliation, rec_id)
    connection = require(IntegrationConnection, rec.connection_id)
    job = db.session.scalar(sa.select(IntegrationSyncJob).where(
        IntegrationSyncJob.connection_id == rec.connection_id, IntegrationSyncJob.object_type == rec.object_type))
    try:
        if job is None:
            raise ConnectorError(f"The connection has no {rec.object_type} sync job to reconcile.")
        session = open_session(connection, **(client_options or {}))
        found, since = compare(connection, job, session)
        _store(rec, found, since)
        if rec.repair and rec.differences:
            rec.repaired, rec.repair_run_id = _repair(connection, job, found, session, worker)
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
    return rec


def _store(rec: IntegrationReconciliation, found: Comparison, since: datetime | None) -> None:
    for key, value in found.counts.items():
        setattr(rec, key, value)
    rec.in_flight_since = since
    rec.examples = {k: sorted(v, key=_id_order)[:EXAMPLES] for k, v in found.ids.items() if v}
    db.session.commit()


def _id_order(external_id: str) -> tuple:
    return (0, int(external_id), "") if external_id.isdigit() else (1, 0, external_id)


def _repair(connection: IntegrationConnection, job: IntegrationSyncJob, found: Comparison, session,
            worker: str) -> tuple[int, int]:
    """Apply the provider's current version of every differing record through the page writer."""
    ids = sorted({i for kind in IntegrationReconciliation.KINDS for i in found.ids[kind]}, key=_id_order)
    owner = f"{worker}:reconcile"
    with holding_lease(job.id, owner):
        run = runs.open_run(connection.id, job.object_type, RunKind.RECONCILE.value, job=job, worker=worker)
        db.session.commit()
        tally = Tally()
        spec = load_spec(connection.id, job.object_type, session.reference())
        fields = spec.requested([c["field"] for c in (job.eligibility or []) if isinstance(c, dict) and c.get("field")])
        writer = PageWriter(connection, job.object_type, spec, run, source_label(connection.provider.key),
                            job.eligibility, False, tally)
        writer.rewrite = True
        writer.fence = lambda: fence(job.id, owner)
        stream = session.stream(job.object_type, fields)
        error = None
        with runs.heartbeat(run):
            try:
                for i in range(0, len(ids), REPAIR_PAGE):
                    chunk = ids[i:i + REPAIR_PAGE]
                    records = stream.read(chunk)
                    held = {r.external_id for r in records}
                    records += [SourceRecord(x, {}, found.archived_at.get(x) or _ms(utcnow()) or 0, archived=True)
                                for x in chunk if x not in held and x in found.archived_at]
                    writer.apply(Page(records, {}), None)
            except (ConnectorError, LeaseLost) as exc:
                db.session.rollback()
                error = str(exc)
        run = runs.finish(run, tally, error, session.stats)
        db.session.commit()
        error = run.error_message if run.status == RunStatus.FAILED else None
        if error:
            raise ConnectorError(f"Repair stopped: {error}")
        return tally.created + tally.updated, run.id


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
