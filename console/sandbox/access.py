"""Bearer-token authentication, scopes, rate limits and injected faults, run before every API call."""
from __future__ import annotations

import json
import socket
import struct
import time

from flask import Response, g, request

from .auth import scope_for
from .errors import ApiError, missing_scopes, rate_limited, unauthorized
from .records import UI_SOURCE, acting_as
from .state import state

OPEN_PATHS = ("/_sandbox", "/oauth/authorize", "/oauth/v1/token", "/oauth/v1/access-tokens",
              "/oauth/v1/refresh-tokens", "/oauth/v2/private-apps")


def require_scope(object_type: str, write: bool) -> None:
    scope = scope_for(object_type, write)
    if scope not in g.grant.scopes:
        raise missing_scopes([scope])


def require_named_scope(scope: str) -> None:
    if scope not in g.grant.scopes:
        raise missing_scopes([scope])


def before_request() -> Response | None:
    g.fault = None
    acting_as(*UI_SOURCE)  # the admin endpoints stand for people editing in HubSpot's UI
    if request.path == "/" or request.path.startswith(OPEN_PATHS):
        return None
    g.answered = True  # an API call: counted once answered, whatever the answer (a fault, a 401, a 429)
    fault = state().faults.pick(request.method, request.path)
    if fault is not None:
        early = _apply_fault(fault)
        if early is not None:
            return early
    header = request.headers.get("Authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else ""
    grant = state().auth.grant_for(token) if token else None
    if grant is None:
        raise unauthorized()
    if grant.expired():
        raise unauthorized(expired=True)
    g.grant = grant
    acting_as("INTEGRATION", str(grant.app_id))
    if grant.portal_id is not None:
        g.sandbox_portal = state().portals[grant.portal_id]
    decision = state().limiter.check(grant.app_key, grant.kind, request.path.endswith("/search"))
    g.rate_headers = decision.headers
    if not decision.allowed:
        raise rate_limited(decision.policy or "", decision.headers)
    return None


def _apply_fault(fault) -> Response | None:
    kind = fault.kind
    if kind == "429":
        # A burst refusal as HubSpot's edge sends it: Retry-After says how long to wait.
        return rate_limited("TEN_SECONDLY_ROLLING", {"Retry-After": "1"}).response()
    if kind in ("500", "502", "503"):
        return ApiError(int(kind), "internal error (injected by the sandbox)", "INTERNAL_ERROR").response()
    if kind in ("slow", "timeout"):
        time.sleep(fault.delay)
        return None
    if kind == "reset":
        # Drop the connection before any byte of the answer: the client sees the peer go away
        # (RemoteDisconnected / ConnectionResetError), as with a load balancer resetting.
        sock = request.environ.get("werkzeug.socket")
        g.answered = False
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.shutdown(socket.SHUT_RDWR)
        return ApiError(502, "connection reset (injected)", "INTERNAL_ERROR").response()
    g.fault = kind  # truncated / malformed / repeat_token: applied to the real answer after the view
    return None


def after_request(resp: Response) -> Response:
    if getattr(g, "answered", False):  # an API call the client gets an answer to (a reset gets none)
        state().count_request(request.method, request.path)
    for key, value in (getattr(g, "rate_headers", None) or {}).items():
        resp.headers.setdefault(key, value)
    fault = getattr(g, "fault", None)
    if fault in ("truncated", "malformed") and resp.mimetype == "application/json":
        data = resp.get_data()
        resp.set_data(data[: max(1, len(data) // 2)] if fault == "truncated" else b'{"results": [{"id": ,}')
    if fault == "repeat_token" and request.args.get("after") and resp.is_json:
        body = resp.get_json(silent=True) or {}
        if isinstance(body, dict) and (body.get("paging") or {}).get("next"):
            body["paging"]["next"]["after"] = request.args["after"]
            resp.set_data(json.dumps(body))
    return resp
