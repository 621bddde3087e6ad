"""Report page per connection (admins, and owners of the connection): the client's cards as they will
see them, baselines, report notes. Each section is a partial swapped by HTMX."""
from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, url_for
from flask_login import current_user

from ..answers import beside
from ..auth.access import connection_or_404, get_or_404, role_required
from ..auth.forms import ActionForm
from ..choices import AutomationKind, NoteStatus, Role
from ..extensions import db
from ..htmx import is_partial, render, trigger
from ..metrics import baselines, notes
from ..metrics.baselines import BaselineRefused
from ..metrics.cards import build_cards, freshness
from ..metrics.snapshots import record_snapshots
from ..models import IntegrationConnection, IntegrationSyncRun, ReportNote
from ..portal.pages import chart_response, url_builder
from ..refusals import Refused
from . import bp, services
from .forms import BaselineForm, NoteForm, RebaselineForm

PAGE = "reports/report.html"


def _context(conn: IntegrationConnection, **overrides: Any) -> dict[str, Any]:
    ctx: dict[str, Any] = dict(connection=conn, cards=build_cards(conn), fresh=freshness(conn),
               portal_url=url_builder(conn.client_id), active=baselines.active(conn.id),
               history=baselines.history(conn.id), runs=baselines.candidate_runs(conn.id),
               refusal=baselines.refusal, notes=notes.notes_for(conn.id), baseline_form=BaselineForm(),
               rebaseline_form=RebaselineForm(), note_form=NoteForm(), action_form=ActionForm(), message=None,
               message_tone="success")
    ctx["edit_forms"] = {n.id: NoteForm(prefix=f"note-{n.id}", formdata=None, obj=n)
                         for n in ctx["notes"] if n.status == NoteStatus.DRAFT}
    ctx["edit_forms"].update(overrides.pop("edit_forms", {}))
    ctx.update(overrides)
    return ctx


def _section(conn: IntegrationConnection, partial: str, status: int = 200, **overrides):
    return render(PAGE, partial, status, **_context(conn, **overrides))


def _done(conn: IntegrationConnection, partial: str, message: str, **overrides):
    """After a change: the section for HTMX, or the page again (303) for a plain form post."""
    if not is_partial():
        flash(message, "success")
        return redirect(url_for("reports.page", connection_id=conn.id), code=303)
    return _section(conn, partial, message=message, **overrides)


@bp.get("/")
@role_required(Role.ADMIN, Role.OWNER)
def page(connection_id: int):
    return _section(connection_or_404(connection_id, "report"), "partials/reports/cards.html")


@bp.post("/snapshots")
@role_required(Role.ADMIN, Role.OWNER)
def recompute(connection_id: int):
    conn = connection_or_404(connection_id, "report")
    if not ActionForm().validate_on_submit():
        abort(400)
    automation = record_snapshots(conn, AutomationKind.ON_DEMAND)
    if automation.detail:
        return _section(conn, "partials/reports/cards.html", 500, message=automation.detail)
    return _done(conn, "partials/reports/cards.html", "Metric values recomputed from the current records.")


def _baseline(connection_id: int, form, replace: bool):
    conn = connection_or_404(connection_id, "report")
    if form.validate_on_submit():
        run = db.session.get(IntegrationSyncRun, form.run_id.data)
        try:
            if run is None or run.connection_id != conn.id:
                raise BaselineRefused("That run is not one of this connection's runs.")
            created = services.capture_baseline(conn, run, current_user, form.reason.data if replace else None,
                                                replace)
            names = ", ".join(b.metric_key.replace("_", " ") for b in created)
            resp = _done(conn, "partials/reports/baselines.html", f"Baseline captured from run {run.id}: {names}.")
            return trigger(resp, "checklistChanged", "gateChanged", "baselinesChanged") if is_partial() else resp
        except Refused as refused:
            beside(form, refused, "run_id")
    key = "rebaseline_form" if replace else "baseline_form"
    return _section(conn, "partials/reports/baselines.html", 422, **{key: form})


@bp.post("/baselines")
@role_required(Role.ADMIN, Role.OWNER)
def capture_baseline(connection_id: int):
    return _baseline(connection_id, BaselineForm(), replace=False)


@bp.post("/baselines/replace")
@role_required(Role.ADMIN)
def rebaseline(connection_id: int):
    return _baseline(connection_id, RebaselineForm(), replace=True)


@bp.post("/notes")
@role_required(Role.ADMIN, Role.OWNER)
def note_create(connection_id: int):
    conn = connection_or_404(connection_id, "report")
    form = NoteForm()
    if form.validate_on_submit():
        notes.create(conn, current_user, form.title.data, form.body.data)
        return _done(conn, "partials/reports/notes.html", "Draft saved. Publish it when the client may read it.",
                     note_form=NoteForm(formdata=None))
    return _section(conn, "partials/reports/notes.html", 422, note_form=form)


def _note(conn: IntegrationConnection, note_id: int) -> ReportNote:
    note = get_or_404(ReportNote, note_id)
    if note.connection_id != conn.id:
        abort(404)
    return note


@bp.post("/notes/<int:note_id>")
@role_required(Role.ADMIN, Role.OWNER)
def note_edit(connection_id: int, note_id: int):
    conn = connection_or_404(connection_id, "report")
    note = _note(conn, note_id)
    form = NoteForm(prefix=f"note-{note.id}")
    if form.validate_on_submit():
        try:
            notes.edit(note, current_user, form.title.data, form.body.data)
            return _done(conn, "partials/reports/notes.html", "Draft updated.")
        except Refused as refused:
            form.title.errors.append(str(refused))
    return _section(conn, "partials/reports/notes.html", 422, edit_forms={note.id: form})


_TRANSITIONS = {"publish": (notes.publish, "Published: the client sees this note now."),
                "withdraw": (notes.withdraw, "Withdrawn: the client no longer sees this note."),
                "redraft": (notes.redraft, "Back to draft.")}


@bp.post("/notes/<int:note_id>/<action>")
@role_required(Role.ADMIN, Role.OWNER)
def note_transition(connection_id: int, note_id: int, action: str):
    conn = connection_or_404(connection_id, "report")
    note = _note(conn, note_id)
    if action not in _TRANSITIONS:
        abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    change, message = _TRANSITIONS[action]
    try:
        change(note, current_user)
    except Refused as refused:
        return _section(conn, "partials/reports/notes.html", 422, message=str(refused), message_tone="error")
    return _done(conn, "partials/reports/notes.html", message)


@bp.get("/charts/<metric_key>.svg")
@role_required(Role.ADMIN, Role.OWNER, Role.OPS)
def chart(connection_id: int, metric_key: str):
    """The staff copy of a portal chart: drawn whether or not the client may see the connection yet."""
    return chart_response(connection_or_404(connection_id), metric_key)
