"""New connection, checklist ticks, the go-live gate, pause, resume and revoke."""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..auth.access import deny, get_or_404, role_required
from ..auth.policy import can
from ..choices import Role, WizardStep
from ..extensions import db
from ..htmx import hx_redirect, is_partial, render
from ..models import Client, IntegrationProvider, User
from ..reference import ensure_providers
from ..refusals import Refused
from . import bp, checklist, gate
from .forms import NewConnectionForm, ReasonForm
from .services import create_connection
from .steps.common import EDITORS, VIEWERS, context, load, page


def _new_form(form: NewConnectionForm) -> NewConnectionForm:
    form.client_id.choices = [(c.id, c.name) for c in db.session.scalars(
        sa.select(Client).where(Client.archived_at.is_(None)).order_by(Client.name))]
    providers = ensure_providers()  # reference rows; a fresh install may not have them yet
    db.session.commit()  # view-commit allowed: reference rows a fresh install may lack
    form.provider_id.choices = [(p.id, p.name) for p in sorted(providers.values(), key=lambda p: p.name)]
    form.owner_id.choices = [(u.id, u.name) for u in db.session.scalars(
        sa.select(User).where(User.role.in_([Role.OWNER.value, Role.ADMIN.value]), User.active.is_(True))
        .order_by(User.name))]
    if not form.is_submitted() and current_user.role == Role.OWNER:
        form.owner_id.data = current_user.id
    return form


@bp.route("/new", methods=["GET", "POST"])
@role_required(*EDITORS)
def connection_new():
    form = _new_form(NewConnectionForm())
    if form.validate_on_submit():
        client, provider = get_or_404(Client, form.client_id.data), get_or_404(IntegrationProvider,
                                                                                form.provider_id.data)
        owner = get_or_404(User, form.owner_id.data)
        conn = create_connection(client, provider, form.name.data, form.environment.data, owner,
                                 form.reason.data, current_user)
        return hx_redirect(url_for("wizard.access", connection_id=conn.id))
    status = 422 if form.is_submitted() else 200
    return render("wizard/new.html", "partials/wizard/new_form.html", status, form=form)


@bp.get("/<int:connection_id>/wizard/")
@role_required(*VIEWERS)
def start(connection_id: int):
    conn = load(connection_id)
    step = checklist.next_step(checklist.items(conn)) or WizardStep.MONITOR
    return redirect(url_for(f"wizard.{step.value}", connection_id=conn.id), code=303)


@bp.get("/<int:connection_id>/wizard/<step>/checklist")
@role_required(*VIEWERS)
def checklist_panel(connection_id: int, step: str):
    conn = load(connection_id)
    step_enum = WizardStep(step) if step in WizardStep.values() else WizardStep.ACCESS
    return render_template("partials/wizard/checklist.html", **context(conn, step_enum))


@bp.get("/<int:connection_id>/wizard/status-badge")
@role_required(*VIEWERS)
def status_badge(connection_id: int):
    """The header's status badge, refreshed when a save changes the status (draft → testing → live…)."""
    return render_template("partials/wizard/status_badge.html", connection=load(connection_id))


@bp.get("/<int:connection_id>/wizard/golive")
@role_required(*VIEWERS)
def golive_panel(connection_id: int):
    conn = load(connection_id)
    return render_template("partials/wizard/golive.html", **context(
        conn, WizardStep.MONITOR, refused=[], refused_by_object={}, reason_form=ReasonForm(formdata=None)))


@bp.get("/<int:connection_id>/wizard/<step>/pills")
@role_required(*VIEWERS)
def step_pills(connection_id: int, step: str):
    conn = load(connection_id)
    step_enum = WizardStep(step) if step in WizardStep.values() else WizardStep.ACCESS
    return render_template("partials/wizard/step_pills.html", **context(conn, step_enum))


@bp.post("/<int:connection_id>/checklist/<key>")
@role_required(*EDITORS)
def checklist_tick(connection_id: int, key: str):
    """Tick or untick a manual item; answers with the checklist panel (or the step page again, 303)."""
    conn = load(connection_id, edit=True)
    step = WizardStep(checklist.BY_KEY[key].step) if key in checklist.BY_KEY else WizardStep.ACCESS
    message, status = None, 200
    try:
        checklist.tick(conn, key, current_user, request.form.get("done") == "1", request.form.get("note", ""))
    except Refused as refused:
        db.session.rollback()
        message, status = str(refused), 422
    if not is_partial():
        if message:
            flash(message, "error")
        return redirect(url_for(f"wizard.{step.value}", connection_id=conn.id), code=303)
    return render_template("partials/wizard/checklist.html", **context(
        conn, step, message=message, message_tone="error")), status


def _answer(conn, status: int = 200, message: str | None = None, refused: Sequence[str] | None = None,
            refused_by_object: dict[str, list[str]] | None = None):
    """The go-live panel for HTMX; for a plain form post, a flash and the monitor step again (303)."""
    if not is_partial():
        per_object = [f"{o}: {r}" for o, rs in (refused_by_object or {}).items() for r in rs]
        for text in ([message] if message else []) + list(refused or ()) + per_object:
            flash(text, "success" if message else "error")
        return redirect(url_for("wizard.monitor", connection_id=conn.id), code=303)
    return page(conn, WizardStep.MONITOR, "partials/wizard/golive.html", status,
                events=("checklistChanged", "statusChanged"), message=message, refused=refused or [],
                refused_by_object=refused_by_object or {},
                reason_form=ReasonForm(formdata=None))


@bp.post("/<int:connection_id>/go-live")
@role_required(*EDITORS)
def go_live(connection_id: int):
    conn = load(connection_id, edit=True)
    try:
        gate.go_live(conn, current_user)
    except gate.GateRefused as refused:
        return _answer(conn, 422, refused=refused.reasons, refused_by_object=refused.by_object)
    return _answer(conn, message=f"{conn.name} is live: its jobs run on schedule, starting now, and the client "
                                 "sees its data.")


def _lifecycle(connection_id: int, action: str):
    conn = load(connection_id, edit=action != "pause")
    if action == "pause" and not can(current_user, "operate", conn):  # ops may pause too
        deny()
    form = ReasonForm()
    if not form.validate_on_submit():
        return _answer(conn, 422, refused=["The reason is too long (500 characters at most)."])
    try:
        if action == "pause":
            gate.pause(conn, current_user, form.reason.data or "")
        elif action == "resume":
            gate.resume(conn, current_user)
        else:
            gate.revoke(conn, current_user, form.reason.data or "")
    except gate.GateRefused as refused:
        return _answer(conn, 422, refused=refused.reasons)
    words = {"pause": "paused: no job runs until it is resumed", "resume": "resumed",
             "revoke": "revoked: its credentials are deleted and its jobs are stopped"}
    return _answer(conn, message=f"{conn.name} is {words[action]}.")


@bp.post("/<int:connection_id>/pause")
@role_required(*VIEWERS)
def pause(connection_id: int):
    """Ops may pause too: the on-call engineer at 2 a.m. should not need the owner to stop a bad sync."""
    return _lifecycle(connection_id, "pause")


@bp.post("/<int:connection_id>/resume")
@role_required(*EDITORS)
def resume(connection_id: int):
    return _lifecycle(connection_id, "resume")


@bp.post("/<int:connection_id>/revoke")
@role_required(*EDITORS)
def revoke(connection_id: int):
    return _lifecycle(connection_id, "revoke")
