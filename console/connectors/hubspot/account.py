"""What the wizard asks HubSpot about an account: which portal the credentials open and which scopes
the token really has; and the OAuth authorization-code flow (authorize URL, code exchange)."""
from __future__ import annotations

import time
from urllib.parse import urlencode

import requests

from ..base import AccountInfo, AuthExpired, FatalError, RetriableError, unreachable
from .auth import OAuthTokens, PrivateAppToken
from .client import HUBSPOT_API, HubSpotClient

HUBSPOT_APP = "https://app.hubspot.com"


def inspect(client: HubSpotClient) -> AccountInfo:
    """The portal id and the token's granted scopes, from HubSpot's own metadata endpoints."""
    details = client.get("/account-info/v3/details") or {}
    token = client.auth.token()
    if isinstance(client.auth, PrivateAppToken):
        info = client.post("/oauth/v2/private-apps/get/access-token-info", {"tokenKey": token}) or {}
        hub = info.get("hubId")
    else:
        info = client.get(f"/oauth/v1/access-tokens/{token}") or {}
        hub = info.get("hub_id")
    return AccountInfo(str(details.get("portalId") or hub or ""), sorted(info.get("scopes") or []),
                       details.get("timeZone"), details.get("companyCurrency"))


def authorize_url(base_url: str | None, client_id: str, redirect_uri: str, scopes: list[str], state: str) -> str:
    """HubSpot's consent page lives on app.hubspot.com; a sandbox serves it on its own base URL."""
    api = (base_url or HUBSPOT_API).rstrip("/")
    host = HUBSPOT_APP if api == HUBSPOT_API else api
    query = urlencode({"client_id": client_id, "redirect_uri": redirect_uri, "scope": " ".join(scopes),
                       "state": state})
    return f"{host}/oauth/authorize?{query}"


def exchange_code(base_url: str | None, client_id: str, client_secret: str, code: str, redirect_uri: str,
                  timeout: float = 15.0) -> OAuthTokens:
    api = (base_url or HUBSPOT_API).rstrip("/")
    try:
        resp = requests.post(f"{api}/oauth/v1/token", timeout=timeout, allow_redirects=False, data={
            "grant_type": "authorization_code", "client_id": client_id, "client_secret": client_secret,
            "redirect_uri": redirect_uri, "code": code})
    except requests.RequestException as exc:
        raise RetriableError(unreachable(api, exc)) from exc
    if resp.status_code >= 500:
        raise RetriableError(f"HubSpot answered {resp.status_code}; try again.")
    try:
        body = resp.json()
    except ValueError as exc:
        raise FatalError("HubSpot sent an unreadable token answer.") from exc
    if not isinstance(body, dict):
        raise FatalError("HubSpot sent an unreadable token answer.")
    if resp.status_code != 200:
        if body.get("error") == "invalid_client":
            raise AuthExpired("HubSpot rejected the app's client id or secret.")
        raise AuthExpired(f"HubSpot refused the authorization code: {str(body.get('message') or body.get('error'))[:200]}")
    access, refresh = body.get("access_token"), body.get("refresh_token")
    if not isinstance(access, str) or not isinstance(refresh, str) or not access or not refresh:
        raise FatalError("HubSpot's token answer has no access or refresh token; start the authorization again.")
    try:
        expires_in = int(body.get("expires_in", 1800))
    except (TypeError, ValueError):
        expires_in = 1800
    return OAuthTokens(access, refresh, time.time() + expires_in)
