"""What the wizard asks HubSpot about an account: which portal the credentials open and which scopes
the token really has; and the OAuth authorization-code flow (authorize URL, code exchange)."""
from __future__ import annotations

from urllib.parse import urlencode

from ..base import AccountInfo, FatalError
from .auth import OAuthTokens, PrivateAppToken, post_token
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
    tokens = post_token((base_url or HUBSPOT_API), {
        "grant_type": "authorization_code", "client_id": client_id, "client_secret": client_secret,
        "redirect_uri": redirect_uri, "code": code}, "HubSpot refused the authorization code", timeout=timeout)
    if not tokens.refresh_token:
        raise FatalError("HubSpot's token answer has no refresh token; start the authorization again.")
    return tokens
