"""Step 1, access: who owns the connection, the auth model, the scopes, the docs, the revocation path."""
from __future__ import annotations

import sqlalchemy as sa
from flask_login import current_user

from ...answers import beside
from ...auth.access import get_or_404, role_required
from ...choices import AuthType, Role, WizardStep
from ...connectors import registry
from ...extensions import db
from ...models import User
from ...refusals import Refused
from .. import bp, prefill
from ..forms import AccessForm
from ..services import default_scopes, save_access, topology
from .common import EDITORS, VIEWERS, continue_if_asked, load, page

PARTIAL = "partials/wizard/access_form.html"


def _form(conn, formdata=True) -> AccessForm:
    account = conn.account
    form = AccessForm() if formdata else AccessForm(formdata=None)
    offered = registry.get(conn.provider.key).auth_types  # the auth models the provider offers
    form.auth_type.choices = [(a.value, a.label) for a in (AuthType.PRIVATE_APP, AuthType.OAUTH) if a.value in offered]
    form.owner_id.choices = [(u.id, u.name) for u in db.session.scalars(
        sa.select(User).where(User.role.in_([Role.OWNER.value, Role.ADMIN.value]), User.active.is_(True))
        .order_by(User.name))]
    if not formdata:
        form.owner_id.data = conn.owner_user_id
        form.auth_type.data = account.auth_type if account else form.auth_type.choices[0][0]
        form.scopes.data = account.required_scopes if account else default_scopes(conn.provider)
        form.docs_url.data = conn.docs_url or conn.provider.docs_url or ""
        form.revocation_path.data = account.revocation_path if account else ""
        prefill.owner(conn, form)
    return form


@bp.get("/<int:connection_id>/wizard/access")
@role_required(*VIEWERS)
def access(connection_id: int):
    conn = load(connection_id)
    return page(conn, WizardStep.ACCESS, PARTIAL, form=_form(conn, formdata=False), topology=topology(conn))


@bp.post("/<int:connection_id>/wizard/access")
@role_required(*EDITORS)
def access_save(connection_id: int):
    conn = load(connection_id, edit=True)
    form = _form(conn)
    if form.validate_on_submit():
        try:
            save_access(conn, current_user, owner=get_or_404(User, form.owner_id.data),
                        auth_type=form.auth_type.data, scopes=form.scopes.data, docs_url=form.docs_url.data,
                        revocation_path=form.revocation_path.data)
            return continue_if_asked(conn, WizardStep.ACCESS, page(conn, WizardStep.ACCESS, PARTIAL, changed=True,
                                                                   form=form, message="Access saved.",
                                                                   topology=topology(conn)))
        except Refused as err:
            beside(form, err, "scopes")
    return page(conn, WizardStep.ACCESS, PARTIAL, 422, form=form, topology=topology(conn))
