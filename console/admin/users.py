"""Users: list, create, edit role/client inline, deactivate/activate, reset password."""
from __future__ import annotations

import sqlalchemy as sa
from flask import flash, redirect, render_template, url_for
from flask_login import current_user

from ..auth.access import get_or_404, role_required
from ..auth.forms import ActionForm
from ..choices import Role
from ..extensions import db
from ..htmx import is_partial, render, trigger
from ..models import Client, User
from . import bp
from .forms import ResetPasswordForm, UserCreateForm, UserEditForm, client_choices
from .services import AdminError, create_user, reset_password, set_user_active, update_user


def _with_clients(form):
    active = db.session.scalars(sa.select(Client).where(Client.archived_at.is_(None)).order_by(Client.name))
    form.client_id.choices = client_choices(active)
    return form


def _users() -> list[User]:
    return list(db.session.scalars(sa.select(User).order_by(User.active.desc(), User.email)))


def _page(form, status: int = 200, partial: str = "partials/admin/user_table.html"):
    return render("admin/users.html", partial, status=status, users=_users(), form=form,
                  action_form=ActionForm())


def _row(user: User, status: int = 200, error: str | None = None):
    return render_template("partials/admin/user_row.html", user=user, action_form=ActionForm(),
                           error=error), status


def _apply_error(form, err: AdminError) -> None:
    field = getattr(form, err.field, None)
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
            user = create_user(form.email.data, form.name.data, form.role.data, form.client_id.data,
                               form.password.data)
            if not is_partial():
                flash(f"User {user.email} created.", "success")
                return redirect(url_for("admin.users"), code=303)
            fresh = _with_clients(UserCreateForm(formdata=None))
            return trigger(_page(fresh, partial="partials/admin/user_form.html"), "usersChanged")
        except AdminError as err:
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
    form = _with_clients(UserEditForm(obj=user, client_id=user.client_id or 0))
    return render_template("partials/admin/user_edit.html", user=user, form=form,
                           password_form=ResetPasswordForm())


@bp.post("/users/<int:user_id>")
@role_required(Role.ADMIN)
def user_update(user_id: int):
    user = get_or_404(User, user_id)
    form = _with_clients(UserEditForm())
    if form.validate_on_submit():
        try:
            update_user(current_user, user, form.name.data, form.role.data, form.client_id.data)
            return _row(user)
        except AdminError as err:
            db.session.rollback()
            _apply_error(form, err)
    return render_template("partials/admin/user_edit.html", user=user, form=form,
                           password_form=ResetPasswordForm()), 422


@bp.post("/users/<int:user_id>/active")
@role_required(Role.ADMIN)
def user_toggle_active(user_id: int):
    user = get_or_404(User, user_id)
    try:
        set_user_active(current_user, user, not user.active)
    except AdminError as err:
        db.session.rollback()
        return _row(user, 422, error=str(err))
    return _row(user)


@bp.post("/users/<int:user_id>/password")
@role_required(Role.ADMIN)
def user_password(user_id: int):
    user = get_or_404(User, user_id)
    form = ResetPasswordForm()
    form.context_user = user
    if form.validate_on_submit():
        reset_password(user, form.password.data)
        return _row(user)
    edit_form = _with_clients(UserEditForm(obj=user, client_id=user.client_id or 0, formdata=None))
    return render_template("partials/admin/user_edit.html", user=user, form=edit_form,
                           password_form=form), 422
