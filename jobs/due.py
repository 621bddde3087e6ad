"""Which sync jobs are due and may start now, and their claim: outside their blackout window, after the
jobs they depend on, and fairly across clients (round-robin, a per-client cap of concurrent runs)."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app

from console.choices import SCHEDULED_STATUSES
from console.extensions import db
from console.models import IntegrationConnection, IntegrationSyncJob
from console.models.base import require, utcnow
from console.sync.runs.lease import JOB_LEASE


def in_blackout(blackout: dict | None, now_utc: datetime) -> datetime | None:
    """If now falls in the job's blackout window, return when it ends (UTC, naive)."""
    if not blackout:
        return None
    tz = ZoneInfo(blackout.get("timezone", "UTC"))
    local = now_utc.replace(tzinfo=ZoneInfo("UTC")).astimezone(tz)
    start = datetime.strptime(blackout["start"], "%H:%M").time()
    end = datetime.strptime(blackout["end"], "%H:%M").time()
    t = local.time()
    inside = (start <= t < end) if start < end else (t >= start or t < end)
    if not inside:
        return None
    end_local = local.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
    if end_local <= local:
        end_local += timedelta(days=1)
    return end_local.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


def _dependency_pending(job: IntegrationSyncJob, now: datetime) -> bool:
    """Companies run before the contacts and deals that associate with them."""
    if not job.depends_on:
        return False
    dep = db.session.scalar(sa.select(IntegrationSyncJob).where(
        IntegrationSyncJob.connection_id == job.connection_id, IntegrationSyncJob.object_type == job.depends_on,
        IntegrationSyncJob.enabled.is_(True)))
    if dep is None:
        return False
    return dep.last_success_at is None or (dep.next_run_at is not None and dep.next_run_at <= now) \
        or (dep.lease_expires_at is not None and dep.lease_expires_at > now)


def claim_due(worker: str, limit: int = 4, per_client: int | None = None) -> list[int]:
    """Take up to `limit` due jobs of live connections (outside their blackout, after the jobs they depend
    on), fairly: round-robin across clients (the client waiting longest first), and within a client across
    its connections, never more than `per_client` runs of one client at once across every process
    (CONSOLE_CLIENT_CONCURRENCY, default 2). One client's sixty jobs on a one-minute schedule take two
    workers; the others' jobs take the rest. The claim itself is the one lease (sync/runs/claims.py)."""
    now = utcnow()
    cap = per_client if per_client is not None else int(current_app.config.get("CLIENT_CONCURRENCY", 2))
    job, conn = IntegrationSyncJob, IntegrationConnection
    due = (sa.select(job.id, job.connection_id, conn.client_id, job.next_run_at,
                     sa.func.row_number().over(partition_by=job.connection_id,
                                               order_by=(job.next_run_at, job.id)).label("turn"))
           .join(conn).where(job.enabled.is_(True), job.paused_reason.is_(None), job.next_run_at <= now,
                             conn.status.in_(SCHEDULED_STATUSES), JOB_LEASE.free(now))).subquery()
    rows = db.session.execute(sa.select(due).where(due.c.turn <= max(1, cap))).all()  # a connection's next few
    running = dict(db.session.execute(sa.select(conn.client_id, sa.func.count()).join(job).where(
        job.lease_expires_at > now).group_by(conn.client_id)).all())
    queues: dict[int, list] = {}
    for row in sorted(rows, key=lambda r: (r.turn, r.next_run_at, r.id)):  # each connection's first, then seconds
        queues.setdefault(row.client_id, []).append(row)
    wanted: list[int] = []
    for client_id in sorted(queues, key=lambda c: min(r.next_run_at for r in queues[c])):  # longest waiting first
        room = cap - running.get(client_id, 0)
        for row in queues[client_id]:
            if room <= 0 or len(wanted) >= limit:
                break
            candidate = require(IntegrationSyncJob, row.id)
            blackout_end = in_blackout(candidate.blackout, now)
            if blackout_end is not None:
                candidate.next_run_at = blackout_end
            elif not _dependency_pending(candidate, now):
                wanted.append(row.id)
                room -= 1
    db.session.commit()
    return JOB_LEASE.claim(wanted, worker, now=now, where=[IntegrationSyncJob.enabled.is_(True),
                                                           IntegrationSyncJob.paused_reason.is_(None),
                                                           IntegrationSyncJob.next_run_at <= now])


def others_waiting(client_id: int) -> bool:
    """Whether another client's job has been due for a tick or more with no thread to take it (its client
    under the cap): the question a long run asks before it yields between pages."""
    now = utcnow()
    cap = int(current_app.config.get("CLIENT_CONCURRENCY", 2))
    since = now - timedelta(seconds=float(current_app.config.get("SCHEDULER_INTERVAL_SECONDS", 5)))
    job, conn = IntegrationSyncJob, IntegrationConnection
    clients = set(db.session.scalars(sa.select(conn.client_id).join(job).where(
        job.enabled.is_(True), job.paused_reason.is_(None), job.next_run_at <= since, conn.client_id != client_id,
        conn.status.in_(SCHEDULED_STATUSES), JOB_LEASE.free(now)).distinct().limit(100)))
    if not clients:
        return False
    running = dict(db.session.execute(sa.select(conn.client_id, sa.func.count()).join(job).where(
        job.lease_expires_at > now, conn.client_id.in_(clients)).group_by(conn.client_id)).all())
    return any(running.get(c, 0) < cap for c in clients)
