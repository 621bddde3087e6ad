"""A connection's reconciliations: compare every provider record with the stored copy, and repair.

The comparison reads the provider's whole inventory, so it never runs inside the request: the button
queues it, the dispatcher's pool runs it, and the page polls until it finishes."""
from __future__ import annotations

import sqlalchemy as sa
from flask import flash, redirect, request, url_for
from flask_login import current_user

from ..auth.access import connection_or_404, role_required
from ..auth.forms import ActionForm
from ..auth.policy import can
from ..choices import RunStatus
from ..extensions import db
from ..htmx import is_partial, render
from ..mapping.objects import rank
from ..models import IntegrationConnection, IntegrationReconciliation, IntegrationSyncJob
from ..sync.proof import reconcile
from . import bp
from .webhooks import VIEW

SHOWN = 20


def _page(conn: IntegrationConnection, status: int = 200, message: str | None = None, tone: str = "success"):
    rows = db.session.scalars(sa.select(IntegrationReconciliation).where(
        IntegrationReconciliation.connection_id == conn.id).order_by(IntegrationReconciliation.id.desc())
        .limit(SHOWN)).all()
    object_types = sorted(db.session.scalars(sa.select(IntegrationSyncJob.object_type).where(
        IntegrationSyncJob.connection_id == conn.id)), key=rank)
    pending = any(r.status in (RunStatus.QUEUED.value, RunStatus.RUNNING.value) for r in rows)
    return render("ops/reconcile.html", "partials/ops/reconcile.html", status, conn=conn, rows=rows,
                  object_types=object_types, pending=pending, can_act=can(current_user, "operate", conn),
                  action_form=ActionForm(),
                  message=message, message_tone=tone)


@bp.get("/connections/<int:connection_id>/reconcile")
@role_required(*VIEW)
def connection_reconcile(connection_id: int):
    return _page(connection_or_404(connection_id))


@bp.post("/connections/<int:connection_id>/reconcile")
@role_required(*VIEW)
def connection_reconcile_queue(connection_id: int):
    conn = connection_or_404(connection_id, "operate")
    object_type = request.form.get("object_type", "")
    repair = request.form.get("repair") == "1"
    known = set(db.session.scalars(sa.select(IntegrationSyncJob.object_type).where(
        IntegrationSyncJob.connection_id == conn.id)))
    if object_type not in known:
        return _answer(conn, 422, "Choose one of this connection's objects to reconcile.")
    row, new = reconcile.request(conn, object_type, "manual", repair=repair, user_id=current_user.id)
    verb = "Reconcile and repair" if row.repair else "Reconcile"
    if not new:
        return _answer(conn, 200, f"{verb} of {object_type} is already queued (#{row.id}); it was not queued again.")
    return _answer(conn, 200, f"{verb} of {object_type} queued; the dispatcher starts it within seconds.")


def _answer(conn: IntegrationConnection, status: int, message: str):
    tone = "success" if status == 200 else "error"
    if not is_partial():
        flash(message, tone)
        return redirect(url_for("ops.connection_reconcile", connection_id=conn.id), code=303)
    return _page(conn, status, message, tone)
