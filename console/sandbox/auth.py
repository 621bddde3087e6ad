"""Sandbox credentials: one private-app token and one OAuth app with expiring access tokens."""
from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field

from .schema import OTHER_TYPES, SCOPE_NAMES

ALL_SCOPES = [
    "crm.objects.contacts.read", "crm.objects.contacts.write", "crm.objects.companies.read",
    "crm.objects.companies.write", "crm.objects.deals.read", "crm.objects.deals.write",
    "crm.objects.owners.read", "crm.schemas.contacts.read", "crm.schemas.companies.read",
    "crm.schemas.deals.read", "crm.schemas.contacts.write", "crm.schemas.companies.write",
    "crm.schemas.deals.write", "oauth",
] + [f"crm.{kind}.{name}.{access}" for name in ("products", "line_items", "tickets", "custom")
     for kind in ("objects", "schemas") for access in ("read", "write")] \
  + [f"crm.{kind}.{name}.read" for name in OTHER_TYPES for kind in ("objects", "schemas")]  # read-only, all empty


PRIVATE_APP_ID = 4141  # a private app is an app too: its writes name it as their source


@dataclass
class Grant:
    """Who a bearer token speaks for: the app (rate limits are per app and portal) and its scopes."""

    app_key: str
    kind: str  # private_app | oauth
    scopes: list[str]
    expires_at: float | None = None
    refresh_token: str | None = None
    portal_id: int | None = None  # None: the primary portal
    app_id: int = 0  # the writing app's id: webhooks of its writes carry it as `sourceId`

    def expired(self) -> bool:
        return self.expires_at is not None and time.time() >= self.expires_at


@dataclass
class OAuthApp:
    client_id: str
    client_secret: str
    app_id: int


@dataclass
class AuthState:
    private_token: str
    private_scopes: list[str]
    oauth_app: OAuthApp
    access_ttl: int = 1800
    rotate_refresh_tokens: bool = False
    tokens: dict[str, Grant] = field(default_factory=dict)
    codes: dict[str, tuple[str, list[str]]] = field(default_factory=dict)  # code -> (redirect_uri, scopes)
    refresh: dict[str, list[str]] = field(default_factory=dict)  # refresh token -> scopes
    portal_tokens: dict[str, int] = field(default_factory=dict)  # private-app token -> its (extra) portal
    lock: threading.Lock = field(default_factory=threading.Lock)

    def grant_for(self, token: str) -> Grant | None:
        if secrets.compare_digest(token.encode(), self.private_token.encode()):
            return Grant("private_app", "private_app", self.private_scopes, app_id=PRIVATE_APP_ID)
        for known, portal_id in self.portal_tokens.items():
            if secrets.compare_digest(token.encode(), known.encode()):
                # rate limits are per app and portal, as at HubSpot
                return Grant(f"private_app:{portal_id}", "private_app", self.private_scopes, portal_id=portal_id,
                             app_id=PRIVATE_APP_ID)
        with self.lock:
            return self.tokens.get(token)

    def issue_code(self, redirect_uri: str, scopes: list[str]) -> str:
        code = secrets.token_urlsafe(16)
        with self.lock:
            self.codes[code] = (redirect_uri, scopes)
        return code

    def exchange_code(self, code: str, redirect_uri: str) -> dict | None:
        with self.lock:
            found = self.codes.pop(code, None)
        if found is None or found[0] != redirect_uri:
            return None
        refresh = "rt-" + secrets.token_urlsafe(24)
        with self.lock:
            self.refresh[refresh] = found[1]
        return self._access(found[1], refresh)

    def use_refresh(self, refresh: str) -> dict | None:
        with self.lock:
            scopes = self.refresh.get(refresh)
            if scopes is None:
                return None
            if self.rotate_refresh_tokens:
                del self.refresh[refresh]
                refresh = "rt-" + secrets.token_urlsafe(24)
                self.refresh[refresh] = scopes
        return self._access(scopes, refresh)

    def _access(self, scopes: list[str], refresh: str) -> dict:
        token = "at-" + secrets.token_urlsafe(32)
        with self.lock:
            self.tokens[token] = Grant(f"oauth:{self.oauth_app.app_id}", "oauth", scopes,
                                       time.time() + self.access_ttl, refresh, app_id=self.oauth_app.app_id)
        return {"token_type": "bearer", "access_token": token, "refresh_token": refresh,
                "expires_in": self.access_ttl}

    def revoke_refresh(self, refresh: str) -> bool:
        with self.lock:
            if self.refresh.pop(refresh, None) is None:
                return False
            for token in [t for t, g in self.tokens.items() if g.refresh_token == refresh]:
                del self.tokens[token]
        return True

    def expire_access_tokens(self) -> int:
        with self.lock:
            for grant in self.tokens.values():
                grant.expires_at = time.time() - 1
            return len(self.tokens)


def new_auth_state(token: str | None, access_ttl: int = 1800, client_secret: str | None = None,
                   client_id: str | None = None) -> AuthState:
    return AuthState(
        private_token=token or "pat-sandbox-" + secrets.token_hex(16),
        private_scopes=[s for s in ALL_SCOPES if s != "oauth"],
        oauth_app=OAuthApp(client_id=client_id or "sandbox-client-" + secrets.token_hex(6),
                           client_secret=client_secret or secrets.token_hex(18), app_id=4242),
        access_ttl=access_ttl,
    )


def scope_for(object_type: str, write: bool) -> str:
    return f"crm.objects.{SCOPE_NAMES.get(object_type, object_type)}.{'write' if write else 'read'}"


def schema_scope(object_type: str, write: bool = False) -> str:
    return f"crm.schemas.{SCOPE_NAMES.get(object_type, object_type)}.{'write' if write else 'read'}"
