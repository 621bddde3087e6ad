"""What GET /metrics (console/health.py) reports in Prometheus text format, behind CONSOLE_METRICS_TOKEN.

Runs, records, API calls, 429s, webhook events, open alerts and dispatcher lag; per connection, freshness
attainment and the daily API budget left. Values are read from the database at scrape time by a custom
collector, so every process reports the same totals (a per-process counter would split them across gunicorn
workers)."""
from __future__ import annotations

import sqlalchemy as sa
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from ..choices import AlertStatus, ConnectionStatus
from ..extensions import db
from ..models import EventWebhookEvent, IntegrationConnection, IntegrationSyncJob, IntegrationSyncRun, MonitorAlert
from ..models.base import utcnow
from ..sync.runs.accounting import BUCKETS
from . import freshness


class ConsoleCollector:
    def collect(self):
        runs = GaugeMetricFamily("connector_console_sync_runs", "Sync runs by kind and status", labels=["kind", "status"])
        for kind, status, n in db.session.execute(sa.select(
                IntegrationSyncRun.kind, IntegrationSyncRun.status, sa.func.count()).group_by(
                IntegrationSyncRun.kind, IntegrationSyncRun.status)):
            runs.add_metric([kind, status], n)
        yield runs
        sums = db.session.execute(sa.select(*(sa.func.coalesce(sa.func.sum(getattr(IntegrationSyncRun, b)), 0)
                                              for b in BUCKETS + ("api_calls", "rate_limited")))).one()
        records = CounterMetricFamily("connector_console_records", "Records seen by sync runs, by bucket",
                                      labels=["bucket"])
        for bucket, n in zip(BUCKETS, sums):
            records.add_metric([bucket], int(n))
        yield records
        yield CounterMetricFamily("connector_console_provider_api_calls", "Provider API calls made by runs",
                                  value=int(sums[len(BUCKETS)]))
        yield CounterMetricFamily("connector_console_provider_rate_limited", "Provider 429 answers waited out",
                                  value=int(sums[len(BUCKETS) + 1]))
        events = GaugeMetricFamily("connector_console_webhook_events", "Webhook events by status", labels=["status"])
        for status, n in db.session.execute(sa.select(EventWebhookEvent.status, sa.func.count())
                                            .group_by(EventWebhookEvent.status)):
            events.add_metric([status], n)
        yield events
        yield GaugeMetricFamily("connector_console_open_alerts", "Monitor alerts open", value=db.session.scalar(
            sa.select(sa.func.count()).select_from(MonitorAlert).where(MonitorAlert.status == AlertStatus.OPEN.value)))
        yield GaugeMetricFamily("connector_console_dispatcher_lag_seconds",
                                "How late the most overdue enabled job of a live or testing connection is",
                                value=dispatcher_lag())
        yield from per_connection()


def per_connection():
    """Freshness attainment and the provider's daily budget left, per live or testing connection (by id)."""
    conns = list(db.session.scalars(sa.select(IntegrationConnection).where(
        IntegrationConnection.status.in_(["live", "testing"]))))
    fresh = GaugeMetricFamily("connector_console_freshness_attainment_ratio",
                              "Share of the last day's changes reflected within the connection's target",
                              labels=["connection"])
    for conn_id, f in freshness.attainment(conns, utcnow()).items():
        if f.measured:
            fresh.add_metric([str(conn_id)], f.within / f.measured)
    yield fresh
    budget = GaugeMetricFamily("connector_console_daily_budget_remaining_ratio",
                               "Share of the provider's daily API budget left, as its last answer said",
                               labels=["connection"])
    for conn in conns:
        account = conn.account
        if account is not None and account.rate_limit_daily and account.rate_limit_daily_remaining is not None:
            budget.add_metric([str(conn.id)], account.rate_limit_daily_remaining / account.rate_limit_daily)
    yield budget


def dispatcher_lag() -> float:
    oldest = db.session.scalar(sa.select(sa.func.min(IntegrationSyncJob.next_run_at)).join(IntegrationConnection).where(
        IntegrationSyncJob.enabled.is_(True), IntegrationConnection.status == ConnectionStatus.LIVE.value,
        IntegrationSyncJob.lease_owner.is_(None)))  # only live connections are scheduled
    return max(0.0, (utcnow() - oldest).total_seconds()) if oldest else 0.0
