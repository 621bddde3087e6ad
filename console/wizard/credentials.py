"""The connection's credentials (write-only: stored encrypted, never shown), the OAuth sign-in, and the
live check of portal and scopes against the provider. Every change is audited and unticks the checklist's
"credentials verified" until a check passes again."""
from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .. import audit
from ..choices import AuthType, CredentialStatus
from ..connectors import registry
from ..connectors.base import AuthExpired, ConnectorError
from ..extensions import db
from ..models import IntegrationConnection, IntegrationProviderAccount, User
from ..security.vault import VaultError
from ..sync.provider import allowed_base_url, mark_credentials, open_session
from . import checklist
from .services import WizardError, account_of


def save_private_token(conn: IntegrationConnection, user: User, token: str) -> None:
    account = account_of(conn)
    if account.auth_type != AuthType.PRIVATE_APP:
        raise WizardError("This connection uses OAuth: connect with the provider instead.", "token")
    token = token.strip()
    account.set_secret("credentials", json.dumps({"token": token}), hint_source=token)
    _credentials_changed(conn, account, user, "private_app_token")


def save_oauth_secret(conn: IntegrationConnection, user: User, client_secret: str) -> None:
    account = account_of(conn)
    account.set_secret("client_secret", client_secret.strip())
    audit.record("connection.secret_saved", conn, user, secret="client_secret")
    db.session.commit()


def save_webhook_secret(conn: IntegrationConnection, user: User, secret: str, app_id: str,
                        legacy_signatures: bool = False) -> None:
    """The secret HubSpot signs webhook deliveries with; the receiver looks it up by portal id."""
    from ..webhooks.ingest import forget_secrets

    account = account_of(conn)
    account.set_secret("webhook_secret", secret.strip())
    account.app_id = app_id.strip() or account.app_id
    account.webhook_v3_only = not legacy_signatures
    audit.record("connection.secret_saved", conn, user, secret="webhook_secret", hint=account.webhook_secret_hint,
                 v3_only=account.webhook_v3_only)
    db.session.commit()
    forget_secrets()


def _credentials_changed(conn: IntegrationConnection, account: IntegrationProviderAccount, user: User,
                         kind: str) -> None:
    account.credentials_status, account.credentials_error, account.granted_scopes = (
        CredentialStatus.UNKNOWN.value, None, None)
    checklist.prove(conn, "credentials_verified", False, "new credentials, not checked yet", user)
    audit.record("connection.credentials_saved", conn, user, kind=kind, hint=account.credentials_hint)
    db.session.commit()


def oauth_start(conn: IntegrationConnection, redirect_uri: str) -> tuple[str, str]:
    """The provider's consent URL and the one-time state the callback must bring back."""
    account = account_of(conn)
    _allowed(account)
    if account.auth_type != AuthType.OAUTH:
        raise WizardError("This connection uses a private-app token.")
    if not (account.oauth_client_id and account.client_secret_enc and account.base_url):
        raise WizardError("Save the base URL, the app's client id and its client secret first.")
    state = secrets.token_urlsafe(24)
    url = _oauth(conn)[0](account.base_url, account.oauth_client_id, redirect_uri,
                                     account.required_scopes.split(), state)
    return url, state


def oauth_finish(conn: IntegrationConnection, user: User, code: str, redirect_uri: str) -> None:
    account = account_of(conn)
    _allowed(account)
    try:
        tokens = _oauth(conn)[1](account.base_url, account.oauth_client_id or "",
                                            account.get_secret("client_secret") or "", code, redirect_uri)
    except ConnectorError as exc:
        raise WizardError(str(exc)) from exc
    doc = json.dumps({"access_token": tokens.access_token, "refresh_token": tokens.refresh_token,
                      "expires_at": tokens.expires_at})
    account.set_secret("credentials", doc, hint_source=tokens.refresh_token)
    _credentials_changed(conn, account, user, "oauth_authorization")


def _oauth(conn: IntegrationConnection) -> tuple[Callable[..., str], Callable[..., Any]]:
    """The provider's consent-URL builder and code exchange."""
    connector = registry.get(conn.provider.key)
    if connector.authorize_url is None or connector.exchange_code is None:
        raise WizardError(f"{connector.name} has no OAuth sign-in.")
    return connector.authorize_url, connector.exchange_code


def _allowed(account: IntegrationProviderAccount) -> None:
    try:
        allowed_base_url(account)
    except ConnectorError as exc:
        raise WizardError(str(exc)) from None


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    message: str
    portal_id: str | None = None
    granted: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()


def check_connection(conn: IntegrationConnection, user: User) -> CheckResult:
    """Call the provider with the stored credentials: which portal, which scopes, and are they enough."""
    account = conn.account
    if account is None or not account.credentials_enc:
        return CheckResult(False, "No credentials are stored yet.")
    connector = registry.get(conn.provider.key)
    name = connector.name
    try:
        info = open_session(conn, timeout=10.0, max_attempts=2).inspect()
    except VaultError:
        db.session.rollback()
        return CheckResult(False, "The stored credentials cannot be decrypted with this server's CONSOLE_MASTER_KEY "
                                  "(the key was changed, or the row was copied from another install). Restore the key "
                                  "they were stored with, or store the token again; the provider was not called.")
    except ConnectorError as exc:
        message = str(exc)
        if isinstance(exc, AuthExpired):
            message = (f"{name} refused the token (401): check that it was copied whole, and that the private app "
                       "still exists." if account.auth_type == AuthType.PRIVATE_APP else
                       f"{name} refused the credentials (401): connect with {name} again.")
        mark_credentials(conn, ok=False, error=message)
        checklist.prove(conn, "credentials_verified", False, "live check failed", user)
        audit.record("connection.checked", conn, user, ok=False)
        db.session.commit()
        return CheckResult(False, message)
    required = set(account.required_scopes.split())
    missing = tuple(sorted(required - set(info.scopes)))
    wrong_portal = bool(account.external_account_id) and not connector.same_account(account.external_account_id or "",
                                                                                    info.portal_id)
    ok = not missing and not wrong_portal
    account.granted_scopes = " ".join(info.scopes)
    if ok:
        mark_credentials(conn, ok=True)
        message = f"Connected to {connector.account_noun} {info.portal_id} with every required scope."
    else:
        message = (f"The credentials open {connector.account_noun} {info.portal_id}, not {account.external_account_id}."
                   if wrong_portal else f"The token lacks required scopes: {', '.join(missing)}.")
        mark_credentials(conn, ok=False, error=message)
    checklist.prove(conn, "credentials_verified", ok, message, user)
    audit.record("connection.checked", conn, user, ok=ok, portal_id=info.portal_id, missing=list(missing))
    db.session.commit()
    return CheckResult(ok, message, info.portal_id, tuple(info.scopes), missing)
