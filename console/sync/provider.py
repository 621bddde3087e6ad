"""Build a provider stream for a connection: credentials from the vault, the account's limiter,
reference data. The only place the engine learns which provider it talks to."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from flask import current_app

from ..choices import CredentialStatus
from ..connectors.base import AuthExpired, FatalError
from ..connectors.hubspot.auth import OAuthTokenProvider, OAuthTokens, PrivateAppToken, TokenProvider
from ..connectors.hubspot.client import CallStats, HubSpotClient
from ..connectors.hubspot.ratelimit import limiter_for
from ..connectors.hubspot.streams import DEFAULT_LOOKBACK_MS, HubSpotStream
from ..extensions import db
from ..mapping.mapper import Reference
from ..models import IntegrationConnection, IntegrationProviderAccount
from ..models.base import utcnow
from ..security.outbound import OutboundRefused, check
from ..security.vault import get_vault


@dataclass
class ProviderSession:
    client: HubSpotClient
    stats: CallStats

    def stream(self, object_type: str, properties: list[str], lookback_ms: int = DEFAULT_LOOKBACK_MS) -> HubSpotStream:
        return HubSpotStream(self.client, object_type, properties, lookback_ms)

    def properties(self, object_type: str) -> list[dict]:
        return (self.client.get(f"/crm/v3/properties/{object_type}") or {}).get("results", [])

    def reference(self) -> Reference:
        ref = Reference()
        after = None
        while True:
            reply = self.client.get("/crm/v3/owners/", {"limit": 100, **({"after": after} if after else {})}) or {}
            for o in reply.get("results", []):
                ref.owners[str(o["id"])] = " ".join(p for p in (o.get("firstName"), o.get("lastName")) if p) or o.get("email", "")
            after = ((reply.get("paging") or {}).get("next") or {}).get("after")
            if not after:
                break
        for pipeline in (self.client.get("/crm/v3/pipelines/deals") or {}).get("results", []):
            ref.pipelines[pipeline["id"]] = pipeline["label"]
            for stage in pipeline.get("stages", []):
                ref.stages[stage["id"]] = stage["label"]
                ref.stage_states[stage["id"]] = stage_state(stage.get("metadata") or {})
        return ref


def stage_state(metadata: dict) -> str:
    """HubSpot marks closed stages with isClosed; a closed stage's probability tells won from lost."""
    if str(metadata.get("isClosed", "false")).lower() != "true":
        return "open"
    try:
        return "won" if float(metadata.get("probability") or 0) > 0 else "lost"
    except ValueError:
        return "lost"


def _token_provider(account: IntegrationProviderAccount) -> TokenProvider:
    raw = account.get_secret("credentials")
    if raw is None:
        raise AuthExpired("No credentials are stored for this connection.")
    creds = json.loads(raw)
    if "token" in creds:
        return PrivateAppToken(creds["token"])

    vault, engine, account_id = get_vault(), db.engines[None], account.id

    def store(tokens: OAuthTokens) -> None:
        """A rotated refresh token must never live only in memory: encrypt and commit it at once.
        Runs on whichever thread fetched (the prefetcher), so it uses its own connection."""
        doc = json.dumps({"access_token": tokens.access_token, "refresh_token": tokens.refresh_token,
                          "expires_at": tokens.expires_at})
        values = IntegrationProviderAccount.sealed(account_id, "credentials", doc, vault, tokens.refresh_token)
        values["token_expires_at"] = datetime.fromtimestamp(tokens.expires_at, UTC).replace(tzinfo=None)
        with engine.begin() as conn:
            conn.execute(sa.update(IntegrationProviderAccount.__table__)
                         .where(IntegrationProviderAccount.__table__.c.id == account_id).values(**values))

    return OAuthTokenProvider(account.base_url or "https://api.hubapi.com", account.oauth_client_id or "",
                              account.get_secret("client_secret") or "",
                              OAuthTokens(creds["access_token"], creds["refresh_token"],
                                          float(creds.get("expires_at", time.time()))), store)


def allowed_base_url(account: IntegrationProviderAccount) -> str:
    """The account's API base URL, when the server may send its credentials there."""
    try:
        return check(account.base_url or "https://api.hubapi.com", tuple(current_app.config.get("PROVIDER_HOSTS", ())),
                     "The connection's API base URL")
    except OutboundRefused as refused:
        raise FatalError(str(refused)) from None


def open_session(connection: IntegrationConnection, **client_options) -> ProviderSession:
    account = connection.account
    if account is None:
        raise FatalError("The connection has no provider account yet.")
    allowed_base_url(account)
    stats = CallStats()
    client = HubSpotClient(account.base_url, _token_provider(account),
                           limiter_for(f"{account.provider_id}:{account.external_account_id or account.id}"),
                           stats, **client_options)
    return ProviderSession(client, stats)


def remember_daily_budget(connection: IntegrationConnection, session: ProviderSession | None) -> None:
    """Keep the provider's daily call budget on the account, so every process (and the rate-limit
    pressure alert) sees what the last answer said; the limiter itself lives in one process's memory."""
    account = connection.account
    limiter = session.client.limiter if session is not None else None
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
