"""/_sandbox/ endpoints: inspect and steer the sandbox (changes, faults, webhooks, tokens, limits)."""
from __future__ import annotations

from dataclasses import fields

from flask import Blueprint, g, jsonify, request

from . import drift
from .changes import apply_changes
from .errors import validation
from .faults import FaultRule
from .ratelimit import TIERS
from .state import state
from .webhooks import SUBSCRIPTION_TYPES

bp = Blueprint("sandbox_admin", __name__, url_prefix="/_sandbox")


@bp.before_request
def _choose_portal():
    """`?portal=ID` steers another portal of the sandbox (default: the primary one)."""
    wanted = request.args.get("portal")
    if wanted:
        st = state()
        if not wanted.isdigit() or int(wanted) not in st.portals:
            raise validation(f"No portal {wanted[:20]} here; portals: {sorted(st.portals)}.")
        g.sandbox_portal = st.portals[int(wanted)]


def _body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise validation("Send a JSON object.")
    return body


@bp.post("/schema")
def schema_change():
    """{"object_type", "action": rename|delete|retype|remove_option|read_only, "name", "value"}: the schema
    drifts as an admin's edit makes it drift (sandbox/drift.py); undone when the sandbox stops."""
    body = _body()
    return jsonify(drift.change(str(body.get("object_type", "")), str(body.get("action", "")),
                                str(body.get("name", "")), body.get("value")))


@bp.get("/info")
def info():
    st = state()
    return jsonify({"portal_id": st.portal.portal_id, "seed": st.config.seed,
                    "counts": {t: len(st.portal.all_active(t)) for t in st.portal.records},
                    "private_app_token": st.auth.private_token,
                    "portals": [{"portal_id": p.portal_id,
                                 "private_app_token": st.auth.private_token if p is st.primary else next(
                                     t for t, pid in st.auth.portal_tokens.items() if pid == p.portal_id),
                                 "counts": {t: len(p.all_active(t)) for t in p.records}}
                                for p in st.portals.values()],
                    "oauth": {"client_id": st.auth.oauth_app.client_id,
                              "client_secret": st.auth.oauth_app.client_secret,
                              "app_id": st.auth.oauth_app.app_id},
                    "limits": st.limiter.describe(),
                    "faults": st.faults.describe(), "webhooks": st.webhooks.describe(),
                    "requests": {f"{m} {path}": n for (m, path), n in st.requests.most_common(200)}})


@bp.post("/changes")
def changes():
    body = _body()
    try:
        touched = apply_changes(state().portal, **body)
    except (TypeError, ValueError) as err:
        raise validation(f"Bad change request: {err}") from err
    return jsonify(touched)


@bp.put("/search")
def search_settings():
    """{"lag_ms": N}: each later change reaches search after a random delay of up to N ms. Optional booleans:
    "shuffle_ties" (equal sort values in a new order on every search, as HubSpot promises none) and
    "tear_replies" (a record of each reply changes between sorting and rendering). A setting left out of the
    body keeps its value."""
    body = _body()
    flags = {key: body[key] for key in ("shuffle_ties", "tear_replies") if key in body}
    if any(not isinstance(v, bool) for v in flags.values()):
        raise validation("shuffle_ties and tear_replies must be true or false.")
    portal = state().portal
    try:
        lag = int(body.get("lag_ms", portal.search_lag_ms))
    except (TypeError, ValueError) as err:
        raise validation("lag_ms must be an integer.") from err
    if not 0 <= lag <= 3_600_000:
        raise validation("lag_ms must be between 0 and 3600000.")
    portal.search_lag_ms = lag
    for key, value in flags.items():
        setattr(portal, key, value)
    return jsonify({"lag_ms": lag, "shuffle_ties": portal.shuffle_ties, "tear_replies": portal.tear_replies})


@bp.post("/search/flush")
def search_flush():
    """Make every change searchable now (what the index would do once it caught up)."""
    return jsonify({"flushed": state().portal.flush_index()})


@bp.put("/faults")
def set_faults():
    rules = _body().get("rules")
    if not isinstance(rules, list):
        raise validation("Send {\"rules\": [...]}.")
    names = {f.name for f in fields(FaultRule)}
    try:
        parsed = [FaultRule(**{k: v for k, v in r.items() if k in names}) for r in rules]
    except (TypeError, ValueError) as err:
        raise validation(str(err)) from err
    state().faults.set_rules(parsed)
    return jsonify(state().faults.describe())


@bp.put("/webhooks")
def set_webhooks():
    body = _body()
    cfg = state().webhooks.config
    if "version" in body and body["version"] not in ("v1", "v2", "v3"):
        raise validation("version must be v1, v2 or v3.")
    if "subscriptions" in body:
        unknown = set(body["subscriptions"]) - set(SUBSCRIPTION_TYPES)
        if unknown:
            raise validation(f"Unknown subscription types: {sorted(unknown)}")
        cfg.subscriptions = set(body["subscriptions"])
    for key in ("url", "version", "duplicates", "out_of_order", "late", "bad_signature", "paused", "retry_base"):
        if key in body:
            setattr(cfg, key, body[key])
    return jsonify(state().webhooks.describe())


@bp.post("/tokens/expire")
def expire_tokens():
    return jsonify({"expired": state().auth.expire_access_tokens()})


@bp.put("/oauth")
def oauth_settings():
    body = _body()
    auth = state().auth
    if "access_ttl" in body:
        auth.access_ttl = int(body["access_ttl"])
    if "rotate_refresh_tokens" in body:
        auth.rotate_refresh_tokens = bool(body["rotate_refresh_tokens"])
    return jsonify({"access_ttl": auth.access_ttl, "rotate_refresh_tokens": auth.rotate_refresh_tokens})


@bp.put("/limits")
def limits():
    body = _body()
    limiter = state().limiter
    if "tier" in body:
        if body["tier"] not in TIERS or body["tier"] == "oauth":
            raise validation(f"tier must be one of {sorted(set(TIERS) - {'oauth'})}.")
        limiter.tier = body["tier"]
    if "enabled" in body:
        limiter.enabled = bool(body["enabled"])
    if "daily_used" in body:
        limiter.set_daily_used(body.get("app_key", "private_app"), int(body["daily_used"]))
    return jsonify({"enabled": limiter.enabled, "tier": limiter.tier})
