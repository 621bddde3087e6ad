"""Salesforce session tokens: OAuth (the web-server flow's refresh token) or the JWT bearer flow (a
connected app's certificate key signs an assertion for the integration user). Salesforce answers no
expiry: a token is used until a 401, then minted again once. A new token set goes to `on_refresh` at once."""
from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from ...security.outbound import http_session
from ..base import AuthExpired, RetriableError, unreachable

AUDIENCE = "https://login.salesforce.com"
ASSERTION_TTL_S = 170  # Salesforce refuses an assertion expiring more than 3 minutes out


@dataclass
class SalesforceTokens:
    access_token: str
    refresh_token: str
    expires_at: float  # not stated by Salesforce: the time it was issued plus two hours, for the console's display
    instance_url: str = ""


def post_token(url: str, data: dict[str, str], refused: str, session: requests.Session | None = None) -> dict:
    """The token endpoint, with one error rule: unreachable or a 5xx is retried later; any other refusal
    means the grant is gone (`refused`, with Salesforce's reason); no access token is unreadable."""
    try:
        resp = (session or http_session(url)).post(f"{url.rstrip('/')}/services/oauth2/token", data=data, timeout=15,
                                                   allow_redirects=False)
    except requests.RequestException as exc:
        raise RetriableError(unreachable(url, exc)) from exc
    if resp.status_code >= 500:
        raise RetriableError(f"Salesforce answered {resp.status_code}; try again.")
    try:
        body = resp.json()
    except ValueError:
        body = None
    if resp.status_code != 200:
        why = str(body.get("error_description") or body.get("error") or "")[:200] if isinstance(body, dict) else ""
        raise AuthExpired(f"{refused}{f' (Salesforce: {why})' if why else ''}.")
    if not isinstance(body, dict) or not isinstance(body.get("access_token"), str) or not body["access_token"]:
        raise RetriableError("Salesforce sent an unreadable token answer (no access token); try again.")
    return body


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def assertion(client_id: str, username: str, private_key_pem: str, audience: str = AUDIENCE) -> str:
    """A JWT bearer assertion (RS256), signed with the connected app's certificate key."""
    key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise AuthExpired("The JWT key is not an RSA private key.")
    head = _b64(json.dumps({"alg": "RS256"}).encode())
    claims = _b64(json.dumps({"iss": client_id, "sub": username, "aud": audience,
                              "exp": int(time.time()) + ASSERTION_TTL_S}).encode())
    signature = key.sign(f"{head}.{claims}".encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{head}.{claims}.{_b64(signature)}"


class SalesforceAuth:
    """The current access token; `refresh()` mints a new one (after a 401), by refresh token or assertion."""

    def __init__(self, base_url: str, client_id: str, client_secret: str, credentials: dict,
                 on_refresh: Callable[[SalesforceTokens], None]) -> None:
        self.base_url, self.client_id, self.client_secret = base_url, client_id, client_secret
        self.credentials, self.on_refresh = credentials, on_refresh
        self.access = str(credentials.get("access_token") or "")
        self.scopes: list[str] = []  # what the org granted, as its last token answer said (Salesforce says it nowhere else)
        self.lock = threading.Lock()
        self.session = http_session(base_url)

    def token(self) -> str:
        with self.lock:
            if not self.access:
                self._mint()
            return self.access

    def refresh(self) -> bool:
        with self.lock:
            self._mint()
        return True

    def granted(self) -> list[str]:
        """The scopes the org grants these credentials: a new session is minted to read them."""
        self.refresh()
        return self.scopes

    def _took(self, body: dict) -> None:
        self.access = body["access_token"]
        scope = body.get("scope")
        self.scopes = sorted(set(scope.split()[:50])) if isinstance(scope, str) else []

    def _mint(self) -> None:
        jwt_user, key = self.credentials.get("jwt_username"), self.credentials.get("jwt_private_key")
        if jwt_user and key:
            body = post_token(self.base_url, {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                                              "assertion": assertion(self.client_id, str(jwt_user), str(key),
                                                                     self.credentials.get("jwt_audience") or AUDIENCE)},
                              "Salesforce refused the JWT assertion (the user, the connected app or its certificate)",
                              self.session)
            self._took(body)
            return
        refresh = self.credentials.get("refresh_token")
        if not refresh:
            raise AuthExpired("Salesforce refused the session and no refresh token or JWT key is stored; reconnect.")
        body = post_token(self.base_url, {"grant_type": "refresh_token", "refresh_token": str(refresh),
                                          "client_id": self.client_id, "client_secret": self.client_secret},
                          "Salesforce refused the refresh token (revoked or expired); reconnect the org", self.session)
        self._took(body)
        self.on_refresh(SalesforceTokens(self.access, str(refresh), time.time() + 7200, str(body.get("instance_url") or "")))
