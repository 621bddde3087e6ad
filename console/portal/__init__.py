"""The client portal: read-only, and only the signed-in client's own visible connections."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort
from flask_login import current_user

from ..auth.access import get_for_client_or_404, role_required
from ..choices import Role
from ..extensions import db
from ..htmx import render
from ..models import Client, IntegrationConnection

bp = Blueprint("portal", __name__, url_prefix="/portal")


@bp.get("/")
@role_required(Role.CLIENT)
def index():
    client = db.session.get(Client, current_user.client_id)
    connections = db.session.scalars(
        sa.select(IntegrationConnection)
        .where(IntegrationConnection.client_id == current_user.client_id,
               IntegrationConnection.client_visible.is_(True))
        .order_by(IntegrationConnection.name)
    ).all()
    return render("portal/index.html", "partials/portal/connection_list.html",
                  client=client, connections=connections)


@bp.get("/connections/<int:connection_id>")
@role_required(Role.CLIENT)
def connection(connection_id: int):
    """One connected system as the client may see it; another client's id is a plain 404."""
    conn = get_for_client_or_404(IntegrationConnection, connection_id)
    if not conn.client_visible:
        abort(404)
    return render("portal/connection.html", "partials/portal/connection_card.html", connection=conn)
