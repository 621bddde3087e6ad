"""Monitor alerts: one open row per (connection, kind) while the condition holds."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..choices import AlertStatus
from ..extensions import db
from .base import DateTime, TimestampMixin


class MonitorAlert(TimestampMixin, db.Model):
    __tablename__ = "monitor_alerts"
    __table_args__ = (
        sa.Index("ix_monitor_alerts_connection_kind_status", "connection_id", "kind", "status"),
        sa.Index("ix_monitor_alerts_status_opened", "status", "opened_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int | None] = mapped_column(sa.ForeignKey("integration_connections.id"))
    kind: Mapped[str] = mapped_column(sa.String(40))
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
    notify_next_at: Mapped[datetime | None] = mapped_column(DateTime)
    notify_error: Mapped[str | None] = mapped_column(sa.String(500))
