"""Sign-in and password forms."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

MIN_PASSWORD = 12


class StrongPassword:
    """zxcvbn's judgement (auth/services.password_problem), with the person's own email and name as
    context: the form's email and name fields, and `form.context_user` (whose current password is
    refused too) when the view sets it."""

    def __call__(self, form, field) -> None:
        from .services import password_problem

        user = getattr(form, "context_user", None)
        context = [getattr(form, n).data for n in ("email", "name") if n in form._fields]
        if user is not None:
            context += [user.email, user.name]
        problem = password_problem(field.data or "", *context,
                                   current_hash=user.password_hash if user is not None else None)
        if problem:
            raise ValidationError(problem)


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])
    remember = BooleanField("Keep me signed in on this device", default=False)


class ChangePasswordForm(FlaskForm):
    current = PasswordField("Current password", validators=[DataRequired()])
    new = PasswordField(
        "New password",
        validators=[DataRequired(), Length(min=MIN_PASSWORD, max=200, message="Use at least 12 characters."),
                    StrongPassword()],
    )
    confirm = PasswordField(
        "Repeat new password", validators=[DataRequired(), EqualTo("new", "The passwords differ.")]
    )


class SetPasswordForm(FlaskForm):
    """An invited user's first password (the view sets `context_user`)."""
    new = PasswordField(
        "Choose a password",
        validators=[DataRequired(), Length(min=MIN_PASSWORD, max=200, message="Use at least 12 characters."),
                    StrongPassword()],
    )
    confirm = PasswordField("Repeat it", validators=[DataRequired(), EqualTo("new", "The passwords differ.")])


class ActionForm(FlaskForm):
    """An empty form: gives bare POST buttons their CSRF token."""
