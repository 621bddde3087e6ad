"""The ops dashboard's figures: one row per connection that runs (or ran), each read with grouped queries
over all rows at once, and the last 7 days of runs and records per day for the chart. Counts of runs
come from the hourly rollups (sync/runs/hourly.py), so the cost grows with connections, not with runs."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import contains_eager, selectinload

from ..choices import ConnectionStatus
from ..extensions import db
from ..kept import forget, kept
from ..models import (
    Client,
    ConnectionHour,
    DataQualityCheck,
    IntegrationConnection,
    IntegrationSyncJob,
    IntegrationSyncRun,
    MonitorAlert,
)
from ..models.base import utcnow
from ..sync.runs import hourly
from . import freshness, quality
from .alerts import RANK, UNRESOLVED

SHOWN = (ConnectionStatus.LIVE.value, ConnectionStatus.TESTING.value, ConnectionStatus.PAUSED.value,
         ConnectionStatus.FAILED.value)


@dataclass
class Day:
    """The last 24 hours of a connection's runs (test batches and dry runs left out)."""

    runs: int = 0
    seen: int = 0
    written: int = 0
    failed: int = 0
    rate_limited: int = 0

    @property
    def error_rate_pct(self) -> float | None:
        return 100.0 * self.failed / self.seen if self.seen else None


@dataclass
class Row:
    connection: IntegrationConnection
    last_run: IntegrationSyncRun | None
    running: bool
    next_run_at: datetime | None
    day: Day
    fresh: freshness.Freshness
    checks: list[DataQualityCheck] = field(default_factory=list)
    breaches: list[quality.Breach] = field(default_factory=list)
    open_alerts: int = 0
    worst_alert: str | None = None
    object_runs: list[IntegrationSyncRun] = field(default_factory=list)  # each enabled job's newest run

    @property
    def budget_used_pct(self) -> float | None:
        account = self.connection.account
        if account is None or not account.rate_limit_daily or account.rate_limit_daily_remaining is None:
            return None
        return 100.0 * (account.rate_limit_daily - account.rate_limit_daily_remaining) / account.rate_limit_daily


def _connections() -> list[IntegrationConnection]:
    return list(db.session.scalars(sa.select(IntegrationConnection).join(Client).where(
        IntegrationConnection.status.in_(SHOWN)).order_by(Client.name, IntegrationConnection.name).limit(500)
        .options(contains_eager(IntegrationConnection.client), selectinload(IntegrationConnection.account))))


def _last_runs(ids: list[int]) -> dict[int, IntegrationSyncRun]:
    """The newest real run of each connection: one index lookup per connection, not a scan of its runs."""
    r = IntegrationSyncRun
    newest = (sa.select(sa.func.max(r.id)).where(r.connection_id == IntegrationConnection.id, r.dry_run.is_(False))
              .scalar_subquery())
    run_ids = [i for i in db.session.scalars(sa.select(newest).where(IntegrationConnection.id.in_(ids))) if i]
    return {run.connection_id: run for run in db.session.scalars(sa.select(r).where(r.id.in_(run_ids)))}


def _object_runs(ids: list[int]) -> dict[int, list[IntegrationSyncRun]]:
    """Each enabled job's newest real run (one index lookup per job, on runs.job_id): a connection whose
    deals succeed while its contacts fail every minute shows both, not only whichever ran last."""
    j, r = IntegrationSyncJob, IntegrationSyncRun
    newest = sa.select(sa.func.max(r.id)).where(r.job_id == j.id, r.dry_run.is_(False)).scalar_subquery()
    run_ids = [i for i in db.session.scalars(sa.select(newest).where(j.connection_id.in_(ids), j.enabled.is_(True))) if i]
    out: dict[int, list[IntegrationSyncRun]] = {}
    for run in db.session.scalars(sa.select(r).where(r.id.in_(run_ids)).order_by(r.object_type)):
        out.setdefault(run.connection_id, []).append(run)
    return out


def _schedule(ids: list[int], now: datetime) -> dict[int, tuple[datetime | None, bool]]:
    """Per connection: the soonest next run of an enabled job that is not held (schema drift), and whether a
    job holds a live lease."""
    leased = sa.func.sum(sa.case((IntegrationSyncJob.lease_expires_at > now, 1), else_=0))
    held = IntegrationSyncJob.paused_reason.isnot(None)
    return {cid: (nxt, bool(busy)) for cid, nxt, busy in db.session.execute(
        sa.select(IntegrationSyncJob.connection_id,
                  sa.func.min(sa.case((held, None), else_=IntegrationSyncJob.next_run_at)), leased)
        .where(IntegrationSyncJob.connection_id.in_(ids), IntegrationSyncJob.enabled.is_(True))
        .group_by(IntegrationSyncJob.connection_id))}


def _days(ids: list[int], now: datetime) -> dict[int, Day]:
    """The last day's runs from the hourly rollups (24 whole hours and the present one)."""
    out = {}
    for row in db.session.execute(hourly.window(ids, freshness.window_start(now))):
        runs = row.runs_succeeded + row.runs_partial + row.runs_failed + row.runs_cancelled
        out[row.connection_id] = Day(int(runs), int(row.seen), int(row.written), int(row.failed), int(row.rate_limited))
    return out


def _alerts(ids: list[int]) -> dict[int, tuple[int, str | None]]:
    out: dict[int, tuple[int, str | None]] = {}
    for cid, severity, n in db.session.execute(
            sa.select(MonitorAlert.connection_id, MonitorAlert.severity, sa.func.count())
            .where(MonitorAlert.connection_id.in_(ids), MonitorAlert.status.in_(UNRESOLVED))
            .group_by(MonitorAlert.connection_id, MonitorAlert.severity)):
        if cid is None:  # an alert about the fleet, not a connection
            continue
        count, worst = out.get(cid, (0, None))
        if worst is None or RANK.get(severity, 0) > RANK.get(worst, 0):
            worst = severity
        out[cid] = (count + n, worst)
    return out


def rows(now: datetime) -> list[Row]:
    conns = _connections()
    ids = [c.id for c in conns]
    if not ids:
        return []
    last, schedule, days = _last_runs(ids), _schedule(ids, now), _days(ids, now)
    fresh, checks, alerts = freshness.attainment(conns, now), quality.latest(ids), _alerts(ids)
    per_object = _object_runs(ids)
    out = []
    for c in conns:
        nxt, running = schedule.get(c.id, (None, False))
        mine = checks.get(c.id, [])
        out.append(Row(c, last.get(c.id), running, nxt, days.get(c.id, Day()), fresh[c.id], mine,
                       [b for check in mine for b in quality.breaches(check, c)], *alerts.get(c.id, (0, None)),
                       per_object.get(c.id, [])))
    return out


def cached_rows() -> tuple[datetime, list[Row]]:
    """The rows as read at most DASHBOARD_CACHE_SECONDS ago in this process (every open dashboard polls
    every 5 s; the figures are the same for everyone who may see the dashboard), and when they were read.
    Kept rows are detached from the session that read them: read-only, loaded in full, shared by threads."""
    ttl = float(current_app.config["DASHBOARD_CACHE_SECONDS"])
    stale = float(current_app.config["DASHBOARD_STALE_SECONDS"])
    return kept("dashboard_rows", ttl, lambda: _detach(rows(utcnow())) if ttl > 0 else rows(utcnow()), stale_for=stale)


def forget_cached_rows() -> None:
    """After an action in this process (run now, pause): its answer shows the rows as they now are."""
    forget("dashboard_rows")


def _detach(figures: list[Row]) -> list[Row]:
    session = db.session()
    for row in figures:
        for obj in (row.connection, row.connection.client, row.connection.account, row.last_run, *row.checks,
                    *row.object_runs):
            if obj is not None and obj in session:
                session.expunge(obj)
    return figures


@dataclass
class DayTotals:
    day: str  # YYYY-MM-DD (UTC)
    runs: dict[str, int] = field(default_factory=dict)  # by status
    written: int = 0
    unchanged: int = 0
    failed: int = 0


def last_week(now: datetime) -> list[DayTotals]:
    """Runs by status and records by outcome for each of the last 7 UTC days, oldest first."""
    first = (now - timedelta(days=6)).replace(hour=0, minute=0, second=0, microsecond=0)
    days = {(first + timedelta(days=i)).strftime("%Y-%m-%d"): DayTotals((first + timedelta(days=i)).strftime("%Y-%m-%d"))
            for i in range(7)}
    h = ConnectionHour
    day = sa.func.date(h.hour)
    statuses = {status: sa.func.sum(getattr(h, column)) for status, column in hourly.STATUS_COLUMN.items()}
    for when, seen, written, failed, *counts in db.session.execute(
            sa.select(day, sa.func.sum(h.seen), sa.func.sum(h.written), sa.func.sum(h.failed), *statuses.values())
            .where(h.hour >= first).group_by(day)):
        totals = days.get(str(when)[:10])
        if totals is None:
            continue
        totals.runs = {status: int(n) for status, n in zip(statuses, counts) if n}
        totals.written += int(written or 0)
        totals.failed += int(failed or 0)
        totals.unchanged += int(seen or 0) - int(written or 0) - int(failed or 0)
    return list(days.values())
