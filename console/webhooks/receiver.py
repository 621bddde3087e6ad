"""POST /webhooks/hubspot: bounded body, signature first, then store and answer at once (HubSpot waits
5 s at most). Every refusal is recorded without the untrusted body."""
from __future__ import annotations

import json

from flask import jsonify, request

from ..audit import client_address
from ..auth.access import public
from ..connectors.hubspot.signature import SignatureError, verify
from ..extensions import csrf
from . import bp
from .ingest import reject, routes_for, store

MAX_BODY = 1024 * 1024  # HubSpot sends at most 100 events (~30 KB); anything near this is not HubSpot
MAX_EVENTS = 100


def _version() -> str | None:
    if request.headers.get("X-HubSpot-Signature-v3"):
        return "v3"
    return request.headers.get("X-HubSpot-Signature-Version", "v1")[:4] if request.headers.get(
        "X-HubSpot-Signature") else None


def _refuse(status: int, reason: str, detail: str, size: int, connection_id: int | None = None):
    reject(reason, detail, client_address(), _version(), size, connection_id)
    return jsonify(error=reason, message=detail), status


@bp.post("/hubspot")
@public
@csrf.exempt
def hubspot():
    length = request.content_length
    if length is None or length > MAX_BODY:
        return _refuse(413 if length else 411, "body_size", "The body must have a length and stay under 1 MB.",
                       length or 0)
    body = request.get_data(cache=False)
    try:
        events = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return _refuse(400, "malformed", "The body is not JSON.", len(body))
    if not isinstance(events, list) or not 0 < len(events) <= MAX_EVENTS or not all(
            isinstance(e, dict) and "eventId" in e and "portalId" in e for e in events):
        return _refuse(400, "malformed", "Expected a JSON array of 1 to 100 events with eventId and portalId.",
                       len(body))
    routes = routes_for({str(e["portalId"]) for e in events})
    secrets = [s for _, portal_secrets in routes.values() for s in portal_secrets]
    try:
        verify(request.headers, request.method, request.url, body, secrets)
    except SignatureError as err:
        conn_ids = {c for c, _ in routes.values() if c}
        return _refuse(401, err.reason, err.detail, len(body), next(iter(conn_ids)) if len(conn_ids) == 1 else None)
    accepted = store(events, routes)
    return jsonify(accepted=accepted.stored, duplicates=accepted.duplicates), 200
