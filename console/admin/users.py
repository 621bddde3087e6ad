"""Users: list, create (with an invitation link: the user sets their own password), edit role/client
inline, deactivate/activate, a new invitation link, reset password. Every action also works as a plain
form post without JavaScript (a page of its own, or a redirect with a message)."""
from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from ..auth.access import get_or_404, role_required
from ..auth.forms import ActionForm
from ..choices import Role
from ..extensions import db
from ..htmx import is_partial, render, trigger
from ..models import Client, User
from ..refusals import Refused
from . import bp
from .forms import ResetPasswordForm, UserCreateForm, UserEditForm, client_choices
from .services import create_user, invite, reset_password, set_user_active, update_user


def _with_clients(form):
    active = db.session.scalars(sa.select(Client).where(Client.archived_at.is_(None)).order_by(Client.name))
    form.client_id.choices = client_choices(active)
    return form


def _users() -> list[User]:
    return list(db.session.scalars(sa.select(User).order_by(User.active.desc(), User.email)))


def _page(form, status: int = 200, partial: str = "partials/admin/user_table.html", invitation: dict | None = None):
    return render("admin/users.html", partial, status=status, users=_users(), form=form,
                  action_form=ActionForm(), invitation=invitation)


def _row(user: User, status: int = 200, error: str | None = None, invitation: dict | None = None):
    return render_template("partials/admin/user_row.html", user=user, action_form=ActionForm(),
                           error=error, invitation=invitation), status


def _invitation(user: User) -> dict:
    token, expires = invite(user, current_user)
    return {"user": user, "url": url_for("auth.invitation", token=token, _external=True), "expires": expires}


def _back(message: str, category: str = "success") -> ResponseReturnValue:
    """A plain form post (no JavaScript): the list again, with what happened."""
    flash(message, category)
    return redirect(url_for("admin.users"), code=303)


def _edit(user: User, form, password_form, status: int = 200) -> ResponseReturnValue:
    context = {"user": user, "form": form, "password_form": password_form}
    if is_partial():
        return render_template("partials/admin/user_edit.html", **context), status
    return render_template("admin/edit_row.html", title=f"Edit {user.email}", back=url_for("admin.users"),
                           row_template="partials/admin/user_edit.html", **context), status


def _apply_error(form, err: Refused) -> None:
    field = getattr(form, err.field, None) if err.field else None
    (field.errors if field is not None else form.form_errors).append(str(err))


@bp.get("/users")
@role_required(Role.ADMIN)
def users():
    return _page(_with_clients(UserCreateForm()))


@bp.post("/users")
@role_required(Role.ADMIN)
def user_create():
    form = _with_clients(UserCreateForm())
    if form.validate_on_submit():
        try:
            user = create_user(form.email.data, form.name.data, form.role.data, form.client_id.data, None)
            invitation = _invitation(user)
            if not is_partial():
                return _back(f"User {user.email} created. Send them this link to set their password (it works once, "
                             f"until {invitation['expires']:%d %b %Y %H:%M} UTC): {invitation['url']}")
            fresh = _with_clients(UserCreateForm(formdata=None))
            return trigger(_page(fresh, partial="partials/admin/user_form.html", invitation=invitation), "usersChanged")
        except Refused as err:
            db.session.rollback()
            _apply_error(form, err)
    return _page(form, 422, "partials/admin/user_form.html")


@bp.get("/users/<int:user_id>")
@role_required(Role.ADMIN)
def user_row(user_id: int):
    return _row(get_or_404(User, user_id))


@bp.get("/users/<int:user_id>/edit")
@role_required(Role.ADMIN)
def user_edit(user_id: int):
    user = get_or_404(User, user_id)
    return _edit(user, _with_clients(UserEditForm(obj=user, client_id=user.client_id or 0)), ResetPasswordForm())


@bp.post("/users/<int:user_id>")
@role_required(Role.ADMIN)
def user_update(user_id: int):
    user = get_or_404(User, user_id)
    form = _with_clients(UserEditForm())
    if form.validate_on_submit():
        try:
            update_user(current_user, user, form.name.data, form.role.data, form.client_id.data)
            return _row(user) if is_partial() else _back(f"User {user.email} saved.")
        except Refused as err:
            db.session.rollback()
            _apply_error(form, err)
    return _edit(user, form, ResetPasswordForm(), 422)


@bp.post("/users/<int:user_id>/active")
@role_required(Role.ADMIN)
def user_toggle_active(user_id: int):
    user = get_or_404(User, user_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        set_user_active(current_user, user, not user.active)
    except Refused as err:
        db.session.rollback()
        return _row(user, 422, error=str(err)) if is_partial() else _back(str(err), "error")
    if not is_partial():
        return _back(f"User {user.email} {'reactivated' if user.active else 'deactivated'}.")
    return _row(user)


@bp.post("/users/<int:user_id>/invite")
@role_required(Role.ADMIN)
def user_invite(user_id: int):
    """A new single-use link to set a password (older links stop working); shown once."""
    user = get_or_404(User, user_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        invitation = _invitation(user)
    except Refused as err:
        db.session.rollback()
        return _row(user, 422, error=str(err)) if is_partial() else _back(str(err), "error")
    if not is_partial():
        return _back(f"Send {user.email} this link to set their password (it works once, until "
                     f"{invitation['expires']:%d %b %Y %H:%M} UTC): {invitation['url']}")
    return _row(user, invitation=invitation)


@bp.post("/users/<int:user_id>/password")
@role_required(Role.ADMIN)
def user_password(user_id: int):
    user = get_or_404(User, user_id)
    form = ResetPasswordForm()
    form.context_user = user
    if form.validate_on_submit():
        reset_password(user, form.password.data)
        return _row(user) if is_partial() else _back(f"A new password is set for {user.email}.")
    edit_form = _with_clients(UserEditForm(obj=user, client_id=user.client_id or 0, formdata=None))
    return _edit(user, edit_form, form, 422)
