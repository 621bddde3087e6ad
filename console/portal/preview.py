"""Staff "view as client": the client's portal pages, read-only, for admins and the client's owners."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort
from flask_login import current_user

from ..auth.access import role_required
from ..auth.policy import can
from ..choices import Role
from ..extensions import db
from ..models import IntegrationConnection
from . import pages

bp = Blueprint("portal_preview", __name__, url_prefix="/clients/<int:client_id>/as-client")


def may_preview(client_id: int) -> bool:
    """Admins preview any client; an owner previews the clients whose connections they own (the policy's
    "preview" rule, given the client's connections)."""
    connections = db.session.scalars(sa.select(IntegrationConnection).where(
        IntegrationConnection.client_id == client_id)).all()
    return can(current_user, "preview", connections)


def _check(client_id: int) -> None:
    """Object-level: an owner asking for a client they do not serve gets 404, as for a missing client."""
    if not may_preview(client_id):
        abort(404)


@bp.get("/")
@role_required(Role.ADMIN, Role.OWNER)
def index(client_id: int):
    _check(client_id)
    return pages.index_page(client_id, pages.url_builder(client_id), preview=True)


@bp.get("/connections/<int:connection_id>")
@role_required(Role.ADMIN, Role.OWNER)
def connection(client_id: int, connection_id: int):
    _check(client_id)
    return pages.connection_page(client_id, connection_id, pages.url_builder(client_id), preview=True)


@bp.get("/connections/<int:connection_id>/design")
@role_required(Role.ADMIN, Role.OWNER)
def design(client_id: int, connection_id: int):
    _check(client_id)
    return pages.design_page(client_id, connection_id, pages.url_builder(client_id), preview=True)


@bp.get("/connections/<int:connection_id>/charts/<metric_key>.svg")
@role_required(Role.ADMIN, Role.OWNER)
def chart(client_id: int, connection_id: int, metric_key: str):
    _check(client_id)
    return pages.chart_svg(client_id, connection_id, metric_key, preview=True)


@bp.get("/connections/<int:connection_id>/export.csv")
@role_required(Role.ADMIN, Role.OWNER)
def export(client_id: int, connection_id: int):
    _check(client_id)
    return pages.export_csv(client_id, connection_id, preview=True)
