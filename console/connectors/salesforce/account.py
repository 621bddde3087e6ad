"""The web-server OAuth flow for a Salesforce org: the consent page on the org's own My Domain (or its
login server), and the code exchanged for a session and a refresh token."""
from __future__ import annotations

import time
from urllib.parse import urlencode

from ..base import FatalError
from .auth import SalesforceTokens, post_token


def authorize_url(base_url: str | None, client_id: str, redirect_uri: str, scopes: list[str], state: str) -> str:
    query = urlencode({"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri,
                       "scope": " ".join(scopes), "state": state})
    return f"{(base_url or '').rstrip('/')}/services/oauth2/authorize?{query}"


def exchange_code(base_url: str | None, client_id: str, client_secret: str, code: str, redirect_uri: str) -> SalesforceTokens:
    body = post_token(base_url or "", {"grant_type": "authorization_code", "code": code, "client_id": client_id,
                                       "client_secret": client_secret, "redirect_uri": redirect_uri},
                      "Salesforce refused the authorization code")
    refresh = body.get("refresh_token")
    if not isinstance(refresh, str) or not refresh:
        raise FatalError("Salesforce's answer has no refresh token: add the refresh_token scope to the connected app.")
    return SalesforceTokens(body["access_token"], refresh, time.time() + 7200, str(body.get("instance_url") or ""))
