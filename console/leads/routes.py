"""Thin views over leads/services.py: list, detail, correct, conflicts, apply the other value."""
from __future__ import annotations

from flask import request
from flask_login import current_user

from ..auth.access import connection_or_404, get_or_404, role_required
from ..auth.forms import ActionForm
from ..auth.policy import can
from ..choices import ChangeStatus, Role
from ..htmx import render
from ..models import CrmLead, CrmLeadChange, CrmSyncConflict, IntegrationSyncError
from ..params import bounded
from ..refusals import Refused
from . import bp, services

VIEW = (Role.ADMIN, Role.OPS, Role.OWNER)


def _page() -> int:
    return request.args.get("page", 1, type=bounded(1, 10_000)) or 1


@bp.get("")
@role_required(*VIEW)
def index():
    connection_id = request.args.get("connection_id", type=bounded())
    query = request.args.get("q", "")[:120]
    page = _page()
    leads, more = services.search(connection_id, query, page)
    return render("leads/index.html", "partials/leads/table.html", leads=leads, more=more, page=page, q=query,
                  connection_id=connection_id, names=services.connection_names())


def _detail(lead: CrmLead, status: int = 200, message: str | None = None, tone: str = "success",
            field_error: str | None = None):
    conn = connection_or_404(lead.connection_id)
    try:
        fields = services.editable(lead, services.spec_for(lead, conn))
    except Refused as refused:
        fields, message, tone = [], refused.message, "error"
    changes, conflicts, events = services.history(lead)
    return render("leads/detail.html", "partials/leads/detail.html", status, lead=lead, conn=conn, fields=fields,
                  links=services.links(lead), linkable=bool(fields) or services.pushes(lead),
                  own_fields=services.own_fields(lead), title=services.record_title(lead),
                  changes=changes, conflicts=conflicts, events=events, may_correct=can(current_user, "correct", conn),
                  action_form=ActionForm(), message=message, message_tone=tone, field_error=field_error)


@bp.get("/<int:lead_id>")
@role_required(*VIEW)
def detail(lead_id: int):
    return _detail(get_or_404(CrmLead, lead_id))


@bp.post("/<int:lead_id>/correct")
@role_required(*VIEW)
def correct(lead_id: int):
    lead = get_or_404(CrmLead, lead_id)
    form = ActionForm()
    if not form.validate_on_submit():
        return _detail(lead, 400, "The form expired; reload the page and try again.", "error")
    connection_or_404(lead.connection_id, "correct")
    field = request.form.get("field", "")[:80]
    try:
        change = services.correct(lead, field, request.form.get("value", ""), current_user)
    except Refused as refused:
        return _detail(lead, 422, refused.message, "error", field_error=field)
    if change.status == ChangeStatus.WITHDRAWN:
        return _detail(lead, message="Saved. The field is back to the value the CRM holds, so the waiting change was "
                                     "withdrawn: nothing is written to the CRM.")
    return _detail(lead, message="Saved. The change is written to the CRM on the next outbound push.")


@bp.get("/conflicts")
@role_required(*VIEW)
def conflicts():
    connection_id = request.args.get("connection_id", type=bounded())
    page = _page()
    rows, more = services.conflicts(connection_id, page)
    return render("leads/conflicts.html", "partials/leads/conflicts.html", rows=rows, more=more, page=page,
                  connection_id=connection_id, names=services.connection_names(), action_form=ActionForm(), message=None,
                  message_tone="success")


@bp.post("/conflicts/<int:conflict_id>/apply-other")
@role_required(Role.ADMIN, Role.OPS)
def apply_other(conflict_id: int):
    conflict = get_or_404(CrmSyncConflict, conflict_id)
    form = ActionForm()
    message, tone, status = None, "success", 200
    if not form.validate_on_submit():
        message, tone, status = "The form expired; reload the page and try again.", "error", 400
    else:
        try:
            services.apply_other(conflict, current_user)
            message = "The other value is on the lead and goes to the CRM on the next outbound push."
        except Refused as refused:
            message, tone, status = refused.message, "error", 422
    rows, more = services.conflicts(request.args.get("connection_id", type=bounded()), 1)
    return render("leads/conflicts.html", "partials/leads/conflicts.html", status, rows=rows, more=more, page=1,
                  connection_id=None, names=services.connection_names(), action_form=ActionForm(), message=message,
                  message_tone=tone)


@bp.post("/changes/<int:change_id>/replay")
@role_required(Role.ADMIN, Role.OPS)
def replay(change_id: int):
    change = get_or_404(CrmLeadChange, change_id)
    lead = get_or_404(CrmLead, change.lead_id)
    try:
        services.replay(change, current_user)
    except Refused as refused:
        return _detail(lead, 422, refused.message, "error")
    return _detail(lead, message="The change goes to the CRM again on the next outbound push.")


@bp.post("/<int:lead_id>/associate")
@role_required(*VIEW)
def associate(lead_id: int):
    lead = get_or_404(CrmLead, lead_id)
    connection_or_404(lead.connection_id, "correct")
    try:
        services.associate(lead, request.form.get("target", ""), request.form.get("label", ""), current_user)
    except Refused as refused:
        return _detail(lead, 422, refused.message, "error", field_error="associate")
    return _detail(lead, message="Associated. The association is written to the CRM on the next outbound push.")


def _error_page(err: IntegrationSyncError, status: int = 200, message: str | None = None, tone: str = "success"):
    fix = services.source_fix(err)
    conn = connection_or_404(err.connection_id)
    return render("leads/error_fix.html", "partials/leads/error_fix.html", status, err=err, conn=conn,
                  rule=fix[0] if fix else None, may_correct=can(current_user, "correct", conn),
                  action_form=ActionForm(), message=message, message_tone=tone)


@bp.get("/errors/<int:error_id>")
@role_required(*VIEW)
def error_fix(error_id: int):
    return _error_page(get_or_404(IntegrationSyncError, error_id))


@bp.post("/errors/<int:error_id>/correct")
@role_required(*VIEW)
def error_correct(error_id: int):
    err = get_or_404(IntegrationSyncError, error_id)
    connection_or_404(err.connection_id, "correct")
    try:
        services.correct_at_source(err, request.form.get("value", ""), current_user)
    except Refused as refused:
        return _error_page(err, 422, refused.message, "error")
    return _error_page(err, message="Saved. The next outbound push writes it to the CRM; the sync after it reads the "
                                    "record again and closes this error.")
