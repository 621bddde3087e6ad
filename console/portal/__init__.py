"""The client portal: read-only, and only the signed-in client's own visible connections.

The same pages answer staff at /clients/<id>/as-client/… ("view as client"), read-only too."""
from __future__ import annotations

from flask import Blueprint
from flask_login import current_user

from ..auth.access import role_required
from ..choices import Role
from . import pages
from .preview import bp as preview_bp  # noqa: F401  (registered beside bp)

bp = Blueprint("portal", __name__, url_prefix="/portal")


@bp.get("/")
@role_required(Role.CLIENT)
def index():
    return pages.index_page(current_user.client_id, pages.url_builder(None), preview=False)


@bp.get("/connections/<int:connection_id>")
@role_required(Role.CLIENT)
def connection(connection_id: int):
    return pages.connection_page(current_user.client_id, connection_id, pages.url_builder(None), preview=False)


@bp.get("/connections/<int:connection_id>/design")
@role_required(Role.CLIENT)
def design(connection_id: int):
    return pages.design_page(current_user.client_id, connection_id, pages.url_builder(None), preview=False)


@bp.get("/connections/<int:connection_id>/charts/<metric_key>.svg")
@role_required(Role.CLIENT)
def chart(connection_id: int, metric_key: str):
    return pages.chart_svg(current_user.client_id, connection_id, metric_key)


@bp.get("/connections/<int:connection_id>/export.csv")
@role_required(Role.CLIENT)
def export(connection_id: int):
    return pages.export_csv(current_user.client_id, connection_id)
