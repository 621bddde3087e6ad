"""Sign-in, sign-out and changing one's own password."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user

from ..choices import Role
from . import bp, invitations
from .access import ANY_USER, public, role_required
from .forms import ChangePasswordForm, LoginForm, SetPasswordForm
from .services import LoginRefused, authenticate, change_password, sign_out


def home_for(user) -> str:
    """Each role's start page: clients their portal, ops the dashboard they watch, the rest the connections."""
    return url_for({Role.CLIENT: "portal.index", Role.OPS: "ops.dashboard"}.get(user.role, "home.index"))


def _safe_next(target: str | None) -> str | None:
    """Only same-site relative paths are followed after sign-in."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(c) < 32 or ord(c) == 127 for c in target):  # header splitting, //host tricks
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = authenticate(form.email.data, form.password.data, request.remote_addr or "?")
        except LoginRefused as refused:
            form.form_errors.append(str(refused))
            return render_template("auth/login.html", form=form), 401 if refused.bad_credentials else 429
        login_user(user, remember=bool(form.remember.data))
        return redirect(_safe_next(request.args.get("next")) or home_for(user), code=303)
    status = 422 if form.is_submitted() else 200
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
@role_required(*ANY_USER)
def logout():
    """Ends this session and every "keep me signed in" cookie of the user: the session version moves on,
    so a copied session or remember cookie no longer opens the console anywhere."""
    sign_out(current_user._get_current_object())
    logout_user()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"), code=303)


@bp.route("/account/password", methods=["GET", "POST"])
@role_required(*ANY_USER)
def password():
    form = ChangePasswordForm()
    form.context_user = current_user._get_current_object()
    if form.validate_on_submit():
        if change_password(current_user, form.current.data, form.new.data):
            login_user(current_user._get_current_object())  # new session_version, same device
            flash("Your password is changed.", "success")
            return redirect(url_for("auth.password"), code=303)
        form.current.errors.append("That is not your current password.")
    status = 422 if form.is_submitted() and form.errors else 200
    return render_template("auth/password.html", form=form), status


@bp.route("/invite/<token>", methods=["GET", "POST"])
@public
def invitation(token: str):
    """An invited user sets their own password, once, then is signed in."""
    try:
        invited = invitations.find(token, attempt=request.method == "POST")
    except invitations.InvitationRefused as refused:
        return render_template("auth/invitation.html", form=None, refused=str(refused)), refused.status
    form = SetPasswordForm()
    form.context_user = invited.user
    if form.validate_on_submit():
        try:
            user = invitations.accept(invited, form.new.data)
        except invitations.InvitationRefused as refused:
            return render_template("auth/invitation.html", form=None, refused=str(refused)), refused.status
        if current_user.is_authenticated:
            logout_user()
        login_user(user)
        flash("Your password is set. Welcome.", "success")
        return redirect(home_for(user), code=303)
    status = 422 if form.is_submitted() else 200
    return render_template("auth/invitation.html", form=form, user=invited.user, refused=None), status
