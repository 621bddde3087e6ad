"""Step 2, connection: the provider account (portal id, environment, base URL), credentials (written,
never shown), the OAuth connect flow, and a live check of the portal and the token's real scopes."""
from __future__ import annotations

from flask import abort, redirect, render_template, request, session, url_for
from flask_login import current_user

from ...answers import beside
from ...auth.access import role_required
from ...choices import Environment, WizardStep
from ...connectors import registry
from ...extensions import db
from ...refusals import Refused
from .. import bp
from ..credentials import (
    check_connection,
    oauth_finish,
    oauth_start,
    save_oauth_secret,
    save_private_token,
    save_webhook_secret,
)
from ..forms import AccountForm, OAuthSecretForm, TokenForm, WebhookSecretForm
from ..services import save_account, webhook_receiver
from .common import EDITORS, VIEWERS, context, load, page

ACCOUNT, CREDENTIALS = "partials/wizard/connection_account.html", "partials/wizard/connection_credentials.html"
OAUTH_STATE = "wizard_oauth_state"


def _labelled(conn, form: AccountForm) -> AccountForm:
    form.portal_id.label.text = registry.get(conn.provider.key).account_label
    return form


def _account_form(conn) -> AccountForm:
    form = _labelled(conn, AccountForm(formdata=None))
    account = conn.account
    form.portal_id.data = account.external_account_id if account else ""
    form.environment.data = conn.environment or Environment.SANDBOX.value
    form.base_url.data = account.base_url if account and account.base_url else registry.get(conn.provider.key).default_base_url
    form.oauth_client_id.data = account.oauth_client_id if account else ""
    return form


def _forms(conn, **overrides) -> dict:
    forms = dict(account_form=_account_form(conn), token_form=TokenForm(formdata=None), receiver=webhook_receiver(conn),
                 secret_form=OAuthSecretForm(formdata=None), webhook_form=WebhookSecretForm(
                     formdata=None, app_id=conn.account.app_id if conn.account else None,
                     legacy_signatures=bool(conn.account and not conn.account.webhook_v3_only)),
                 check=None)
    forms.update(overrides)
    return forms


@bp.get("/<int:connection_id>/wizard/connection")
@role_required(*VIEWERS)
def connection(connection_id: int):
    conn = load(connection_id)
    message = request.args.get("oauth") == "connected" and "Connected: the tokens are stored encrypted. Check them now."
    return page(conn, WizardStep.CONNECTION, ACCOUNT, message=message or None, **_forms(conn))


@bp.post("/<int:connection_id>/wizard/connection/account")
@role_required(*EDITORS)
def connection_account(connection_id: int):
    conn = load(connection_id, edit=True)
    form = _labelled(conn, AccountForm())
    if form.validate_on_submit():
        try:
            save_account(conn, current_user, portal_id=form.portal_id.data, environment=form.environment.data,
                         base_url=form.base_url.data, oauth_client_id=form.oauth_client_id.data or "",
                         override_reason=form.override_reason.data or "")
        except Refused as refused:
            beside(form, refused, "portal_id")
            return page(conn, WizardStep.CONNECTION, ACCOUNT, 422, **_forms(conn, account_form=form))
        return page(conn, WizardStep.CONNECTION, ACCOUNT, changed=True, events=("accountChanged",),
                    message="Account saved.", **_forms(conn))
    return page(conn, WizardStep.CONNECTION, ACCOUNT, 422, **_forms(conn, account_form=form))


@bp.get("/<int:connection_id>/wizard/connection/credentials")
@role_required(*VIEWERS)
def connection_credentials(connection_id: int):
    """The credentials card, refreshed when the account above it is saved (a new portal drops the token)."""
    conn = load(connection_id)
    return render_template(CREDENTIALS, **context(conn, WizardStep.CONNECTION, **_forms(conn)))


@bp.post("/<int:connection_id>/wizard/connection/token")
@role_required(*EDITORS)
def connection_token(connection_id: int):
    conn = load(connection_id, edit=True)
    form = TokenForm()
    if form.validate_on_submit():
        try:
            save_private_token(conn, current_user, form.token.data)
            return page(conn, WizardStep.CONNECTION, CREDENTIALS, changed=True,
                        message="Token stored encrypted. Check the connection to verify it.", **_forms(conn))
        except Refused as err:
            beside(form, err, "token")
    return page(conn, WizardStep.CONNECTION, CREDENTIALS, 422, **_forms(conn, token_form=form))


@bp.post("/<int:connection_id>/wizard/connection/webhook-secret")
@role_required(*EDITORS)
def connection_webhook_secret(connection_id: int):
    conn = load(connection_id, edit=True)
    form = WebhookSecretForm()
    if form.validate_on_submit():
        save_webhook_secret(conn, current_user, form.webhook_secret.data, form.app_id.data or "",
                            bool(form.legacy_signatures.data))
        return page(conn, WizardStep.CONNECTION, CREDENTIALS, changed=True, message_for="webhook",
                    message="Webhook signing secret stored encrypted.", **_forms(conn))
    return page(conn, WizardStep.CONNECTION, CREDENTIALS, 422, **_forms(conn, webhook_form=form))


@bp.post("/<int:connection_id>/wizard/connection/oauth-secret")
@role_required(*EDITORS)
def connection_oauth_secret(connection_id: int):
    conn = load(connection_id, edit=True)
    form = OAuthSecretForm()
    if form.validate_on_submit():
        save_oauth_secret(conn, current_user, form.client_secret.data)
        return page(conn, WizardStep.CONNECTION, CREDENTIALS, message="Client secret stored encrypted.",
                    **_forms(conn))
    return page(conn, WizardStep.CONNECTION, CREDENTIALS, 422, **_forms(conn, secret_form=form))


@bp.get("/<int:connection_id>/wizard/connection/oauth")
@role_required(*EDITORS)
def connection_oauth_start(connection_id: int):
    """Leave for the provider's consent page; the state ties the callback to this user and connection.
    A link (GET), not a form: the CSP's form-action 'self' rightly stops form posts redirecting off-site."""
    conn = load(connection_id, edit=True)
    try:
        url, state = oauth_start(conn, url_for("wizard.oauth_callback", _external=True))
    except Refused as err:
        return page(conn, WizardStep.CONNECTION, CREDENTIALS, 422, message=str(err), message_tone="error",
                    **_forms(conn))
    session[OAUTH_STATE] = {"state": state, "connection_id": conn.id}
    return redirect(url, code=303)


@bp.get("/oauth/callback")
@role_required(*EDITORS)
def oauth_callback():
    expected = session.pop(OAUTH_STATE, None)
    if not expected or request.args.get("state") != expected["state"]:
        abort(400, "This authorization was not started here, or it was already used. Start it again.")
    conn = load(expected["connection_id"], edit=True)
    if request.args.get("error") or not request.args.get("code"):
        return page(conn, WizardStep.CONNECTION, CREDENTIALS, 422, message_tone="error",
                    message=f"The provider did not authorize: {request.args.get('error', 'no code returned')}.",
                    **_forms(conn))
    try:
        oauth_finish(conn, current_user, request.args["code"], url_for("wizard.oauth_callback", _external=True))
    except Refused as err:
        db.session.rollback()
        return page(conn, WizardStep.CONNECTION, CREDENTIALS, 422, message=str(err), message_tone="error",
                    **_forms(conn))
    return redirect(url_for("wizard.connection", connection_id=conn.id, oauth="connected"), code=303)


@bp.post("/<int:connection_id>/wizard/connection/check")
@role_required(*EDITORS)
def connection_check(connection_id: int):
    conn = load(connection_id, edit=True)
    result = check_connection(conn, current_user)
    return page(conn, WizardStep.CONNECTION, CREDENTIALS, 200 if result.ok else 422, changed=True,
                **_forms(conn, check=result))
