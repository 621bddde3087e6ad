"""Metric snapshots: recorded after every sync that wrote business records, and on demand."""
from __future__ import annotations

import logging

import sqlalchemy as sa

from ..choices import AutomationKind, RunKind, RunStatus
from ..extensions import db
from ..models import AutomationRun, IntegrationConnection, IntegrationSyncRun, MetricSnapshot
from ..models.base import require, utcnow
from ..sync.runs.events import run_finished, safely
from .definitions import of_connection
from .readings import base_currency

log = logging.getLogger(__name__)


def record_snapshots(connection: IntegrationConnection, kind: AutomationKind = AutomationKind.ON_DEMAND,
                     trigger_run: IntegrationSyncRun | None = None) -> AutomationRun:
    """Read every metric now and keep the values as one automation run; a failure is recorded, not raised."""
    started = utcnow()
    automation = AutomationRun(connection_id=connection.id, kind=kind.value, status=RunStatus.RUNNING.value,
                               trigger_run_id=trigger_run.id if trigger_run else None, started_at=started)
    try:
        db.session.add(automation)
        db.session.flush()
        currency = base_currency(connection.id)
        for metric in of_connection(connection.id):
            reading = metric.read(connection.id, started)
            db.session.add(MetricSnapshot(
                connection_id=connection.id, automation_run_id=automation.id, metric_key=metric.key,
                value=reading.value, unit=currency if metric.unit == "money" else metric.unit,
                period=metric.period, breakdown=reading.as_breakdown(), captured_at=started))
        automation.status, automation.finished_at = RunStatus.SUCCEEDED.value, utcnow()
        db.session.commit()
    except Exception as exc:  # metrics must never break the sync that triggered them
        db.session.rollback()
        log.exception("metric snapshot for connection %s failed", connection.id)
        automation = AutomationRun(connection_id=connection.id, kind=kind.value, status=RunStatus.FAILED.value,
                                   trigger_run_id=trigger_run.id if trigger_run else None, started_at=started,
                                   finished_at=utcnow(), detail=f"Metric computation failed: {type(exc).__name__}")
        db.session.add(automation)
        db.session.commit()
    return automation


def after_run(run: IntegrationSyncRun) -> AutomationRun | None:
    """Snapshot after a real sync that finished (succeeded or partial); test batches write nothing to measure."""
    if run.dry_run or run.kind == RunKind.TEST_BATCH or run.status not in (RunStatus.SUCCEEDED, RunStatus.PARTIAL):
        return None
    connection = require(IntegrationConnection, run.connection_id)
    return record_snapshots(connection, AutomationKind.AFTER_SYNC, run)


@run_finished.connect
@safely
def _on_run_finished(run: IntegrationSyncRun, **_: object) -> None:
    after_run(run)


def snapshot_for_run(run_id: int) -> AutomationRun | None:
    return db.session.scalar(sa.select(AutomationRun).where(
        AutomationRun.trigger_run_id == run_id, AutomationRun.status == RunStatus.SUCCEEDED.value
    ).order_by(AutomationRun.id.desc()).limit(1))


def latest_snapshots(connection_id: int) -> dict[str, MetricSnapshot]:
    """The newest successful value of each metric."""
    newest = (sa.select(sa.func.max(MetricSnapshot.id)).where(MetricSnapshot.connection_id == connection_id)
              .group_by(MetricSnapshot.metric_key))
    return {s.metric_key: s for s in db.session.scalars(sa.select(MetricSnapshot).where(MetricSnapshot.id.in_(newest)))}


TREND_DAYS = 30  # how far back a metric's trend chart (and its words) reach


def series(connection_id: int, metric_key: str, since, points: int = 60) -> list[MetricSnapshot]:
    """Snapshots since `since`, thinned to at most `points` evenly spread ones (always keeping the newest).
    Only the ids are read to thin (a month of readings after every run is thousands of rows; the cards'
    words and the chart both ask), then the rows picked."""
    order = (MetricSnapshot.captured_at, MetricSnapshot.id)
    ids = db.session.scalars(sa.select(MetricSnapshot.id).where(
        MetricSnapshot.connection_id == connection_id, MetricSnapshot.metric_key == metric_key,
        MetricSnapshot.captured_at >= since).order_by(*order)).all()
    if len(ids) > points:
        step = len(ids) / points
        ids = [ids[int(i * step)] for i in range(points - 1)] + [ids[-1]]
    return list(db.session.scalars(sa.select(MetricSnapshot).where(MetricSnapshot.id.in_(ids)).order_by(*order))) \
        if ids else []
