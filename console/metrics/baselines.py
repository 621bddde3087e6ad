"""Baselines: captured once from a complete, successful sync; never overwritten by later syncs.

Re-baselining is an admin action with a reason: the old baseline is kept (superseded), both are audited.
"""
from __future__ import annotations

import sqlalchemy as sa

from .. import audit
from ..choices import RunKind
from ..extensions import db
from ..models import IntegrationConnection, IntegrationSyncRun, MetricBaseline, MetricSnapshot, User
from ..models.base import utcnow
from ..refusals import Refused
from ..sync.proof.verdict import BASELINE_KINDS, judge
from .definitions import find, of_connection
from .snapshots import snapshot_for_run


class BaselineRefused(Refused):
    """The run cannot be a baseline; the message says why, in words an owner can act on."""


def refusal(run: IntegrationSyncRun, connection: IntegrationConnection, need_snapshot: bool = True) -> str | None:
    """Why `run` cannot be a baseline's source. A partial run whose only failures are source values a
    person ignored with a reason is complete (sync/proof/verdict.py). Without `need_snapshot`: whether it
    can be one once the metric values after it are recorded (a run_finished receiver does that)."""
    if run.connection_id != connection.id:
        return "That run belongs to another connection."
    if run.kind == RunKind.TEST_BATCH or run.dry_run:
        return "A test batch is a dry run that writes no records; capture the baseline from a real sync."
    why = judge(run, connection).completeness()
    if why:
        return why
    if not any(m.object_type == run.object_type for m in of_connection(connection.id)):
        return f"No client metric is read from {run.object_type}."
    if need_snapshot and snapshot_for_run(run.id) is None:
        return "No metric values were recorded after this run; run a full sync, then capture from it."
    return None


def active(connection_id: int, for_capture: bool = False) -> dict[str, MetricBaseline]:
    """The baselines in force. `for_capture`: first serialize with any other capture for this connection
    (the dispatcher's first-sync capture and a person's click can race), then read what is committed."""
    query = sa.select(MetricBaseline).where(MetricBaseline.connection_id == connection_id,
                                            MetricBaseline.superseded_at.is_(None))
    if for_capture:
        # A write on the connection's row takes SQLite's write lock and MariaDB's row lock before the read;
        # the locking read then sees MariaDB's newest committed rows, not the transaction's older snapshot.
        db.session.execute(sa.text("UPDATE integration_connections SET name = name WHERE id = :id"), {"id": connection_id})
        query = query.with_for_update().execution_options(populate_existing=True)
    return {b.metric_key: b for b in db.session.scalars(query)}


def history(connection_id: int) -> list[MetricBaseline]:
    return list(db.session.scalars(sa.select(MetricBaseline).where(MetricBaseline.connection_id == connection_id)
                                   .order_by(MetricBaseline.id.desc())))


def candidate_runs(connection_id: int, limit: int = 15) -> list[IntegrationSyncRun]:
    """Recent finished runs a baseline can come from (complete syncs: never webhooks, test batches or
    imports), newest first, for the owner to pick from (refused ones say why)."""
    return list(db.session.scalars(sa.select(IntegrationSyncRun).where(
        IntegrationSyncRun.connection_id == connection_id, IntegrationSyncRun.finished_at.isnot(None),
        IntegrationSyncRun.kind.in_(BASELINE_KINDS), IntegrationSyncRun.dry_run.is_(False),
        IntegrationSyncRun.record_limit.is_(None),
    ).order_by(IntegrationSyncRun.id.desc()).limit(limit)))


def source_words(baseline: MetricBaseline) -> str:
    """Where a baseline's value comes from, in words: '1,940 of 2,000 contacts; 60 ignored: invalid email'."""
    run = db.session.get(IntegrationSyncRun, baseline.captured_from_run_id)
    return judge(run).words() if run is not None else ""


def metric_title(key: str, connection_id: int) -> str:
    """A metric's title for people ("Open pipeline", "Bookings on record"); a key no longer known as given."""
    metric = find(key, connection_id)
    return metric.title if metric is not None else key.replace("_", " ")


def capture(connection: IntegrationConnection, run: IntegrationSyncRun, user: User | None,
            reason: str | None = None, replace: bool = False) -> list[MetricBaseline]:
    """Baseline the metrics read from `run`'s object type with the values recorded right after it.

    Without `replace`, a metric that already has a baseline refuses: later syncs never overwrite one."""
    why = refusal(run, connection)
    if why:
        raise BaselineRefused(why)
    if replace and not (reason or "").strip():
        raise BaselineRefused("Re-baselining needs a reason; it is kept in the audit log.")
    metrics = [m for m in of_connection(connection.id) if m.object_type == run.object_type]
    current = active(connection.id, for_capture=True)
    kept = [m.title for m in metrics if m.key in current]
    if kept and not replace:
        raise BaselineRefused(f"A baseline already exists for {', '.join(kept)}. "
                              "Re-baselining is an admin action with a reason.")
    automation = snapshot_for_run(run.id)
    if automation is None:  # `refusal` checked it; a retention pass may have pruned it since
        raise BaselineRefused("No metric values were recorded right after this run; pick a newer run.")
    values = {s.metric_key: s for s in db.session.scalars(
        sa.select(MetricSnapshot).where(MetricSnapshot.automation_run_id == automation.id))}
    now, created = utcnow(), []
    for metric in metrics:
        snap = values.get(metric.key)
        if snap is None:
            continue
        old = current.get(metric.key)
        if old is not None:
            old.superseded_at = now
        baseline = MetricBaseline(connection_id=connection.id, metric_key=metric.key, value=snap.value,
                                  unit=snap.unit, period=snap.period, breakdown=snap.breakdown,
                                  captured_from_run_id=run.id, captured_by_user_id=user.id if user else None,
                                  reason=(reason or "").strip() or None)
        db.session.add(baseline)
        created.append(baseline)
        audit.record("metrics.rebaselined" if old else "metrics.baseline_captured", connection, user,
                     metric=metric.key, run_id=run.id, value=str(snap.value),
                     previous=str(old.value) if old else None, reason=(reason or "").strip() or None)
    db.session.commit()
    return created
