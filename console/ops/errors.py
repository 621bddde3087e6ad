"""Sync errors (per record): filters, detail, retry (replay), resolve, ignore with a reason."""
from __future__ import annotations

from flask import request
from flask_login import current_user

from ..auth.access import get_or_404, role_required
from ..auth.forms import ActionForm
from ..choices import ErrorStage, ErrorStatus
from ..extensions import db
from ..htmx import render
from ..models import IntegrationSyncError
from ..params import bounded, selected_ids
from ..refusals import Refused
from . import assignments, bp, services, triage
from .webhooks import ACT, VIEW


def _filter() -> triage.ErrorFilter:
    args = request.args
    assignee = args.get("assignee", "")
    return triage.ErrorFilter(
        status=args.get("status", "") if args.get("status", "") in ErrorStatus.values() else "",
        stage=args.get("stage", "") if args.get("stage", "") in ErrorStage.values() else "",
        connection_id=args.get("connection_id", type=bounded()), object_type=args.get("object_type", "")[:40],
        code=args.get("code", "")[:60], run_id=args.get("run_id", type=bounded()),
        since_hours=args.get("since_hours", type=bounded(1, 24 * 366)),
        assignee_id=current_user.id if assignee == "mine" else args.get("assignee", type=bounded()),
        unassigned=assignee == "none")


def _list(status: int = 200, message: str | None = None, tone: str = "success", group_error: dict | None = None):
    f = _filter()
    number = request.args.get("page", 1, type=bounded(1, 100_000))
    errors, total = triage.page(f, number)
    return render("ops/errors.html", "partials/ops/error_results.html", status, groups=triage.groups(f),
                  errors=errors, total=total, page=number, page_size=triage.PAGE_SIZE, error_filter=f,
                  filters=request.args, names=services.connection_names(), statuses=ErrorStatus.options(),
                  stages=ErrorStage.options(), action_form=ActionForm(), message=message, message_tone=tone,
                  group_error=group_error or {}, staff=(staff := assignments.staff()),
                  assignee_options=[("mine", "me"), ("none", "nobody"), *((u.id, u.name) for u in staff)])


@bp.get("/errors")
@role_required(*VIEW)
def errors():
    return _list()


@bp.post("/errors/retry")
@role_required(*ACT)
def errors_retry():
    ids = selected_ids(request.form.getlist("ids"))
    try:
        n = services.retry_errors(ids, current_user)
    except Refused as refused:
        return _list(422, str(refused), "error")
    return _list(message=f"{n} record(s) will be read again on their job's next run.")


@bp.post("/errors/group")
@role_required(*ACT)
def errors_group():
    """Retry, ignore (one reason) or resolve every open error of one connection, object type and code."""
    form = request.form
    try:
        connection_id = bounded()(form.get("connection_id", ""))
    except ValueError:
        return _list(422, "Choose a group.", "error")
    action, object_type, code = form.get("action", ""), form.get("object_type", "")[:40], form.get("code", "")[:60]
    if action == "assign":
        return _assign_group(connection_id, object_type, code)
    try:
        n = triage.act_on_group(connection_id, object_type, code, action, current_user, form.get("reason", "")[:500])
    except Refused as refused:
        if action == "ignore":  # beside the group's Reason field, where it is fixed
            return _list(422, group_error={(connection_id, object_type, code): str(refused)})
        return _list(422, str(refused), "error")
    done = {"retry": "will be read again on their job's next run", "ignore": "ignored", "resolve": "resolved"}[action]
    return _list(message=f"{n} error(s) {done}.")


def _assign_group(connection_id: int, object_type: str, code: str):
    try:
        assignee, due, note = assignments.read_form(request.form)
        group = assignments.group(connection_id, object_type, code)
        assignments.assign(group, assignee, due, note, current_user)
    except Refused as refused:
        return _list(422, str(refused), "error")
    return _list(message=f"{len(group)} error(s) assigned to {assignee.name if assignee else 'nobody'}.")


@bp.get("/errors/<int:error_id>")
@role_required(*VIEW)
def error_detail(error_id: int):
    return _detail(get_or_404(IntegrationSyncError, error_id))


def _detail(err: IntegrationSyncError, status: int = 200, message: str | None = None, tone: str = "success"):
    return render("ops/error_detail.html", "partials/ops/error_detail.html", status, err=err,
                  names=services.connection_names(), action_form=ActionForm(), message=message, message_tone=tone,
                  staff=assignments.staff(), notes=assignments.notes_of(err))


@bp.post("/errors/<int:error_id>/assign")
@role_required(*ACT)
def error_assign(error_id: int):
    err = get_or_404(IntegrationSyncError, error_id)
    try:
        assignee, due, note = assignments.read_form(request.form)
        assignments.assign([err], assignee, due, note, current_user)
    except Refused as refused:
        return _detail(err, 422, str(refused), "error")
    db.session.refresh(err)
    who = assignee.name if assignee else "nobody"
    return _detail(err, message=f"Assigned to {who}." + (f" {err.notice_error}" if err.notice_error else ""),
                   tone="error" if err.notice_error else "success")


@bp.post("/errors/<int:error_id>/note")
@role_required(*ACT)
def error_note(error_id: int):
    err = get_or_404(IntegrationSyncError, error_id)
    try:
        assignments.add_note(err, request.form.get("note", "")[:assignments.MAX_NOTE + 1], current_user)
    except Refused as refused:
        return _detail(err, 422, str(refused), "error")
    return _detail(err, message="Note added.")


@bp.post("/errors/<int:error_id>/<action>")
@role_required(*ACT)
def error_action(error_id: int, action: str):
    err = get_or_404(IntegrationSyncError, error_id)
    message, tone, status = None, "success", 200
    try:
        if action == "retry":
            services.retry_errors([err.id], current_user)
            message = "The record will be read again on the job's next run."
        elif action in ("resolve", "ignore"):
            closing = ErrorStatus.RESOLVED if action == "resolve" else ErrorStatus.IGNORED
            services.close_error(err, current_user, closing, request.form.get("reason", "")[:500])
            message = f"{closing.label}."
        else:
            return "", 404
    except Refused as refused:
        message, tone, status = str(refused), "error", 422
    return _detail(err, status, message, tone)
