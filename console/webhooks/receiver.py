"""POST /webhooks/hubspot: bounded body, signature first, then store and answer at once (HubSpot waits
5 s at most). Every refusal is recorded without the untrusted body."""
from __future__ import annotations

import json
import time
from types import ModuleType

from flask import jsonify, request

from ..audit import client_address
from ..auth.access import public
from ..connectors import registry
from ..extensions import csrf
from ..security.vault import VaultError
from . import bp
from .ingest import Route, reject, routes_for, store

MAX_BODY = 1024 * 1024  # HubSpot sends at most 100 events (~30 KB); anything near this is not HubSpot
MAX_EVENTS = 100
# This receiver is HubSpot's; its signature rules come from the HubSpot connector, found in the registry.
def _signatures() -> ModuleType:
    rules = registry.get("hubspot").webhooks
    if rules is None:
        raise RuntimeError("The HubSpot connector registers no webhook signature rules.")
    return rules


SIGNATURES = _signatures()
LEGACY_MAX_AGE_MS = 26 * 3600 * 1000  # HubSpot's last retry comes 24 hours after the event, plus margin


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
    except (ValueError, UnicodeDecodeError, RecursionError):
        return _refuse(400, "malformed", "The body is not JSON (or nests too deeply).", len(body))
    if not isinstance(events, list) or not 0 < len(events) <= MAX_EVENTS or not all(_well_formed(e) for e in events):
        return _refuse(400, "malformed", "Expected a JSON array of 1 to 100 events, each with a numeric eventId "
                       "and portalId (and appId when present).", len(body))
    try:
        routes = routes_for({str(e["portalId"]) for e in events})
    except VaultError:  # the master key is not the one the signing secrets were stored with
        return _refuse(503, "secret_unreadable", "The console cannot read this portal's signing secret (its master "
                       "key changed); nothing was accepted, so HubSpot retries later.", len(body))
    unknown = sorted({str(e["portalId"]) for e in events if not _candidates(e, routes)})
    if unknown:
        return _refuse(401, "unknown_portal", f"No connection takes events of portal {unknown[0][:20]} from this app.",
                       len(body))
    # HubSpot signs a batch with its app's secret; every event must route to a connection holding it.
    shared = set.intersection(*({s for r in _candidates(e, routes) for s in r.secrets} for e in events))
    try:
        version, secret = SIGNATURES.match(request.headers, request.method, request.url, body, sorted(shared))
    except SIGNATURES.SignatureError as err:
        conn_ids = {r.connection_id for e in events for r in _candidates(e, routes)}
        mixed = not shared and any(r.secrets for e in events for r in _candidates(e, routes))
        return _refuse(401, "mixed_portals" if mixed else err.reason,
                       "The events name portals whose connections share no signing secret." if mixed else err.detail,
                       len(body), next(iter(conn_ids)) if len(conn_ids) == 1 else None)
    routed = [next(r for r in _candidates(e, routes) if secret in r.secrets) for e in events]
    if version != "v3":
        refusal = _legacy_refusal(version, events, routed)
        if refusal:
            return _refuse(401, refusal[0], refusal[1], len(body), routed[0].connection_id)
    accepted = store(events, [r.connection_id for r in routed])
    return jsonify(accepted=accepted.stored, duplicates=accepted.duplicates), 200


def _well_formed(event) -> bool:
    return (isinstance(event, dict) and SIGNATURES.digits(event.get("eventId")) is not None
            and SIGNATURES.digits(event.get("portalId")) is not None
            and ("appId" not in event or SIGNATURES.digits(event.get("appId")) is not None))


def _candidates(event: dict, routes: dict[str, list[Route]]) -> list[Route]:
    """The connections an event may go to: its portal's, for its app (an account naming no app takes any)."""
    app = str(event.get("appId", ""))
    return [r for r in routes.get(str(event["portalId"]), []) if r.app_id is None or r.app_id == app]


def _legacy_refusal(version: str, events: list[dict], routed: list[Route]) -> tuple[str, str] | None:
    """v1/v2 signatures have no timestamp: refused where the connection takes v3 only, and replays are
    bounded by the events' own time (HubSpot retries for 24 hours)."""
    if any(r.v3_only for r in routed):
        return "signature_version", f"This connection accepts v3 signatures only, not {version}."
    now = int(time.time() * 1000)
    for event in events:
        if "occurredAt" in event:
            at = SIGNATURES.digits(event.get("occurredAt"), 15)
            if at is None or now - at > LEGACY_MAX_AGE_MS or at - now > SIGNATURES.MAX_AGE_MS:
                return "stale_event", f"A {version}-signed event must have occurred within the last 26 hours."
    return None
