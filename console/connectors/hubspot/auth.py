"""Bearer tokens for a HubSpot account: a private-app token, or OAuth tokens refreshed 5 minutes
before expiry. A refreshed (possibly rotated) token set is handed to `on_refresh` at once, which
stores it encrypted before anything else happens."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests

from ...security.outbound import http_session
from ..base import AuthExpired, RetriableError, unreachable

REFRESH_MARGIN_S = 300


@dataclass
class OAuthTokens:
    access_token: str
    refresh_token: str
    expires_at: float  # epoch seconds


def post_token(base_url: str, data: dict[str, str], refused: str, session: Any = None,
               timeout: float = 15.0) -> OAuthTokens:
    """HubSpot's token endpoint, for a code exchange and a refresh alike, with one error rule: unreachable
    or a 5xx is worth retrying; any other refusal means the grant is gone (`refused` says which, with
    HubSpot's reason); an answer without a usable access token is unreadable. A refresh answer may omit
    the refresh token (it is then kept): the caller fills it in."""
    url = f"{base_url.rstrip('/')}/oauth/v1/token"
    try:
        resp = (session or http_session(url)).post(url, timeout=timeout, allow_redirects=False, data=data)
    except requests.RequestException as exc:
        raise RetriableError(unreachable(base_url, exc)) from exc
    if resp.status_code >= 500:
        raise RetriableError(f"HubSpot answered {resp.status_code}; try again.")
    try:
        body = resp.json()
    except ValueError:
        body = None
    if resp.status_code != 200:
        reason = body.get("error") if isinstance(body, dict) else None
        if reason == "invalid_client":
            raise AuthExpired("HubSpot rejected the app's client id or secret.")
        why = str((body.get("message") or reason) if isinstance(body, dict) else "")[:200]
        raise AuthExpired(f"{refused}{f' (HubSpot: {why})' if why else ''}.")
    access = body.get("access_token") if isinstance(body, dict) else None
    if not isinstance(body, dict) or not isinstance(access, str) or not access:
        raise RetriableError("HubSpot sent an unreadable token answer (no access token); try again.")
    refresh = body.get("refresh_token")
    try:
        expires_in = int(body.get("expires_in", 1800))
    except (TypeError, ValueError):
        expires_in = 1800
    return OAuthTokens(access, refresh if isinstance(refresh, str) else "", time.time() + expires_in)


class TokenProvider:
    def token(self) -> str:
        raise NotImplementedError

    def refresh(self) -> bool:
        """Try to get a new token after a 401; False when that is impossible."""
        return False


class PrivateAppToken(TokenProvider):
    def __init__(self, token: str) -> None:
        self._token = token

    def token(self) -> str:
        return self._token


class OAuthTokenProvider(TokenProvider):
    def __init__(self, base_url: str, client_id: str, client_secret: str, tokens: OAuthTokens,
                 on_refresh: Callable[[OAuthTokens], None], session: requests.Session | None = None) -> None:
        self.base_url, self.client_id, self.client_secret = base_url.rstrip("/"), client_id, client_secret
        self.tokens, self.on_refresh = tokens, on_refresh
        self.session = session or http_session(self.base_url)
        self.lock = threading.Lock()

    def token(self) -> str:
        with self.lock:
            if self.tokens.expires_at - time.time() <= REFRESH_MARGIN_S:
                self._refresh_locked()
            return self.tokens.access_token

    def refresh(self) -> bool:
        with self.lock:
            self._refresh_locked()
        return True

    def _refresh_locked(self) -> None:
        fresh = post_token(self.base_url, {
            "grant_type": "refresh_token", "refresh_token": self.tokens.refresh_token,
            "client_id": self.client_id, "client_secret": self.client_secret},
            "HubSpot refused the refresh token (revoked or expired); reconnect the account", self.session)
        self.tokens = OAuthTokens(fresh.access_token, fresh.refresh_token or self.tokens.refresh_token,
                                  fresh.expires_at)
        self.on_refresh(self.tokens)
