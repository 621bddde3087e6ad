"""OAuth 2.0 as HubSpot runs it: authorize redirect, token grants, token metadata, revocation."""
from __future__ import annotations

import secrets
import time
from urllib.parse import urlencode

from flask import Blueprint, Response, jsonify, redirect, request

from .state import state

bp = Blueprint("oauth", __name__)


def _oauth_error(status: int, error: str, message: str, code: str) -> tuple[Response, int]:
    return jsonify({"status": code, "message": message, "error": error, "error_description": message,
                    "correlationId": secrets.token_hex(8)}), status


@bp.get("/oauth/authorize")
def authorize():
    """The sandbox's consent is automatic: it redirects straight back with a code."""
    app = state().auth.oauth_app
    if request.args.get("client_id") != app.client_id or not request.args.get("redirect_uri"):
        return _oauth_error(400, "invalid_request", "Unknown client_id or missing redirect_uri.", "BAD_CLIENT_ID")
    scopes = request.args.get("scope", "").split() + request.args.get("optional_scope", "").split()
    code = state().auth.issue_code(request.args["redirect_uri"], sorted(set(scopes)))
    params = {"code": code}
    if request.args.get("state"):
        params["state"] = request.args["state"]
    sep = "&" if "?" in request.args["redirect_uri"] else "?"
    return redirect(request.args["redirect_uri"] + sep + urlencode(params), code=302)


@bp.post("/oauth/v1/token")
def token():
    auth, form = state().auth, request.form
    app = auth.oauth_app
    if form.get("client_id") != app.client_id or not secrets.compare_digest(
        form.get("client_secret", "").encode(), app.client_secret.encode()
    ):
        return _oauth_error(400, "invalid_client", "Invalid client id or secret.", "BAD_CLIENT_ID")
    grant = form.get("grant_type")
    if grant == "authorization_code":
        issued = auth.exchange_code(form.get("code", ""), form.get("redirect_uri", ""))
        if issued is None:
            return _oauth_error(400, "invalid_grant", "missing or invalid authorization code", "BAD_AUTH_CODE")
        return jsonify(issued)
    if grant == "refresh_token":
        issued = auth.use_refresh(form.get("refresh_token", ""))
        if issued is None:
            return _oauth_error(400, "invalid_grant", "missing or unknown refresh token", "BAD_REFRESH_TOKEN")
        return jsonify(issued)
    return _oauth_error(400, "unsupported_grant_type", f"grant_type {grant!r} is not supported", "BAD_GRANT_TYPE")


@bp.get("/oauth/v1/access-tokens/<access_token>")
def access_token_info(access_token: str):
    auth = state().auth
    grant = auth.grant_for(access_token)
    if grant is None or grant.kind != "oauth" or grant.expired():
        return _oauth_error(404, "not_found", "The access token does not exist or has expired.", "NOT_FOUND")
    return jsonify({"token": access_token, "user": "owner@sandbox.example.com", "hub_domain": "sandbox.example.com",
                    "scopes": grant.scopes, "hub_id": state().portal.portal_id, "app_id": auth.oauth_app.app_id,
                    "expires_in": max(0, int((grant.expires_at or time.time()) - time.time())), "user_id": 90001,
                    "token_type": "access"})


@bp.get("/oauth/v1/refresh-tokens/<refresh_token>")
def refresh_token_info(refresh_token: str):
    scopes = state().auth.refresh.get(refresh_token)
    if scopes is None:
        return _oauth_error(404, "not_found", "The refresh token does not exist.", "NOT_FOUND")
    return jsonify({"token": refresh_token, "user": "owner@sandbox.example.com", "hub_id": state().portal.portal_id,
                    "scopes": scopes, "client_id": state().auth.oauth_app.client_id, "token_type": "refresh"})


@bp.delete("/oauth/v1/refresh-tokens/<refresh_token>")
def revoke(refresh_token: str):
    state().auth.revoke_refresh(refresh_token)
    return Response(status=204)


@bp.post("/oauth/v2/private-apps/get/access-token-info")
def private_token_info():
    auth = state().auth
    body = request.get_json(silent=True) or {}
    key = str(body.get("tokenKey") or "")
    grant = auth.grant_for(key) if key else None
    if grant is None or grant.kind != "private_app":
        return _oauth_error(404, "not_found", "The token does not exist.", "NOT_FOUND")
    hub_id = grant.portal_id if grant.portal_id is not None else state().primary.portal_id
    return jsonify({"userId": 90001, "hubId": hub_id, "appId": 777, "scopes": auth.private_scopes})
