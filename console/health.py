"""GET /healthz: both databases reachable (and the scheduler's heartbeat once it runs)."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, current_app, jsonify

from .auth.access import public
from .extensions import db

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


@bp.get("/healthz")
@public
def healthz():
    checks = {"primary_db": _ping(None), "traffic_db": _ping("traffic")}
    dispatcher = current_app.extensions.get("dispatcher")
    if dispatcher is not None:
        checks["scheduler"] = _heartbeat(dispatcher.last_tick, current_app.config["SCHEDULER_INTERVAL_SECONDS"])
    ok = all(v in ("ok", "starting") for v in checks.values())
    return jsonify(status="ok" if ok else "degraded", checks=checks), 200 if ok else 503
