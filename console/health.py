"""GET /healthz: both databases reachable (and the scheduler's heartbeat once it runs); GET /metrics: the
Prometheus text format (console/monitoring/prometheus.py collects it), behind a bearer token."""
from __future__ import annotations

import hmac

import sqlalchemy as sa
from flask import Blueprint, Response, abort, current_app, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from .auth.access import public
from .extensions import db
from .monitoring import prometheus

bp = Blueprint("health", __name__)


def _ping(bind: str | None) -> str:
    try:
        with db.engines[bind].connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        return "ok"
    except Exception as exc:  # report, never raise: this is the page that says what is down
        current_app.logger.warning("health check: %s database unreachable: %s", bind or "primary", type(exc).__name__)
        return "unreachable"


def _heartbeat(last_tick, interval: float) -> str:
    """The dispatcher ticks every `interval` seconds; three missed ticks means it has stopped."""
    from .models.base import utcnow

    if last_tick is None:
        return "starting"
    return "ok" if (utcnow() - last_tick).total_seconds() <= max(30.0, 3 * interval) else "stalled"


VAULT_SAMPLE, VAULT_TTL = 20, 60.0


def _vault() -> str:
    """Can the keyring open the stored secrets? A sample of each kind, checked once a minute."""
    import time

    from .models import SECRET_MODELS
    from .security.rotation import unreadable

    seen = current_app.extensions.setdefault("vault_health", {})
    hit = seen.get("vault")
    if hit and time.monotonic() - hit[0] < VAULT_TTL:
        return hit[1]
    try:
        state = "unreadable secrets" if unreadable(SECRET_MODELS, VAULT_SAMPLE) else "ok"
    except Exception as exc:  # the database check reports that; the vault check must not raise
        current_app.logger.warning("health check: vault check failed: %s", type(exc).__name__)
        state = "unknown"
    seen["vault"] = (time.monotonic(), state)
    return state


@bp.get("/healthz")
@public
def healthz():
    checks = {"primary_db": _ping(None), "traffic_db": _ping("traffic")}
    if checks["primary_db"] == "ok":
        checks["vault"] = _vault()
    dispatcher = current_app.extensions.get("dispatcher")
    if dispatcher is not None:
        checks["scheduler"] = _heartbeat(dispatcher.last_tick, current_app.config["SCHEDULER_INTERVAL_SECONDS"])
    ok = all(v in ("ok", "starting", "unknown") for v in checks.values())
    return jsonify(status="ok" if ok else "degraded", checks=checks), 200 if ok else 503


@bp.get("/metrics")
@public
def metrics():
    """404 when no token is configured (the endpoint is off); 401 for a missing or wrong token."""
    token = current_app.config.get("METRICS_TOKEN")
    if not token:
        abort(404)
    given = request.headers.get("Authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return Response("A valid bearer token is required.\n", 401, {"WWW-Authenticate": 'Bearer realm="metrics"'})
    registry = CollectorRegistry(auto_describe=False)
    registry.register(prometheus.ConsoleCollector())
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST.split(";")[0],
                    headers={"Cache-Control": "no-store"})
