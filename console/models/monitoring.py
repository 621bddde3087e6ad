"""Monitor alerts (one open row per connection and kind while the condition holds) and the data-quality
checks taken after each sync run."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..choices import AlertStatus
from .base import CreatedMixin, DateTime, JsonText, Model, TimestampMixin


class MonitorAlert(TimestampMixin, Model):
    __tablename__ = "monitor_alerts"
    __table_args__ = (
        sa.Index("ix_monitor_alerts_connection_kind_status", "connection_id", "kind", "status"),
        sa.Index("ix_monitor_alerts_status_opened", "status", "opened_at"),
        # "connection:kind" while the alert is open or acknowledged, NULL once resolved: two processes
        # evaluating at once cannot both open the same alert (a partial unique index, portably).
        sa.UniqueConstraint("open_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int | None] = mapped_column(sa.ForeignKey("integration_connections.id"))
    kind: Mapped[str] = mapped_column(sa.String(60))
    open_key: Mapped[str | None] = mapped_column(sa.String(80))
    severity: Mapped[str] = mapped_column(sa.String(16))
    status: Mapped[str] = mapped_column(sa.String(16), default=AlertStatus.OPEN)
    message: Mapped[str] = mapped_column(sa.String(1000))
    opened_at: Mapped[datetime] = mapped_column(DateTime)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime)
    escalated_at: Mapped[datetime | None] = mapped_column(DateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime)
    acknowledged_by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    ack_note: Mapped[str | None] = mapped_column(sa.String(500))
    notified_state: Mapped[str | None] = mapped_column(sa.String(32))
    notify_attempts: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    notify_next_at: Mapped[datetime | None] = mapped_column(DateTime)  # also the end of a claim's lease
    notify_claimed_by: Mapped[str | None] = mapped_column(sa.String(120))
    notify_error: Mapped[str | None] = mapped_column(sa.String(500))


class DataQualityCheck(CreatedMixin, Model):
    """One object type's records of a connection, measured after a sync run: how many records there are,
    how many arrived without a required field, how many are extra copies of another record, and how many
    point at an owner or stage the provider does not know."""

    __tablename__ = "data_quality_checks"
    __table_args__ = (sa.Index("ix_data_quality_checks_connection_object", "connection_id", "object_type", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(sa.ForeignKey("integration_connections.id"))
    object_type: Mapped[str] = mapped_column(sa.String(40))
    run_id: Mapped[int | None] = mapped_column(sa.Integer)
    records: Mapped[int] = mapped_column(sa.Integer, default=0)
    incomplete: Mapped[int] = mapped_column(sa.Integer, default=0)
    duplicates: Mapped[int] = mapped_column(sa.Integer, default=0)
    unresolved: Mapped[int] = mapped_column(sa.Integer, default=0)
    details: Mapped[dict | None] = mapped_column(JsonText)

    def pct(self, part: int) -> float:
        return 100.0 * part / self.records if self.records else 0.0

    @property
    def completeness_pct(self) -> float:
        return 100.0 - self.pct(self.incomplete) if self.records else 100.0
