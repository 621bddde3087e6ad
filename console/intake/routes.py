"""Intake pages. Staff may read a connection's intake; its owner and admins answer it. With scripts,
each answer saves itself as it is typed (a short pause, or leaving the field); without them, each
section is a form with its own Save button."""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, request, url_for
from flask_login import current_user

from ..auth.access import connection_or_404, role_required
from ..auth.forms import ActionForm
from ..auth.policy import can
from ..choices import Role
from ..htmx import is_partial, render
from ..intake_questions import QUESTIONS, SECTIONS
from ..models import IntegrationConnection
from ..refusals import Refused
from . import bp, service
from .readings import reading

VIEWERS = (Role.ADMIN, Role.OWNER, Role.OPS)
STATUS = "partials/intake/answer_status.html"


def _page(conn: IntegrationConnection, status: int = 200, error: str | None = None, field: str | None = None):
    given = service.answers(conn)
    read = {key: reading(key, a.text or "", conn.provider.name) for key, a in given.items()}
    return render("intake/page.html", "partials/intake/attachments.html", status, connection=conn, sections=SECTIONS,
                  answers=given, readings=read, progress=service.progress(conn, given), attachments=service.attachments(conn),
                  editable=can(current_user, "edit", conn), action_form=ActionForm(), error=error, error_field=field,
                  max_mb=_max_mb())


def _max_mb() -> str:
    return f"{current_app.config['INTAKE_MAX_BYTES'] / 2 ** 20:g} MB"


@bp.get("/")
@role_required(*VIEWERS)
def page(connection_id: int):
    return _page(connection_or_404(connection_id))


@bp.post("/answers/<key>")
@role_required(Role.ADMIN, Role.OWNER)
def answer_save(connection_id: int, key: str):
    """One answer, saved as it is typed (htmx): the answer's status line comes back. A plain post (no
    scripts) gets the page back, as the section form does."""
    conn = connection_or_404(connection_id, "edit")
    if key not in QUESTIONS:
        abort(404)
    try:
        row = service.save_answer(conn, key, request.form.get(key, ""), current_user)
    except Refused as err:
        if not is_partial():
            return _page(conn, 422, err.message, key)
        return render("intake/page.html", STATUS, 422, connection=conn, key=key, answer=None, error=err.message)
    if not is_partial():
        flash("Answer saved.", "success")
        return redirect(url_for("intake.page", connection_id=conn.id, _anchor=f"q-{key}"), code=303)
    return render("intake/page.html", STATUS, connection=conn, key=key, answer=row, error=None, saved=True,
                  reading=reading(key, row.text if row else "", conn.provider.name))


@bp.post("/sections/<section>")
@role_required(Role.ADMIN, Role.OWNER)
def section_save(connection_id: int, section: str):
    """A whole section at once: the form that works without scripts."""
    conn = connection_or_404(connection_id, "edit")
    found = next((s for s in SECTIONS if s.key == section), None)
    if found is None:
        abort(404)
    for question in found.questions:
        if question.key in request.form:
            try:
                service.save_answer(conn, question.key, request.form[question.key], current_user)
            except Refused as err:
                return _page(conn, 422, err.message, question.key)
    flash(f"{found.title}: saved.", "success")
    return redirect(url_for("intake.page", connection_id=conn.id, _anchor=f"section-{found.key}"), code=303)


@bp.post("/attachments")
@role_required(Role.ADMIN, Role.OWNER)
def attachment_add(connection_id: int):
    conn = connection_or_404(connection_id, "edit")
    if not ActionForm().validate_on_submit():
        abort(400)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _page(conn, 422, "Choose a file to attach.", "file")
    try:
        row = service.attach(conn, upload.filename, upload.read(), current_user)
    except Refused as err:
        return _page(conn, 422, err.message, "file")
    if is_partial():
        return _page(conn)
    flash(f"{row.file_name} attached: {len(row.fields)} fields found.", "success")
    return redirect(url_for("intake.page", connection_id=conn.id, _anchor="attachments"), code=303)


@bp.post("/attachments/<int:attachment_id>/delete")
@role_required(Role.ADMIN, Role.OWNER)
def attachment_delete(connection_id: int, attachment_id: int):
    conn = connection_or_404(connection_id, "edit")
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        name = service.remove_attachment(conn, attachment_id)
    except Refused:
        abort(404)
    if is_partial():
        return _page(conn)
    flash(f"{name} removed.", "success")
    return redirect(url_for("intake.page", connection_id=conn.id, _anchor="attachments"), code=303)
