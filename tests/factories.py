"""Plain functions that add rows for tests (the caller commits)."""
from __future__ import annotations

import itertools

from console.choices import ConnectionStatus, Environment, Role
from console.extensions import db
from console.models import Client, IntegrationConnection, IntegrationProviderAccount, User
from console.models.base import utcnow
from console.reference import ensure_providers

PASSWORD = "correct horse battery staple"
_seq = itertools.count(1)


def client(name: str | None = None) -> Client:
    n = next(_seq)
    row = Client(name=name or f"Client {n}", slug=f"client-{n}")
    db.session.add(row)
    db.session.flush()
    return row


def user(role: str = Role.ADMIN, client: Client | None = None, email: str | None = None,
         password: str = PASSWORD, active: bool = True) -> User:
    if role == Role.CLIENT and client is None:
        client = globals()["client"]()
    row = User(email=email or f"{role}{next(_seq)}@example.com", name=f"{role.title()} User",
               role=str(role), client_id=client.id if client else None, active=active)
    row.set_password(password)
    db.session.add(row)
    db.session.flush()
    return row


def account(client_obj: Client, **kw) -> IntegrationProviderAccount:
    provider = ensure_providers()["hubspot"]
    kw.setdefault("auth_type", "private_app")
    row = IntegrationProviderAccount(provider_id=provider.id, client_id=client_obj.id,
                                     environment=Environment.SANDBOX.value, **kw)
    db.session.add(row)
    db.session.flush()
    return row


def connection(client_obj: Client, visible: bool = True, live: bool = False, **kw) -> IntegrationConnection:
    """A connection, a draft unless `live` (then it went live just now: the portal shows only those)."""
    provider = ensure_providers()["hubspot"]
    kw.setdefault("status", ConnectionStatus.LIVE.value if live else ConnectionStatus.DRAFT.value)
    if live:
        kw.setdefault("went_live_at", utcnow())
    row = IntegrationConnection(client_id=client_obj.id, provider_id=provider.id,
                                name=kw.pop("name", f"{client_obj.name} CRM"),
                                environment=Environment.SANDBOX.value, client_visible=visible, **kw)
    db.session.add(row)
    db.session.flush()
    return row


def hubspot_connection(sandbox_url: str, token: str, client_obj: Client | None = None,
                       portal_id: str = "62515") -> IntegrationConnection:
    """A connection whose account points at a sandbox with a private-app token (encrypted)."""
    import json

    client_obj = client_obj or client()
    acc = account(client_obj, base_url=sandbox_url, external_account_id=portal_id)
    acc.set_secret("credentials", json.dumps({"token": token}), hint_source=token)
    return connection(client_obj, account_id=acc.id)


def salesforce_connection(org_sandbox, client_obj: Client | None = None) -> IntegrationConnection:
    """A connection to a Salesforce sandbox org through the web-server flow's refresh token (encrypted)."""
    import json
    import secrets

    provider = ensure_providers()["salesforce"]
    org = org_sandbox.org
    refresh = f"5Aep{secrets.token_urlsafe(24)}"
    with org.lock:
        org.refresh_tokens[refresh] = org.integration_user
    client_obj = client_obj or client()
    acc = IntegrationProviderAccount(provider_id=provider.id, client_id=client_obj.id, environment=Environment.SANDBOX.value,
                                     auth_type="oauth", base_url=org_sandbox.url, external_account_id=org.config.org_id,
                                     oauth_client_id=org.client_id)
    db.session.add(acc)
    db.session.flush()
    acc.set_secret("credentials", json.dumps({"access_token": "", "refresh_token": refresh}), hint_source=refresh)
    acc.set_secret("client_secret", org.client_secret)
    row = IntegrationConnection(client_id=client_obj.id, provider_id=provider.id, account_id=acc.id,
                                name=f"{client_obj.name} Salesforce", environment=Environment.SANDBOX.value)
    db.session.add(row)
    db.session.flush()
    return row
