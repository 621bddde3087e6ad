"""High-volume tables in the traffic database. No foreign keys cross to the primary database."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import Mapped, mapped_column

from ..choices import WebhookStatus
from .base import BigId, CreatedMixin, DateTime, JsonText, Model


class IntegrationRawEvent(CreatedMixin, Model):
    """A provider record as fetched (sensitive fields removed), stored once per event key."""

    __bind_key__ = "traffic"
    __tablename__ = "integration_raw_events"
    __table_args__ = (
        sa.UniqueConstraint("connection_id", "event_key"),
        sa.Index("ix_integration_raw_events_run", "run_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    connection_id: Mapped[int] = mapped_column(sa.Integer)
    run_id: Mapped[int | None] = mapped_column(sa.Integer)
    object_type: Mapped[str] = mapped_column(sa.String(40))
    external_id: Mapped[str] = mapped_column(sa.String(255))
    event_key: Mapped[str] = mapped_column(sa.String(255))
    payload: Mapped[dict] = mapped_column(JsonText)
    provider_updated_at: Mapped[datetime | None] = mapped_column(DateTime)


class IntegrationNormalizedEvent(CreatedMixin, Model):
    __bind_key__ = "traffic"
    __tablename__ = "integration_normalized_events"
    __table_args__ = (
        # lag_ms rides along so freshness attainment is read from the index alone
        sa.Index("ix_integration_normalized_events_connection_created_lag", "connection_id", "created_at", "lag_ms"),
        # Every page checks which of its event keys a connection already holds, and the portal reads a
        # connection's import lines: both start with the connection and the kind. (A separate
        # (connection_id, source_kind) index led SQLite to scan every event of the connection and kind
        # for each page's check: quadratic in a backfill.)
        sa.Index("ix_integration_normalized_events_connection_source", "connection_id", "source_kind", "source_ref"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    connection_id: Mapped[int] = mapped_column(sa.Integer)
    source_kind: Mapped[str] = mapped_column(sa.String(16))  # sync | webhook | csv
    source_ref: Mapped[str | None] = mapped_column(sa.String(120))
    object_type: Mapped[str] = mapped_column(sa.String(40))
    external_id: Mapped[str | None] = mapped_column(sa.String(255))
    lead_id: Mapped[int | None] = mapped_column(sa.Integer)
    event_type: Mapped[str] = mapped_column(sa.String(40))
    summary: Mapped[dict | None] = mapped_column(JsonText)
    occurred_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Freshness: our write minus the provider's modification time; only for changes made while we were
    # watching (incremental syncs and webhooks), never for a backfill of old records.
    lag_ms: Mapped[int | None] = mapped_column(sa.BigInteger)


class EventWebhookEvent(CreatedMixin, Model):
    """One inbound event, stored once per provider event id; its status tracks normalization."""

    __bind_key__ = "traffic"
    __tablename__ = "event_webhook_events"
    __table_args__ = (
        sa.UniqueConstraint("provider", "source_event_id"),
        sa.Index("ix_event_webhook_events_status_next", "status", "next_attempt_at"),
        sa.Index("ix_event_webhook_events_connection_created", "connection_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    provider: Mapped[str] = mapped_column(sa.String(40))
    source_event_id: Mapped[str] = mapped_column(sa.String(128))
    connection_id: Mapped[int | None] = mapped_column(sa.Integer)
    account_ref: Mapped[str | None] = mapped_column(sa.String(64))
    event_type: Mapped[str] = mapped_column(sa.String(80))
    object_id: Mapped[str | None] = mapped_column(sa.String(255))
    occurred_at: Mapped[datetime | None] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(sa.String(16), default=WebhookStatus.RECEIVED)
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime)  # also the end of a claim's lease
    claimed_by: Mapped[str | None] = mapped_column(sa.String(120))
    last_error: Mapped[str | None] = mapped_column(sa.String(1000))
    duplicate_count: Mapped[int] = mapped_column(sa.Integer, default=0)
    payload_summary: Mapped[dict | None] = mapped_column(JsonText)
    raw_payload: Mapped[dict | None] = mapped_column(JsonText)
    processed_at: Mapped[datetime | None] = mapped_column(DateTime)


class WebhookRejection(CreatedMixin, Model):
    """A delivery the receiver refused (forged, replayed, malformed, oversized). The untrusted body is
    never stored: only why, from where, when, and how big."""

    __bind_key__ = "traffic"
    __tablename__ = "webhook_rejections"
    __table_args__ = (sa.Index("ix_webhook_rejections_provider_created", "provider", "created_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    provider: Mapped[str] = mapped_column(sa.String(40))
    reason: Mapped[str] = mapped_column(sa.String(40))
    detail: Mapped[str] = mapped_column(sa.String(300))
    address: Mapped[str | None] = mapped_column(sa.String(64))
    signature_version: Mapped[str | None] = mapped_column(sa.String(4))
    body_bytes: Mapped[int] = mapped_column(sa.Integer, default=0)
    connection_id: Mapped[int | None] = mapped_column(sa.Integer, index=True)


class UploadChunk(CreatedMixin, Model):
    """An uploaded file, in pieces under the server's packet limit, so that whichever node claims its
    import can read it (CONSOLE_UPLOAD_STORE=database, the default)."""

    __bind_key__ = "traffic"
    __tablename__ = "upload_chunks"
    __table_args__ = (sa.UniqueConstraint("upload_key", "seq"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    upload_key: Mapped[str] = mapped_column(sa.String(120))
    seq: Mapped[int] = mapped_column(sa.Integer)
    data: Mapped[bytes] = mapped_column(sa.LargeBinary().with_variant(mysql.LONGBLOB(), "mysql"))


class IntegrationRequestLog(Model):
    """One HTTP call a run made to the provider, as ops need it at 2 a.m.: when, what (the path with ids as
    {id}, the query's keys, never their values, never a body or a header), what came back, how long it
    took, what the rate headers said, and which attempt of the request it was."""

    __bind_key__ = "traffic"
    __tablename__ = "integration_request_log"
    __table_args__ = (
        sa.Index("ix_integration_request_log_run", "run_id", "id"),
        sa.Index("ix_integration_request_log_connection_at", "connection_id", "at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    connection_id: Mapped[int] = mapped_column(sa.Integer)
    run_id: Mapped[int | None] = mapped_column(sa.Integer)
    at: Mapped[datetime] = mapped_column(DateTime)
    method: Mapped[str] = mapped_column(sa.String(8))
    path: Mapped[str] = mapped_column(sa.String(200))
    query_keys: Mapped[str | None] = mapped_column(sa.String(200))
    status: Mapped[int | None] = mapped_column(sa.Integer)  # None: no answer (refused, timed out)
    latency_ms: Mapped[int] = mapped_column(sa.Integer)
    rate_remaining: Mapped[int | None] = mapped_column(sa.Integer)  # X-HubSpot-RateLimit-Remaining
    daily_remaining: Mapped[int | None] = mapped_column(sa.Integer)  # X-HubSpot-RateLimit-Daily-Remaining
    attempt: Mapped[int] = mapped_column(sa.Integer, default=0)  # 0: the first try; a retry or a wait after 429 counts up
