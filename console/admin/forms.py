"""Admin forms. Choices that depend on the database are filled by the view."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Email, Length, Optional

from ..auth.forms import MIN_PASSWORD, StrongPassword
from ..choices import Role

PASSWORD_RULE = Length(min=MIN_PASSWORD, max=200, message="Use at least 12 characters.")


class ClientForm(FlaskForm):
    name = StringField("Client name", validators=[DataRequired(), Length(min=2, max=120)])


class UserCreateForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=254)])
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    # No default: a new account's role is a decision, never an Admin by accident.
    role = SelectField("Role", choices=[("", "Choose a role…"), *Role.options()],
                       validators=[DataRequired(message="Choose the user's role.")])
    client_id = SelectField("Client", coerce=int, validators=[Optional()])
    # No password: the new user sets their own through an invitation link.


class UserEditForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    role = SelectField("Role", choices=Role.options(), validators=[DataRequired()])
    client_id = SelectField("Client", coerce=int, validators=[Optional()])


class ResetPasswordForm(FlaskForm):
    password = PasswordField("New password", validators=[DataRequired(), PASSWORD_RULE, StrongPassword()])


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET filter changes nothing

    action = StringField("Action", validators=[Optional(), Length(max=60)])
    actor = StringField("Actor email", validators=[Optional(), Length(max=254)])
    target_type = StringField("Target type", validators=[Optional(), Length(max=60)])
    since = DateField("From", validators=[Optional()])
    until = DateField("To", validators=[Optional()])


def client_choices(clients) -> list[tuple[int, str]]:
    return [(0, "— none (staff) —")] + [(c.id, c.name) for c in clients]
