"""The integration design: the document (generated from the intake and the live configuration), a
printable copy, saved versions and the client's sign-off. Staff read it; the owner and admins save
versions and record sign-offs."""
from __future__ import annotations

from datetime import datetime, time

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user

from ...answers import beside
from ...auth.access import role_required
from ...auth.forms import ActionForm
from ...auth.policy import can
from ...htmx import is_partial, render
from ...models import DesignVersion
from ...refusals import Refused
from .. import bp, design, design_standing
from ..forms import SignOffForm
from .common import EDITORS, VIEWERS, load

PARTIAL = "partials/wizard/design_versions.html"


def _page(conn, status: int = 200, sign_form: SignOffForm | None = None, signing: int | None = None,
          message: str | None = None, tone: str = "success"):
    return render("wizard/design.html", PARTIAL, status, connection=conn, doc=design.document(conn),
                  versions=design.versions(conn), standing=design_standing.standing(conn),
                  editable=can(current_user, "edit", conn),
                  action_form=ActionForm(), sign_form=sign_form or SignOffForm(formdata=None), signing=signing,
                  message=message, message_tone=tone)


def _version(conn, number: int) -> DesignVersion:
    row = design.version(conn, number)
    if row is None:
        abort(404)
    return row


@bp.get("/<int:connection_id>/design")
@role_required(*VIEWERS)
def design_page(connection_id: int):
    return _page(load(connection_id))


@bp.get("/<int:connection_id>/design/print")
@role_required(*VIEWERS)
def design_print(connection_id: int):
    conn = load(connection_id)
    return render_template("wizard/design_print.html", connection=conn, doc=design.document(conn), version=None)


@bp.get("/<int:connection_id>/design/versions/<int:number>")
@role_required(*VIEWERS)
def design_version(connection_id: int, number: int):
    conn = load(connection_id)
    row = _version(conn, number)
    return render_template("wizard/design_print.html", connection=conn, doc=row.content, version=row)


@bp.post("/<int:connection_id>/design/versions")
@role_required(*EDITORS)
def design_save(connection_id: int):
    conn = load(connection_id, edit=True)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        row = design.save_version(conn, current_user)
    except Refused as err:
        return _page(conn, 422, message=err.message, tone="error")
    if is_partial():
        return _page(conn, message=f"Version {row.number} saved.")
    flash(f"Version {row.number} saved.", "success")
    return redirect(url_for("wizard.design_page", connection_id=conn.id), code=303)


@bp.post("/<int:connection_id>/design/versions/<int:number>/sign-off")
@role_required(*EDITORS)
def design_sign_off(connection_id: int, number: int):
    conn = load(connection_id, edit=True)
    _version(conn, number)
    form = SignOffForm()
    if form.validate_on_submit():
        try:
            design.sign_off(conn, number, current_user, form.by.data, form.how.data,
                            datetime.combine(form.at.data, time.min))
        except Refused as err:
            beside(form, err, "by")
        else:
            if is_partial():
                return _page(conn, message=f"Sign-off of version {number} recorded.")
            flash(f"Sign-off of version {number} recorded.", "success")
            return redirect(url_for("wizard.design_page", connection_id=conn.id), code=303)
    return _page(conn, 422, sign_form=form, signing=number)
