"""The alert conditions of one connection, each a function returning what it finds now.

Stale syncs (no success within the stale multiple of the schedule; critical at twice), invalid
credentials, rate-limit pressure (the provider's daily budget under the threshold; 429s in the last
hour), failed webhooks in the last hour over the threshold, the duplicate-delivery rate, dead letters,
the freshness objective missed, data quality past its thresholds, a live connection without a baseline,
records that differ from the provider's (the newest reconciliation), runs whose accounting does not add up.

A pass reads what the conditions need for every watched connection at once (`Facts`: a fixed number
of grouped queries, the last day's runs from the hourly rollups), so it costs O(connections) rows."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from ..choices import AlertSeverity, ConnectionStatus, CredentialStatus, ErrorStatus, RunKind, RunStatus, WebhookStatus
from ..extensions import db
from ..mapping.objects import label as object_label
from ..models import (
    EventWebhookEvent,
    IntegrationConnection,
    IntegrationSchemaDrift,
    IntegrationSyncError,
    IntegrationSyncJob,
    IntegrationSyncRun,
    MetricBaseline,
    WebhookRejection,
)
from ..sync.proof.reconcile import latest as latest_reconciliations
from ..sync.runs import hourly
from ..sync.runs import lifecycle as runs
from . import freshness, quality

BUDGET_READING_FRESH = timedelta(hours=1)  # an older reading of the daily budget may be from yesterday
MIN_DELIVERIES = 20  # the duplicate rate of fewer deliveries in an hour says nothing


@dataclass(frozen=True)
class Finding:
    kind: str
    severity: AlertSeverity
    message: str



@dataclass
class Facts:
    """What the conditions read, for many connections at once."""

    jobs: dict[int, list[IntegrationSyncJob]]
    day: dict[int, Any]  # the last day's hourly rollups summed (sync/runs/hourly.window)
    rate_limited: dict[int, int]  # 429s in the last hour
    rejected: dict[int, int]  # webhook signatures refused in the last hour
    failing: dict[int, int]  # webhook events not normalized, of the last hour
    deliveries: dict[int, tuple[int, int]]  # webhook events of the last hour, and their repeats
    dead: dict[int, int]  # webhook events and records dead-lettered
    fresh: dict[int, freshness.Freshness]
    checks: dict[int, list]
    baselined: set[int]
    reconciled: dict[tuple[int, str], Any]
    drift: dict[int, list[IntegrationSchemaDrift]]  # open breaking schema changes

    @classmethod
    def read(cls, conns: list[IntegrationConnection], now: datetime) -> Facts:
        ids = [c.id for c in conns]
        hour = now - timedelta(hours=1)
        jobs: dict[int, list[IntegrationSyncJob]] = {}
        for job in db.session.scalars(sa.select(IntegrationSyncJob).where(
                IntegrationSyncJob.connection_id.in_(ids), IntegrationSyncJob.enabled.is_(True))
                .order_by(IntegrationSyncJob.id)):
            jobs.setdefault(job.connection_id, []).append(job)
        run, hook, rej, err = IntegrationSyncRun, EventWebhookEvent, WebhookRejection, IntegrationSyncError
        unfinished = [WebhookStatus.FAILED.value, WebhookStatus.RETRYING.value, WebhookStatus.DEAD_LETTER.value]
        dead = _grouped(sa.select(hook.connection_id, sa.func.count()).where(
            hook.connection_id.in_(ids), hook.status == WebhookStatus.DEAD_LETTER.value).group_by(hook.connection_id))
        for cid, n in _grouped(sa.select(err.connection_id, sa.func.count()).where(
                err.connection_id.in_(ids), err.status == ErrorStatus.DEAD_LETTER.value).group_by(err.connection_id)).items():
            dead[cid] = dead.get(cid, 0) + n
        return cls(
            jobs=jobs,
            day={row.connection_id: row for row in db.session.execute(hourly.window(ids, freshness.window_start(now)))},
            rate_limited=_grouped(sa.select(run.connection_id, sa.func.sum(run.rate_limited)).where(
                run.connection_id.in_(ids), run.created_at >= hour).group_by(run.connection_id)),
            rejected=_grouped(sa.select(rej.connection_id, sa.func.count()).where(
                rej.connection_id.in_(ids), rej.created_at >= hour).group_by(rej.connection_id)),
            failing=_grouped(sa.select(hook.connection_id, sa.func.count()).where(
                hook.connection_id.in_(ids), hook.created_at >= hour, hook.status.in_(unfinished))
                .group_by(hook.connection_id)),
            deliveries={int(cid or 0): (int(n), int(repeats or 0)) for cid, n, repeats in db.session.execute(
                sa.select(hook.connection_id, sa.func.count(), sa.func.sum(hook.duplicate_count)).where(
                    hook.connection_id.in_(ids), hook.created_at >= hour).group_by(hook.connection_id))},
            dead=dead,
            fresh=freshness.attainment(conns, now),
            checks=quality.latest(ids),
            baselined=set(db.session.scalars(sa.select(MetricBaseline.connection_id).where(
                MetricBaseline.connection_id.in_(ids), MetricBaseline.superseded_at.is_(None)).distinct())),
            reconciled=latest_reconciliations(ids),
            drift=_by_connection(db.session.scalars(sa.select(IntegrationSchemaDrift).where(
                IntegrationSchemaDrift.connection_id.in_(ids), IntegrationSchemaDrift.breaking.is_(True),
                IntegrationSchemaDrift.resolved_at.is_(None)).order_by(IntegrationSchemaDrift.id))),
        )


def _by_connection(rows: Any) -> dict[int, list]:
    out: dict[int, list] = {}
    for row in rows:
        out.setdefault(row.connection_id, []).append(row)
    return out


def _grouped(query: sa.Select) -> dict[int, int]:
    return {cid: int(n or 0) for cid, n in db.session.execute(query)}


def stale(conn: IntegrationConnection, now: datetime, facts: Facts) -> list[Finding]:
    """Only a live connection runs on its schedule; a testing one syncs only when a person asks."""
    if conn.status != ConnectionStatus.LIVE:
        return []
    out = []
    for job in facts.jobs.get(conn.id, []):
        limit = timedelta(seconds=job.schedule_seconds * max(1, conn.stale_multiple))
        since = job.last_success_at or job.created_at
        if since < now - limit:
            severe = since < now - 2 * limit
            out.append(Finding(f"stale_sync:{job.object_type}",
                               AlertSeverity.CRITICAL if severe else AlertSeverity.WARNING,
                               f"{object_label(job.object_type, conn.id)} have not synced successfully since "
                               f"{since:%Y-%m-%d %H:%M} UTC (expected every {job.schedule_seconds // 60 or 1} min)."))
    return out


def credentials(conn: IntegrationConnection, now: datetime, facts: Facts) -> list[Finding]:
    account = conn.account
    if account is not None and account.credentials_status == CredentialStatus.INVALID:
        return [Finding("credentials_invalid", AlertSeverity.CRITICAL,
                        f"The provider refuses the credentials: {account.credentials_error or 'check them'}.")]
    return []


def daily_budget(conn: IntegrationConnection, now: datetime, facts: Facts) -> list[Finding]:
    """The provider's daily call budget (shared by every app call on the account) running low."""
    account = conn.account
    if (account is None or not account.rate_limit_daily or account.rate_limit_daily_remaining is None
            or account.rate_limit_observed_at is None or account.rate_limit_observed_at < now - BUDGET_READING_FRESH):
        return []
    left, total = account.rate_limit_daily_remaining, account.rate_limit_daily
    pct = 100.0 * left / total
    if pct >= conn.rate_limit_pressure_pct:
        return []
    severe = left == 0 or pct < conn.rate_limit_pressure_pct / 4
    return [Finding("rate_limit_daily", AlertSeverity.CRITICAL if severe else AlertSeverity.WARNING,
                    f"{pct:.1f}% of the provider's daily API budget is left ({left:,} of {total:,} calls, "
                    f"read {account.rate_limit_observed_at:%H:%M} UTC); the alert threshold is "
                    f"{conn.rate_limit_pressure_pct}%. Syncs stop when it reaches zero.")]


def rate_limited(conn: IntegrationConnection, now: datetime, facts: Facts) -> list[Finding]:
    waited = facts.rate_limited.get(conn.id, 0)
    if not waited:
        return []
    return [Finding("rate_limited", AlertSeverity.WARNING,
                    f"The provider answered 429 {waited} times in the last hour; syncs are slowed down.")]


def failed_webhooks(conn: IntegrationConnection, now: datetime, facts: Facts) -> list[Finding]:
    rejected, failing = facts.rejected.get(conn.id, 0), facts.failing.get(conn.id, 0)
    total, threshold = rejected + failing, max(1, conn.failed_webhook_threshold)
    if total < threshold:
        return []
    return [Finding("failed_webhooks", AlertSeverity.CRITICAL if total >= 3 * threshold else AlertSeverity.WARNING,
                    f"{total} webhook deliveries failed in the last hour ({rejected} refused signatures, "
                    f"{failing} not normalized); the threshold is {threshold}.")]


def duplicate_events(conn: IntegrationConnection, now: datetime, facts: Facts) -> list[Finding]:
    """Redeliveries of events already stored: HubSpot retries answers that were slow (over 5 s) or failed."""
    events, repeats = facts.deliveries.get(conn.id, (0, 0))
    deliveries = int(events) + int(repeats)
    if deliveries < MIN_DELIVERIES:
        return []
    pct, limit = 100.0 * int(repeats) / deliveries, conn.duplicate_event_pct
    if pct <= limit:
        return []
    return [Finding("duplicate_events", AlertSeverity.CRITICAL if pct > min(90, 2 * limit) else AlertSeverity.WARNING,
                    f"{pct:.0f}% of the {deliveries} webhook deliveries in the last hour repeated an event already "
                    f"stored (limit {limit}%): the provider is retrying, so answers may be slow or failing.")]


def dead_letters(conn: IntegrationConnection, now: datetime, facts: Facts) -> list[Finding]:
    dead = facts.dead.get(conn.id, 0)
    if not dead:
        return []
    return [Finding("dead_letters", AlertSeverity.CRITICAL if dead >= 10 else AlertSeverity.WARNING,
                    f"{dead} records or events gave up after their retries; replay or resolve them in ops.")]


def fresh(conn: IntegrationConnection, now: datetime, facts: Facts) -> list[Finding]:
    f = facts.fresh[conn.id]
    if f.met is not False:
        return []
    severe = (f.attainment_pct or 0.0) < f.objective_pct - 10
    return [Finding("freshness", AlertSeverity.CRITICAL if severe else AlertSeverity.WARNING,
                    f"{f.attainment_pct:.1f}% of the last day's {f.measured} changes were reflected within "
                    f"{freshness.duration(f.target_seconds * 1000)} (objective {f.objective_pct}%); the slowest took "
                    f"{freshness.duration(f.worst_ms)}.")]


def data_quality(conn: IntegrationConnection, now: datetime, facts: Facts) -> list[Finding]:
    return [Finding(f"quality_{b.check}:{check.object_type}", b.severity, b.message)
            for check in facts.checks.get(conn.id, []) for b in quality.breaches(check, conn)]


def baseline(conn: IntegrationConnection, now: datetime, facts: Facts) -> list[Finding]:
    if conn.status == ConnectionStatus.LIVE and conn.id not in facts.baselined:
        return [Finding("no_baseline", AlertSeverity.WARNING, "The connection is live without a baseline.")]
    return []


def reconcile_differences(conn: IntegrationConnection, now: datetime, facts: Facts) -> list[Finding]:
    """The newest reconciliation of each object found records that differ from the provider's."""
    out = []
    for (_, object_type), row in sorted((k, v) for k, v in facts.reconciled.items() if k[0] == conn.id):
        if row.differences:
            parts = [f"{getattr(row, k):,} {k.replace('_', ' ')}" for k in row.KINDS if getattr(row, k)]
            out.append(Finding(f"reconcile_differences:{object_type}",
                               AlertSeverity.CRITICAL if row.missing or row.stale else AlertSeverity.WARNING,
                               f"{object_label(object_type, conn.id)}: the reconciliation of "
                               f"{row.finished_at:%Y-%m-%d %H:%M} UTC "
                               f"found {row.differences:,} records that differ from the provider ({', '.join(parts)}). "
                               "Repair them from the connection's reconcile page."))
    return out


def accounting(conn: IntegrationConnection, now: datetime, facts: Facts) -> list[Finding]:
    """Runs of the last day whose records read do not add up to their buckets: a record was lost."""
    row = facts.day.get(conn.id)
    bad = row.unbalanced if row is not None else 0
    if not bad:
        return []
    return [Finding("accounting", AlertSeverity.CRITICAL,
                    f"{bad} runs in the last day read more or fewer records than they accounted for; "
                    "reconcile the connection and report the runs.")]


def stopped_runs(conn: IntegrationConnection, now: datetime, facts: Facts) -> list[Finding]:
    """Runs of the last day that the sweep failed because the process running them died."""
    row = facts.day.get(conn.id)
    if row is None or not row.stopped:  # the rollup says whether any run stopped; only then read which
        return []
    stopped = db.session.scalars(sa.select(IntegrationSyncRun).where(
        IntegrationSyncRun.connection_id == conn.id, IntegrationSyncRun.created_at >= now - timedelta(days=1),
        IntegrationSyncRun.status == RunStatus.FAILED.value,
        IntegrationSyncRun.error_message.startswith(runs.STOPPED, autoescape=True))
        .order_by(IntegrationSyncRun.id.desc())).all()
    if not stopped:
        return []
    last = stopped[0]
    return [Finding("stopped_runs", AlertSeverity.WARNING,
                    f"{len(stopped)} run{'s' if len(stopped) != 1 else ''} in the last day stopped because the process "
                    f"running {'them' if len(stopped) != 1 else 'it'} died (the last: {RunKind.label_of(last.kind)} of "
                    f"{last.object_type}, run {last.id}). What they committed is kept and the next run resumes; "
                    "check the dispatcher's log and the machine's memory.")]


def schema_drift(conn: IntegrationConnection, now: datetime, facts: Facts) -> list[Finding]:
    """The provider's schema changed under the mapping (sync/schema_drift.py): which objects and fields."""
    drifts = facts.drift.get(conn.id, [])
    if not drifts:
        return []
    fields = "; ".join(f"{d.object_type} “{d.property}” {d.detail} (found by {d.found_by}, {d.created_at:%d %b})"
                       for d in drifts[:10]) + (f"; and {len(drifts) - 10} more" if len(drifts) > 10 else "")
    doing = ("the affected jobs are paused" if conn.drift_policy == "pause"
             else "each record of the affected objects fails with a mapping failure")
    return [Finding("schema_drift", AlertSeverity.CRITICAL,
                    f"The provider's schema changed under the mapping: {fields}. Until the mapping step is updated, "
                    f"{doing}.")]


CONDITIONS = (stale, credentials, daily_budget, rate_limited, failed_webhooks, duplicate_events, dead_letters,
              fresh, data_quality, baseline, reconcile_differences, accounting, stopped_runs, schema_drift)


def findings(conn: IntegrationConnection, now: datetime, facts: Facts | None = None) -> list[Finding]:
    """What holds now for one connection (`facts` read for a whole pass, or for this one alone)."""
    facts = facts or Facts.read([conn], now)
    return [finding for condition in CONDITIONS for finding in condition(conn, now, facts)]
