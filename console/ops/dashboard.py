"""The ops dashboard: one row per running connection that refreshes itself through HTMX polling, a
week of runs and records drawn as SVG, and "run now" / "pause" for the engineer on call."""
from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user

from ..auth.access import connection_or_404, role_required
from ..auth.forms import ActionForm
from ..htmx import is_partial, render
from ..models.base import utcnow
from ..monitoring import charts
from ..monitoring import dashboard as figures
from ..monitoring.freshness import duration
from ..monitoring.prometheus import dispatcher_lag
from ..refusals import Refused
from ..wizard import gate
from . import bp, services
from .webhooks import VIEW

PAUSE_REASON = "Paused from the ops dashboard."


def _charts():
    return charts.week_charts(figures.last_week(utcnow()))


def _page(status: int = 200, message: str | None = None, tone: str = "success"):
    now, rows = figures.cached_rows()
    return render("ops/dashboard.html", "partials/ops/dashboard_rows.html", status, rows=rows, now=now,
                  lag=dispatcher_lag(), charts=None if is_partial() else _charts(),
                  duration=duration, action_form=ActionForm(), message=message, message_tone=tone)


@bp.get("/")
@role_required(*VIEW)
def dashboard():
    return _page()


@bp.get("/dashboard/chart")
@role_required(*VIEW)
def dashboard_chart():
    return render_template("partials/ops/dashboard_chart.html", charts=_charts())


def _acted(status: int, message: str):
    """The refreshed rows for HTMX (with the message); a flash and the dashboard again for a plain post."""
    tone = "success" if status == 200 else "error"
    figures.forget_cached_rows()
    if not is_partial():
        flash(message, tone)
        return redirect(url_for("ops.dashboard"), code=303)
    return _page(status, message, tone)


@bp.post("/connections/<int:connection_id>/run-now")
@role_required(*VIEW)
def connection_run_now(connection_id: int):
    conn = connection_or_404(connection_id, "operate")
    try:
        queued = services.run_now(conn, current_user)
    except Refused as refused:
        return _acted(422, str(refused))
    return _acted(200, f"{conn.name}: {queued} job{'s' if queued > 1 else ''} due now; "
                       "the dispatcher starts them within seconds.")


@bp.post("/connections/<int:connection_id>/pause")
@role_required(*VIEW)
def connection_pause(connection_id: int):
    conn = connection_or_404(connection_id, "operate")
    try:
        gate.pause(conn, current_user, PAUSE_REASON)
    except gate.GateRefused as refused:
        return _acted(422, " ".join(refused.reasons))
    return _acted(200, f"{conn.name} is paused: no job runs until its owner resumes it.")
