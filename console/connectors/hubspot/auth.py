"""Bearer tokens for a HubSpot account: a private-app token, or OAuth tokens refreshed 5 minutes
before expiry. A refreshed (possibly rotated) token set is handed to `on_refresh` at once, which
stores it encrypted before anything else happens."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import requests

from ..base import AuthExpired, RetriableError, unreachable

REFRESH_MARGIN_S = 300


@dataclass
class OAuthTokens:
    access_token: str
    refresh_token: str
    expires_at: float  # epoch seconds


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
        self.session = session or requests.Session()
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
        try:
            resp = self.session.post(f"{self.base_url}/oauth/v1/token", timeout=15, allow_redirects=False, data={
                "grant_type": "refresh_token", "refresh_token": self.tokens.refresh_token,
                "client_id": self.client_id, "client_secret": self.client_secret})
        except requests.RequestException as exc:
            raise RetriableError(f"Token refresh failed: {unreachable(self.base_url, exc)}") from exc
        if resp.status_code >= 500:
            raise RetriableError(f"Token refresh failed: HubSpot answered {resp.status_code}")
        if resp.status_code != 200:
            raise AuthExpired("HubSpot refused the refresh token (revoked or expired): reconnect the account.")
        try:
            body = resp.json()
            access = body["access_token"]
            expires_in = int(body.get("expires_in", 1800))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise RetriableError("Token refresh failed: HubSpot sent an unreadable token answer.") from exc
        if not isinstance(access, str) or not access:
            raise RetriableError("Token refresh failed: HubSpot sent no access token.")
        self.tokens = OAuthTokens(access, body.get("refresh_token") or self.tokens.refresh_token,
                                  time.time() + expires_in)
        self.on_refresh(self.tokens)
