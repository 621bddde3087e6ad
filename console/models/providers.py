"""Providers (HubSpot, manual CSV…) and the provider-side accounts a client connects."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..choices import CredentialStatus
from .base import DateTime, Model, TimestampMixin
from .secrets import SecretFields


class IntegrationProvider(TimestampMixin, Model):
    __tablename__ = "integration_providers"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(40), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    kind: Mapped[str] = mapped_column(sa.String(20))  # crm | file | webhook
    auth_type: Mapped[str] = mapped_column(sa.String(20))
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    docs_url: Mapped[str | None] = mapped_column(sa.String(500))


class IntegrationProviderAccount(SecretFields, TimestampMixin, Model):
    """A provider-side account (e.g. a HubSpot portal) with its encrypted credentials."""

    __tablename__ = "integration_provider_accounts"
    __secrets__ = ("credentials", "client_secret", "webhook_secret")

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(sa.ForeignKey("integration_providers.id"), index=True)
    client_id: Mapped[int] = mapped_column(sa.ForeignKey("clients.id"), index=True)
    external_account_id: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    environment: Mapped[str] = mapped_column(sa.String(16))
    base_url: Mapped[str | None] = mapped_column(sa.String(500))
    auth_type: Mapped[str] = mapped_column(sa.String(20))
    oauth_client_id: Mapped[str | None] = mapped_column(sa.String(200))
    app_id: Mapped[str | None] = mapped_column(sa.String(64))
    # JSON {"access_token", "refresh_token"} or {"token"}, encrypted as one document.
    credentials_enc: Mapped[str | None] = mapped_column(sa.Text)
    credentials_hint: Mapped[str | None] = mapped_column(sa.String(8))
    client_secret_enc: Mapped[str | None] = mapped_column(sa.Text)
    client_secret_hint: Mapped[str | None] = mapped_column(sa.String(8))
    webhook_secret_enc: Mapped[str | None] = mapped_column(sa.Text)
    webhook_secret_hint: Mapped[str | None] = mapped_column(sa.String(8))
    # v1/v2 signatures carry no timestamp and can be replayed: refused unless an older app needs them.
    webhook_v3_only: Mapped[bool] = mapped_column(sa.Boolean, default=True, server_default=sa.true())
    required_scopes: Mapped[str] = mapped_column(sa.Text, default="")
    granted_scopes: Mapped[str | None] = mapped_column(sa.Text)
    token_expires_at: Mapped[datetime | None] = mapped_column(DateTime)
    credentials_status: Mapped[str] = mapped_column(sa.String(16), default=CredentialStatus.UNKNOWN)
    credentials_error: Mapped[str | None] = mapped_column(sa.String(500))
    credentials_checked_at: Mapped[datetime | None] = mapped_column(DateTime)
    revocation_path: Mapped[str] = mapped_column(sa.Text, default="")
    # The provider's daily call budget as its last answer reported it (X-HubSpot-RateLimit-Daily[-Remaining]).
    rate_limit_daily: Mapped[int | None] = mapped_column(sa.Integer)
    rate_limit_daily_remaining: Mapped[int | None] = mapped_column(sa.Integer)
    rate_limit_observed_at: Mapped[datetime | None] = mapped_column(DateTime)

    provider: Mapped[IntegrationProvider] = relationship()


class ProviderCallBudget(Model):
    """One lane of a provider account's call budget, shared by every process (console/sync/budget.py): the
    send slots taken within the last window on the database's clock (a sliding log), how many calls a
    window may hold, learned from the provider's answers, a hold after a refusal, and the daily budget its
    last answer reported."""

    __tablename__ = "provider_call_budgets"

    key: Mapped[str] = mapped_column(sa.String(191), primary_key=True)  # "<provider id>:<account>|<lane>"
    sent: Mapped[str] = mapped_column(sa.Text, default="")               # slots, epoch seconds, oldest first
    allowed: Mapped[int | None] = mapped_column(sa.Integer)             # calls a window may hold (None: no limit known)
    window_ms: Mapped[int | None] = mapped_column(sa.Integer)
    held_until: Mapped[float] = mapped_column(sa.Double, default=0.0)   # no call before (a 429, a full window)
    daily_at: Mapped[float | None] = mapped_column(sa.Double)           # when an answer last gave the daily figures
    daily_limit: Mapped[int | None] = mapped_column(sa.Integer)
    daily_remaining: Mapped[int | None] = mapped_column(sa.Integer)
