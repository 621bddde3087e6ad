"""The ops dashboard's figures: one row per connection that runs (or ran), each read with grouped queries
over all rows at once, and the last 7 days of runs and records per day for the chart."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa

from ..choices import ConnectionStatus
from ..extensions import db
from ..models import Client, DataQualityCheck, IntegrationConnection, IntegrationSyncJob, IntegrationSyncRun, MonitorAlert
from . import freshness, quality
from .alerts import RANK, UNRESOLVED

SHOWN = (ConnectionStatus.LIVE.value, ConnectionStatus.TESTING.value, ConnectionStatus.PAUSED.value,
         ConnectionStatus.FAILED.value)
DAY = timedelta(hours=24)


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

    @property
    def budget_used_pct(self) -> float | None:
        account = self.connection.account
        if account is None or not account.rate_limit_daily or account.rate_limit_daily_remaining is None:
            return None
        return 100.0 * (account.rate_limit_daily - account.rate_limit_daily_remaining) / account.rate_limit_daily


def _connections() -> list[IntegrationConnection]:
    return list(db.session.scalars(sa.select(IntegrationConnection).join(Client).where(
        IntegrationConnection.status.in_(SHOWN)).order_by(Client.name, IntegrationConnection.name).limit(500)))


def _last_runs(ids: list[int]) -> dict[int, IntegrationSyncRun]:
    newest = (sa.select(sa.func.max(IntegrationSyncRun.id)).where(
        IntegrationSyncRun.connection_id.in_(ids), IntegrationSyncRun.dry_run.is_(False))
        .group_by(IntegrationSyncRun.connection_id))
    return {r.connection_id: r for r in db.session.scalars(sa.select(IntegrationSyncRun).where(
        IntegrationSyncRun.id.in_(newest)))}


def _schedule(ids: list[int], now: datetime) -> dict[int, tuple[datetime | None, bool]]:
    """Per connection: the soonest next run of an enabled job, and whether a job holds a live lease."""
    leased = sa.func.sum(sa.case((IntegrationSyncJob.lease_expires_at > now, 1), else_=0))
    return {cid: (nxt, bool(busy)) for cid, nxt, busy in db.session.execute(
        sa.select(IntegrationSyncJob.connection_id, sa.func.min(IntegrationSyncJob.next_run_at), leased)
        .where(IntegrationSyncJob.connection_id.in_(ids), IntegrationSyncJob.enabled.is_(True))
        .group_by(IntegrationSyncJob.connection_id))}


def _days(ids: list[int], now: datetime) -> dict[int, Day]:
    r = IntegrationSyncRun
    return {cid: Day(int(n), int(seen or 0), int(written or 0), int(failed or 0), int(waited or 0))
            for cid, n, seen, written, failed, waited in db.session.execute(
                sa.select(r.connection_id, sa.func.count(), sa.func.sum(r.seen), sa.func.sum(r.created + r.updated),
                          sa.func.sum(r.failed), sa.func.sum(r.rate_limited))
                .where(r.connection_id.in_(ids), r.created_at >= now - DAY, r.dry_run.is_(False))
                .group_by(r.connection_id))}


def _alerts(ids: list[int]) -> dict[int, tuple[int, str | None]]:
    out: dict[int, tuple[int, str | None]] = {}
    for cid, severity, n in db.session.execute(
            sa.select(MonitorAlert.connection_id, MonitorAlert.severity, sa.func.count())
            .where(MonitorAlert.connection_id.in_(ids), MonitorAlert.status.in_(UNRESOLVED))
            .group_by(MonitorAlert.connection_id, MonitorAlert.severity)):
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
    out = []
    for c in conns:
        nxt, running = schedule.get(c.id, (None, False))
        mine = checks.get(c.id, [])
        out.append(Row(c, last.get(c.id), running, nxt, days.get(c.id, Day()), fresh[c.id], mine,
                       [b for check in mine for b in quality.breaches(check, c)], *alerts.get(c.id, (0, None))))
    return out


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
    r = IntegrationSyncRun
    day = sa.func.date(r.created_at)
    for when, status, n, seen, written, failed in db.session.execute(
            sa.select(day, r.status, sa.func.count(), sa.func.sum(r.seen), sa.func.sum(r.created + r.updated),
                      sa.func.sum(r.failed))
            .where(r.created_at >= first, r.dry_run.is_(False)).group_by(day, r.status)):
        totals = days.get(str(when)[:10])
        if totals is None:
            continue
        totals.runs[status] = totals.runs.get(status, 0) + int(n)
        totals.written += int(written or 0)
        totals.failed += int(failed or 0)
        totals.unchanged += int(seen or 0) - int(written or 0) - int(failed or 0)
    return list(days.values())
