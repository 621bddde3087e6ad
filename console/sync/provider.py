"""Open a connection's provider: its connector from the registry, its credentials from the vault, its base
URL checked against the allowlist; and what the engine keeps of the provider's answers (credential state,
the daily call budget)."""
from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from flask import current_app

from ..choices import CredentialStatus
from ..connectors import registry
from ..connectors.base import AuthExpired, FatalError, Session
from ..extensions import db
from ..models import IntegrationConnection, IntegrationProviderAccount
from ..models.base import table, utcnow
from ..security.outbound import OutboundRefused, check
from ..security.vault import get_vault
from .budget import budget_for


def _store_tokens(account: IntegrationProviderAccount):
    """Encrypt and commit a rotated refresh token at once. Runs on whichever thread fetched (the
    prefetcher), so it uses its own connection."""
    vault, engine, account_id = get_vault(), db.engines[None], account.id

    def store(tokens) -> None:
        doc = json.dumps({"access_token": tokens.access_token, "refresh_token": tokens.refresh_token,
                          "expires_at": tokens.expires_at})
        values: dict[str, Any] = IntegrationProviderAccount.sealed(account_id, "credentials", doc, vault,
                                                                   tokens.refresh_token)
        values["token_expires_at"] = datetime.fromtimestamp(tokens.expires_at, UTC).replace(tzinfo=None)
        with engine.begin() as conn:
            accounts = table(IntegrationProviderAccount)
            conn.execute(sa.update(accounts).where(accounts.c.id == account_id).values(**values))

    return store


def allowed_base_url(account: IntegrationProviderAccount) -> str:
    """The account's API base URL, when the server may send its credentials there."""
    try:
        default = registry.get(account.provider.key).default_base_url if account.provider else ""
        return check(account.base_url or default, tuple(current_app.config["PROVIDER_HOSTS"]),
                     "The connection's API base URL")
    except OutboundRefused as refused:
        raise FatalError(str(refused)) from None


def has_api(connection: IntegrationConnection) -> bool:
    """Whether the connection's provider is read through an API (a file upload's is not)."""
    return registry.get(connection.provider.key).open_session is not None


def open_session(connection: IntegrationConnection, **client_options: Any) -> Session:
    """The connection's provider, opened with its credentials from the vault (the connector comes from the
    registry: this module never names a provider)."""
    account = connection.account
    if account is None:
        raise FatalError("The connection has no provider account yet.")
    allowed_base_url(account)
    connector = registry.get(connection.provider.key)
    if connector.open_session is None:
        raise FatalError(f"{connector.name} has no API to open.")
    raw = account.get_secret("credentials")
    if raw is None:
        raise AuthExpired("No credentials are stored for this connection.")
    key = f"{account.provider_id}:{account.external_account_id or account.id}"
    return connector.open_session(account.base_url, json.loads(raw), limiter_key=key,
                                  budget=budget_for(current_app.config["CALL_BUDGET_URL"], key, connector.lanes),
                                  client_id=account.oauth_client_id or "",
                                  client_secret=account.get_secret("client_secret") or "",
                                  store_tokens=_store_tokens(account), **client_options)


def remember_daily_budget(connection: IntegrationConnection, session: Session | None) -> None:
    """Keep the provider's daily call budget on the account, so every process (and the rate-limit
    pressure alert) sees what the last answer said."""
    account = connection.account
    limiter = getattr(session, "limiter", None)
    if account is None or limiter is None or limiter.daily_observed_at is None:
        return
    if account.rate_limit_observed_at is not None and account.rate_limit_observed_at >= limiter.daily_observed_at:
        return
    account.rate_limit_daily, account.rate_limit_daily_remaining = limiter.daily_limit, limiter.daily_remaining
    account.rate_limit_observed_at = limiter.daily_observed_at


def mark_credentials(connection: IntegrationConnection, ok: bool, error: str | None = None) -> None:
    account = connection.account
    if account is None:
        return
    account.credentials_status = CredentialStatus.VALID.value if ok else CredentialStatus.INVALID.value
    account.credentials_error = None if ok else (error or "")[:500]
    account.credentials_checked_at = utcnow()
