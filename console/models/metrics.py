"""Metric computations, baselines, snapshots and client-facing report notes."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..choices import NoteStatus
from .accounts import User
from .base import CreatedMixin, DateTime, JsonText, Model, TimestampMixin

MetricValue = sa.Numeric(20, 4)


class AutomationRun(CreatedMixin, Model):
    __tablename__ = "automation_runs"
    __table_args__ = (
        sa.Index("ix_automation_runs_connection_created", "connection_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(sa.ForeignKey("integration_connections.id"))
    kind: Mapped[str] = mapped_column(sa.String(30))
    trigger_run_id: Mapped[int | None] = mapped_column(sa.ForeignKey("integration_sync_runs.id"))
    status: Mapped[str] = mapped_column(sa.String(16))
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    detail: Mapped[str | None] = mapped_column(sa.String(1000))


class MetricBaseline(CreatedMixin, Model):
    """A baseline per metric; later syncs never overwrite it, re-baselining supersedes it."""

    __tablename__ = "metric_baselines"
    __table_args__ = (
        sa.Index("ix_metric_baselines_connection_metric", "connection_id", "metric_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(sa.ForeignKey("integration_connections.id"))
    metric_key: Mapped[str] = mapped_column(sa.String(40))
    value: Mapped[Decimal] = mapped_column(MetricValue)
    unit: Mapped[str] = mapped_column(sa.String(20))
    period: Mapped[str] = mapped_column(sa.String(40))
    breakdown: Mapped[dict | None] = mapped_column(JsonText)
    captured_from_run_id: Mapped[int] = mapped_column(sa.ForeignKey("integration_sync_runs.id"))
    captured_by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    reason: Mapped[str | None] = mapped_column(sa.String(500))
    superseded_at: Mapped[datetime | None] = mapped_column(DateTime)

    captured_by: Mapped[User | None] = relationship()


class MetricSnapshot(CreatedMixin, Model):
    __tablename__ = "metric_snapshots"
    __table_args__ = (
        sa.Index("ix_metric_snapshots_series", "connection_id", "metric_key", "captured_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(sa.ForeignKey("integration_connections.id"))
    automation_run_id: Mapped[int] = mapped_column(sa.ForeignKey("automation_runs.id"))
    metric_key: Mapped[str] = mapped_column(sa.String(40))
    value: Mapped[Decimal] = mapped_column(MetricValue)
    unit: Mapped[str] = mapped_column(sa.String(20))
    period: Mapped[str] = mapped_column(sa.String(40))
    breakdown: Mapped[dict | None] = mapped_column(JsonText)
    captured_at: Mapped[datetime] = mapped_column(DateTime)


class ReportNote(TimestampMixin, Model):
    __tablename__ = "report_notes"
    __table_args__ = (sa.Index("ix_report_notes_connection_status", "connection_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(sa.ForeignKey("integration_connections.id"))
    author_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    title: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(16), default=NoteStatus.DRAFT)
    published_at: Mapped[datetime | None] = mapped_column(DateTime)
