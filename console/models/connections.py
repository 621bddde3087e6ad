"""Connections (client × provider account) and their launch checklist."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..choices import ConnectionStatus
from .accounts import Client, User
from .base import DateTime, JsonText, Model, TimestampMixin
from .providers import IntegrationProvider, IntegrationProviderAccount


class IntegrationConnection(TimestampMixin, Model):
    __tablename__ = "integration_connections"
    __table_args__ = (sa.Index("ix_integration_connections_client_status", "client_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(sa.ForeignKey("clients.id"))
    provider_id: Mapped[int] = mapped_column(sa.ForeignKey("integration_providers.id"), index=True)
    account_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("integration_provider_accounts.id"), index=True
    )
    name: Mapped[str] = mapped_column(sa.String(120))
    environment: Mapped[str] = mapped_column(sa.String(16))
    status: Mapped[str] = mapped_column(sa.String(16), default=ConnectionStatus.DRAFT, index=True)
    owner_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    failure_path: Mapped[str] = mapped_column(sa.Text, default="")
    manual_fallback: Mapped[str] = mapped_column(sa.Text, default="")
    last_tested_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_test_run_id: Mapped[int | None] = mapped_column(sa.Integer)
    went_live_at: Mapped[datetime | None] = mapped_column(DateTime)
    paused_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
    client_visible: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    client_visibility_note: Mapped[str] = mapped_column(sa.Text, default="")
    client_explanation: Mapped[str] = mapped_column(sa.Text, default="")
    next_action: Mapped[str] = mapped_column(sa.Text, default="")
    stale_multiple: Mapped[int] = mapped_column(sa.Integer, default=3)
    rate_limit_pressure_pct: Mapped[int] = mapped_column(sa.Integer, default=20)
    failed_webhook_threshold: Mapped[int] = mapped_column(sa.Integer, default=5)
    # Webhook redeliveries as a share of deliveries in the last hour (HubSpot retries slow or failed answers).
    duplicate_event_pct: Mapped[int] = mapped_column(sa.Integer, default=20, server_default="20")
    # Freshness objective: changes reflected within `freshness_target_seconds`, `freshness_objective_pct` of the time.
    freshness_target_seconds: Mapped[int] = mapped_column(sa.Integer, default=300, server_default="300")
    freshness_objective_pct: Mapped[int] = mapped_column(sa.Integer, default=99, server_default="99")
    # Data-quality thresholds checked after each sync run.
    quality_completeness_pct: Mapped[int] = mapped_column(sa.Integer, default=95, server_default="95")
    quality_duplicate_pct: Mapped[int] = mapped_column(sa.Integer, default=5, server_default="5")
    quality_unresolved_pct: Mapped[int] = mapped_column(sa.Integer, default=2, server_default="2")
    notify_channel: Mapped[str] = mapped_column(sa.String(16), default="email")
    notify_target: Mapped[str] = mapped_column(sa.String(500), default="", server_default="")
    docs_url: Mapped[str] = mapped_column(sa.String(500), default="", server_default="")
    # The share of a test batch's records that may fail on unusable source values (invalid emails...)
    # without each being ignored by hand; mapping and provider failures always block.
    source_failure_pct: Mapped[int] = mapped_column(sa.Integer, default=5, server_default="5")
    # What a run does when the provider's schema broke the mapping (sync/schema_drift.py): pause the
    # affected job, or go on and fail the affected records with a mapping failure. Chosen in the mapping step.
    drift_policy: Mapped[str] = mapped_column(sa.String(8), default="pause", server_default="pause")
    # Metrics an admin marked "not applicable" for this connection: {key: {reason, user_id, at}}.
    metrics_not_applicable: Mapped[dict | None] = mapped_column(JsonText)
    # Source fields that must never leave the source (from the intake): never requested, mapped, stored,
    # logged or archived. Property names, as the provider spells them.
    withheld_fields: Mapped[list | None] = mapped_column(JsonText)
    # Source fields that must never enter middleware logs (from the intake): synced, but treated as
    # sensitive everywhere (dropped from raw events and archives, masked in error messages).
    masked_fields: Mapped[list | None] = mapped_column(JsonText)

    client: Mapped[Client] = relationship()
    provider: Mapped[IntegrationProvider] = relationship()
    account: Mapped[IntegrationProviderAccount | None] = relationship()
    owner: Mapped[User | None] = relationship()
    checklist: Mapped[list[ConnectionChecklistItem]] = relationship(
        back_populates="connection", order_by="ConnectionChecklistItem.position"
    )


class ConnectionChecklistItem(TimestampMixin, Model):
    __tablename__ = "connection_checklist_items"
    __table_args__ = (sa.UniqueConstraint("connection_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(sa.ForeignKey("integration_connections.id"))
    step: Mapped[str] = mapped_column(sa.String(16))
    key: Mapped[str] = mapped_column(sa.String(60))
    label: Mapped[str] = mapped_column(sa.String(200))
    position: Mapped[int] = mapped_column(sa.Integer, default=0)
    required: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    automatic: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    done_at: Mapped[datetime | None] = mapped_column(DateTime)
    done_by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    note: Mapped[str] = mapped_column(sa.Text, default="")

    connection: Mapped[IntegrationConnection] = relationship(back_populates="checklist")
    done_by: Mapped[User | None] = relationship()
