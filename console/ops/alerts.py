"""Monitor alerts: open and acknowledged first, with history; ops acknowledge with a note."""
from __future__ import annotations

import sqlalchemy as sa
from flask import request
from flask_login import current_user

from ..auth.access import get_or_404, role_required
from ..auth.forms import ActionForm
from ..choices import AlertStatus
from ..extensions import db
from ..htmx import render
from ..models import MonitorAlert
from ..monitoring.alerts import acknowledge
from . import bp, services
from .webhooks import ACT, VIEW


def _list(status: int = 200, message: str | None = None):
    wanted = request.args.get("status", "")
    query = sa.select(MonitorAlert).order_by(
        MonitorAlert.status == AlertStatus.RESOLVED.value, MonitorAlert.opened_at.desc()).limit(200)
    if wanted in AlertStatus.values():
        query = query.where(MonitorAlert.status == wanted)
    return render("ops/alerts.html", "partials/ops/alert_table.html", status, alerts=db.session.scalars(query).all(),
                  names=services.connection_names(), statuses=AlertStatus.options(), filters=request.args,
                  action_form=ActionForm(), message=message, message_tone="success")


@bp.get("/alerts")
@role_required(*VIEW)
def alerts():
    return _list()


@bp.post("/alerts/<int:alert_id>/acknowledge")
@role_required(*ACT)
def alert_acknowledge(alert_id: int):
    alert = get_or_404(MonitorAlert, alert_id)
    if alert.status != AlertStatus.OPEN:
        return _list(422, "Only an open alert can be acknowledged.")
    acknowledge(alert, current_user, request.form.get("note", ""))
    return _list(message="Acknowledged: it stays listed until the cause clears, and reopens if it worsens.")
