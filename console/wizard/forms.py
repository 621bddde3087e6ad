"""Wizard forms. Choices that depend on the database or the provider are filled by the view.
Secret fields are PasswordFields: what was stored is never sent back to the browser."""
from __future__ import annotations

from email_validator import EmailNotValidError, validate_email
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
    URLField,
)
from wtforms.validators import URL, DataRequired, InputRequired, Length, NumberRange, Optional, Regexp

from ..choices import AuthType, Direction, Environment, ObjectType, SystemOfRecord, WriteCondition
from ..sync.outbound.pusher import CONSOLE_ID_PROPERTY
from ..sync.proof.testbatch import DEFAULT_SIZE, MAX_SIZE

OBJECT_TYPES = tuple(ObjectType.values())
# What a run does when the provider's schema breaks the mapping (sync/schema_drift.py)
DRIFT_POLICIES = {"pause": "pause the affected sync job until the mapping is updated",
                  "fail": "go on, and fail each record of the affected object with a mapping failure"}
AFTER = [("", "Nothing"), *((o, ObjectType.label_of(o)) for o in OBJECT_TYPES)]
LOCAL_URL = URL(require_tld=False, message="Enter a full URL, e.g. https://api.hubapi.com.")


class AllowedHost:
    """The server will send credentials or messages to this URL: it must pass the outbound allowlist."""

    def __init__(self, setting: str, what: str, variable: str) -> None:
        self.setting, self.what, self.variable = setting, what, variable

    def __call__(self, form, field) -> None:
        from flask import current_app
        from wtforms.validators import ValidationError

        from ..security.outbound import OutboundRefused, check

        try:
            check(field.data or "", tuple(current_app.config.get(self.setting, ())), self.what, self.variable)
        except OutboundRefused as refused:
            raise ValidationError(str(refused)) from None


class NewConnectionForm(FlaskForm):
    client_id = SelectField("Client", coerce=int, validators=[InputRequired()])
    provider_id = SelectField("Provider", coerce=int, validators=[InputRequired()])
    name = StringField("Connection name", validators=[DataRequired(), Length(min=3, max=120)])
    environment = SelectField("Environment", choices=Environment.options(), validators=[DataRequired()])
    owner_id = SelectField("Integration owner", coerce=int, validators=[InputRequired()])
    reason = TextAreaField("Why this connection exists", validators=[DataRequired(), Length(max=2000)])


class AccessForm(FlaskForm):
    owner_id = SelectField("Integration owner", coerce=int, validators=[InputRequired()])
    auth_type = SelectField("Auth model", choices=[(a.value, a.label) for a in (AuthType.PRIVATE_APP, AuthType.OAUTH)])
    scopes = StringField("Required scopes (space-separated)", validators=[DataRequired(), Length(max=1000)])
    docs_url = URLField("Provider docs link", validators=[DataRequired(), LOCAL_URL, Length(max=500)])
    revocation_path = TextAreaField("How access is revoked", validators=[DataRequired(), Length(max=2000)])


class AccountForm(FlaskForm):
    # labelled and checked by the view and the service for the connection's provider (registry.account_label)
    portal_id = StringField("Account id", validators=[DataRequired(), Regexp(r"^[A-Za-z0-9_-]{1,64}$",
                            message="An account id is letters and digits only.")])
    environment = SelectField("Environment", choices=Environment.options(), validators=[DataRequired()])
    base_url = URLField("API base URL", validators=[DataRequired(), LOCAL_URL, Length(max=500),
                                                    AllowedHost("PROVIDER_HOSTS", "The API base URL", "CONSOLE_PROVIDER_HOSTS")])
    oauth_client_id = StringField("OAuth app client id", validators=[Optional(), Length(max=200)])
    override_reason = StringField("Why this portal is shared with another client (admins only)",
                                  validators=[Optional(), Length(max=500)])


class TokenForm(FlaskForm):
    token = PasswordField("Private-app access token", validators=[DataRequired(), Length(min=10, max=500)])


class OAuthSecretForm(FlaskForm):
    client_secret = PasswordField("OAuth app client secret", validators=[DataRequired(), Length(min=8, max=500)])


class WebhookSecretForm(FlaskForm):
    webhook_secret = PasswordField("Webhook signing secret (the app's client secret)",
                                   validators=[DataRequired(), Length(min=8, max=500)])
    app_id = StringField("App id", validators=[Optional(), Regexp(r"^\d{1,20}$", message="Digits only.")])
    legacy_signatures = BooleanField("Also accept v1/v2 signatures (older apps; they carry no timestamp)")


class JobsForm(FlaskForm):
    contacts = BooleanField("Contacts")
    contacts_minutes = IntegerField("every (minutes)", default=15, validators=[InputRequired(), NumberRange(1, 1440)])
    companies = BooleanField("Companies")
    companies_minutes = IntegerField("every (minutes)", default=60, validators=[InputRequired(), NumberRange(1, 1440)])
    deals = BooleanField("Deals")
    deals_minutes = IntegerField("every (minutes)", default=15, validators=[InputRequired(), NumberRange(1, 1440)])
    webhook_events = StringField("Webhook events (optional)", validators=[Optional(), Length(max=500)])
    contacts_direction = SelectField("Contacts flow", choices=Direction.options(), default="in")
    companies_direction = SelectField("Companies flow", choices=Direction.options(), default="in")
    deals_direction = SelectField("Deals flow", choices=Direction.options(), default="in")
    blackout = StringField("Blackout window: no scheduled run (optional)", validators=[Optional(), Length(max=80)])
    # What a record created here is matched on in the CRM (sync/outbound/pusher.match_keys); deals always on our id.
    contacts_match = SelectField("New contacts match in the CRM on", default="email", choices=[
        ("email", "Email"), (f"email,{CONSOLE_ID_PROPERTY}", "Email, else our id"), (CONSOLE_ID_PROPERTY, "Our id only")])
    companies_match = SelectField("New companies match in the CRM on", default="domain", choices=[
        ("domain", "Domain"), (f"domain,{CONSOLE_ID_PROPERTY}", "Domain, else our id"), (CONSOLE_ID_PROPERTY, "Our id only")])
    contacts_after = SelectField("Contacts run after", default="companies", choices=AFTER)
    companies_after = SelectField("Companies run after", default="", choices=AFTER)
    deals_after = SelectField("Deals run after", default="companies", choices=AFTER)

    def after(self) -> dict[str, str | None]:
        """Each synced object's predecessor, when that one is synced too (a job never waits for an object
        nobody syncs)."""
        synced = {o for o in OBJECT_TYPES if getattr(self, o).data}
        return {o: (a if (a := getattr(self, f"{o}_after").data) in synced else None) for o in synced}

    def validate(self, extra_validators=None) -> bool:
        """Besides each field: no object waits for itself, directly or round a circle (none would ever run)."""
        ok = super().validate(extra_validators)
        after = self.after()
        for start in OBJECT_TYPES:
            seen, at = [start], after.get(start)
            while at is not None and at not in seen:
                seen.append(at)
                at = after.get(at)
            if at == start:
                getattr(self, f"{start}_after").errors.append(
                    "These objects would wait for each other and never run: " + " → ".join([*seen, start]) + ".")
                return False
        return ok

    def validate_blackout(self, field) -> None:
        from wtforms.validators import ValidationError

        from ..intake_reading import blackout

        if field.data and field.data.strip() and blackout(field.data) is None:
            raise ValidationError("Write it as a daily window with its time zone, e.g. 23:00-02:00 America/Toronto "
                                  "or 11pm-2am ET.")


class FieldForm(FlaskForm):
    source = SelectField("Provider property", validators=[DataRequired()], validate_choice=False)
    transform = SelectField("Transform", validators=[DataRequired()], validate_choice=False)
    required = BooleanField("Required")
    sensitive = BooleanField("Sensitive (never shown outside the console)")
    direction = SelectField("Direction", choices=Direction.options(), default="in")
    system_of_record = SelectField("When both sides changed it, who wins", choices=SystemOfRecord.options(),
                                   default="provider")
    condition = SelectField("Write to the CRM", choices=WriteCondition.options(), default="")


class TestBatchForm(FlaskForm):
    object_type = SelectField("Records", validators=[DataRequired()])
    size = IntegerField("How many", default=DEFAULT_SIZE, validators=[InputRequired(), NumberRange(1, MAX_SIZE)])


class WaiveForm(FlaskForm):
    code = HiddenField(validators=[DataRequired(), Length(max=60)])
    reason = StringField("Reason", validators=[DataRequired("Say why these values may stay as they are."),
                                               Length(max=500)])


class ReportTextForm(FlaskForm):
    explanation = TextAreaField("What this connection does, for the client",
                                validators=[DataRequired(), Length(max=2000)])
    next_action = StringField("Next action", validators=[DataRequired(), Length(max=500)])


class MonitorForm(FlaskForm):
    stale_multiple = IntegerField("Stale after (× the schedule)", default=3,
                                  validators=[InputRequired(), NumberRange(2, 20)])
    pressure_pct = IntegerField("Rate-limit pressure alert (% of daily limit left)", default=20,
                                validators=[InputRequired(), NumberRange(1, 90)])
    failed_webhooks = IntegerField("Failed-webhook alert (per hour)", default=5,
                                   validators=[InputRequired(), NumberRange(1, 10000)])
    duplicate_events = IntegerField("Duplicate-delivery alert (% of webhook deliveries per hour)", default=20,
                                    validators=[InputRequired(), NumberRange(1, 100)])
    freshness_target = IntegerField("Freshness target (seconds from a change to our record)", default=300,
                                    validators=[InputRequired(), NumberRange(1, 86400)])
    freshness_objective = IntegerField("Freshness objective (% of changes within the target)", default=99,
                                       validators=[InputRequired(), NumberRange(1, 100)])
    completeness = IntegerField("Required-field completeness at least (%)", default=95,
                                validators=[InputRequired(), NumberRange(0, 100)])
    duplicate_records = IntegerField("Duplicate records at most (%)", default=5,
                                     validators=[InputRequired(), NumberRange(0, 100)])
    unresolved = IntegerField("Unresolved owner or stage references at most (%)", default=2,
                              validators=[InputRequired(), NumberRange(0, 100)])
    channel = SelectField("Notify the owner by", choices=[("email", "Email"), ("slack", "Slack webhook")])
    target = StringField("Email addresses (comma-separated) or Slack incoming-webhook URL",
                         validators=[DataRequired(), Length(max=500)])
    visible = BooleanField("Show this connection in the client portal")
    visibility_note = TextAreaField("What the client may see", validators=[DataRequired(), Length(max=2000)])
    failure_path = TextAreaField("Failure path: who is alerted, what happens next",
                                 validators=[DataRequired(), Length(max=2000)])
    manual_fallback = TextAreaField("Manual fallback (import path)", validators=[DataRequired(), Length(max=2000)])

    def validate_target(self, field) -> None:
        from wtforms.validators import ValidationError

        if self.channel.data == "email":
            from ..monitoring.notify import MAX_ADDRESSES, addresses

            found = addresses(field.data or "")
            if len(found) > MAX_ADDRESSES:
                raise ValidationError(f"At most {MAX_ADDRESSES} addresses.")
            for address in found:
                try:
                    validate_email(address, check_deliverability=False)
                except EmailNotValidError:
                    raise ValidationError(f"{address[:80]} is not an email address.") from None
            field.data = ", ".join(found)
        elif not field.data.startswith("https://"):
            raise ValidationError("A Slack incoming-webhook URL starts with https://.")
        else:
            AllowedHost("NOTIFY_HOSTS", "The Slack webhook URL", "CONSOLE_NOTIFY_HOSTS")(self, field)


class ReasonForm(FlaskForm):
    reason = StringField("Reason", validators=[Optional(), Length(max=500)])


class SignOffForm(FlaskForm):
    """The client's sign-off of a design version, as the owner records it."""
    by = StringField("Signed off by (the client's person)", validators=[DataRequired(), Length(max=200)])
    how = StringField("How", validators=[DataRequired(), Length(max=500)],
                      description="e.g. reply to the design email, 3 December; on the walkthrough call")
    at = DateField("On", validators=[DataRequired(message="Enter the date of the sign-off.")])
