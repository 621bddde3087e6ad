"""OAuth 2.0 as a Salesforce org answers it: the web-server flow (authorize, then a code for tokens), the
refresh-token, username-password and JWT bearer flows, the identity URL, userinfo and revocation.

A JWT bearer assertion is checked as Salesforce checks it: RS256-signed by the key the connected app was
given, issued by its consumer key, for a user of the org, for this login server, expiring within 3 minutes."""
from __future__ import annotations

import base64
import json
import secrets
import time
from urllib.parse import urlencode

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from flask import Blueprint, g, jsonify, redirect, request

from .access import org
from .errors import OAuthError, SfError
from .state import Org

bp = Blueprint("sf_oauth", __name__)
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
AUDIENCES = ("https://login.salesforce.com", "https://test.salesforce.com")
MAX_ASSERTION = 8_192


def _user_by_name(the_org: Org, username: str) -> str | None:
    return next((r["Id"] for r in the_org.records["User"].values() if r.get("Username") == username and r.get("IsActive")),
                None)


def _answer(the_org: Org, user_id: str, refresh: bool) -> dict:
    base = request.host_url.rstrip("/")
    body = {"access_token": the_org.issue(user_id), "instance_url": base, "token_type": "Bearer",
            "id": f"{base}/id/{the_org.config.org_id}/{user_id}", "issued_at": str(int(time.time() * 1000)),
            "signature": base64.b64encode(secrets.token_bytes(32)).decode(), "scope": the_org.config.scopes}
    if refresh:
        token = f"5Aep{secrets.token_urlsafe(48)}"
        the_org.refresh_tokens[token] = user_id
        body["refresh_token"] = token
    return body


def _client(the_org: Org, form, secret_needed: bool = True) -> None:
    if form.get("client_id") != the_org.client_id:
        raise OAuthError("invalid_client_id", "client identifier invalid")
    if secret_needed and form.get("client_secret") != the_org.client_secret:
        raise OAuthError("invalid_client", "invalid client credentials")


@bp.post("/services/oauth2/token")
def token():
    the_org, form = org(), request.form
    grant = form.get("grant_type", "")
    with the_org.lock:
        if grant == "authorization_code":
            _client(the_org, form)
            code = the_org.codes.pop(form.get("code", ""), None)
            if code is None or code[1] != form.get("redirect_uri"):
                raise OAuthError("invalid_grant", "invalid authorization code")
            return jsonify(_answer(the_org, code[0], refresh=True))
        if grant == "refresh_token":
            _client(the_org, form, secret_needed="client_secret" in form)
            user_id = the_org.refresh_tokens.get(form.get("refresh_token", ""))
            if user_id is None:
                raise OAuthError("invalid_grant", "expired access/refresh token")
            answer = _answer(the_org, user_id, refresh=False)
            return jsonify(answer)
        if grant == "password":
            _client(the_org, form)
            user_id = _user_by_name(the_org, form.get("username", ""))
            if user_id is None or form.get("password") != the_org.config.password:
                raise OAuthError("invalid_grant", "authentication failure")
            return jsonify(_answer(the_org, user_id, refresh=False))
        if grant == JWT_GRANT:
            return jsonify(_answer(the_org, _jwt_user(the_org, form.get("assertion", "")), refresh=False))
    raise OAuthError("unsupported_grant_type", "grant type not supported")


def _b64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _jwt_user(the_org: Org, assertion: str) -> str:
    key = the_org.config.jwt_public_key
    if not key:
        raise OAuthError("invalid_grant", "this connected app accepts no JWT assertions")
    try:
        if len(assertion) > MAX_ASSERTION:
            raise ValueError("too long")
        head, claims, signature = assertion.split(".")
        header, payload = json.loads(_b64(head)), json.loads(_b64(claims))
        public = serialization.load_pem_public_key(key)
        if header.get("alg") != "RS256" or not isinstance(public, rsa.RSAPublicKey) or not isinstance(payload, dict):
            raise ValueError("not RS256")
        public.verify(_b64(signature), f"{head}.{claims}".encode(), padding.PKCS1v15(), hashes.SHA256())
    except (ValueError, TypeError, InvalidSignature, UnicodeError):
        raise OAuthError("invalid_grant", "invalid assertion") from None
    if payload.get("iss") != the_org.client_id:
        raise OAuthError("invalid_client_id", "client identifier invalid")
    if payload.get("aud") not in (*AUDIENCES, request.host_url.rstrip("/")):
        raise OAuthError("invalid_grant", "audience is invalid")
    expires = payload.get("exp")
    if not isinstance(expires, int | float) or not time.time() < expires <= time.time() + 180:
        raise OAuthError("invalid_grant", "expired authorization code")
    user_id = _user_by_name(the_org, str(payload.get("sub", "")))
    if user_id is None:
        raise OAuthError("invalid_grant", "user hasn't approved this consumer")
    return user_id


@bp.get("/services/oauth2/authorize")
def authorize():
    """The consent screen, approved at once by the org's integration user (a sandbox has no one to ask)."""
    the_org, args = org(), request.args
    if args.get("response_type") != "code" or args.get("client_id") != the_org.client_id:
        raise OAuthError("invalid_client_id", "client identifier invalid")
    redirect_uri = args.get("redirect_uri", "")
    if not redirect_uri.startswith(("http://", "https://")) or len(redirect_uri) > 2000:
        raise OAuthError("redirect_uri_mismatch", "redirect_uri must match configuration")
    code = secrets.token_urlsafe(24)
    with the_org.lock:
        the_org.codes[code] = (the_org.integration_user, redirect_uri)
    query = {"code": code, **({"state": args["state"]} if "state" in args else {})}
    return redirect(f"{redirect_uri}{'&' if '?' in redirect_uri else '?'}{urlencode(query)}")


@bp.post("/services/oauth2/revoke")
def revoke():
    the_org = org()
    value = request.form.get("token", "")
    with the_org.lock:
        the_org.tokens.pop(value, None)
        the_org.refresh_tokens.pop(value, None)
    return "", 200


@bp.get("/id/<org_id>/<user_id>")
def identity(org_id: str, user_id: str):
    the_org = org()
    if org_id != the_org.config.org_id or user_id != g.user_id:
        raise SfError(403, "INSUFFICIENT_ACCESS", "Bad_Id")
    return jsonify(_identity(the_org, user_id))


@bp.get("/services/oauth2/userinfo")
def userinfo():
    the_org = org()
    person = _identity(the_org, g.user_id)
    return jsonify({"user_id": person["user_id"], "organization_id": person["organization_id"],
                    "preferred_username": person["username"], "email": person["email"], "name": person["display_name"]})


def _identity(the_org: Org, user_id: str) -> dict:
    user = the_org.records["User"][user_id]
    base = request.host_url.rstrip("/")
    return {"id": f"{base}/id/{the_org.config.org_id}/{user_id}", "user_id": user_id,
            "organization_id": the_org.config.org_id, "username": user["Username"], "display_name": user["Name"],
            "email": user["Email"], "active": bool(user.get("IsActive")), "user_type": "STANDARD",
            "urls": {"rest": f"{base}/services/data/v{{version}}/", "query": f"{base}/services/data/v{{version}}/query/",
                     "sobjects": f"{base}/services/data/v{{version}}/sobjects/"}}
