"""Staff home: the connections overview."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, redirect, url_for
from flask_login import current_user

from ..auth.access import public, staff_required
from ..extensions import db
from ..htmx import render
from ..models import IntegrationConnection, IntegrationSyncRun

bp = Blueprint("home", __name__)


@bp.get("/")
@public
def root():
    """Send each visitor to their own start page (or to sign in)."""
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    return redirect(url_for("portal.index" if current_user.is_client else "home.index"))


@bp.get("/connections")
@staff_required
def index():
    connections = db.session.scalars(
        sa.select(IntegrationConnection).order_by(IntegrationConnection.created_at.desc())
    ).all()
    return render("home/index.html", "partials/home/connection_table.html", connections=connections,
                  last_runs=latest_runs([c.id for c in connections]))


def latest_runs(connection_ids: list[int]) -> dict[int, list[IntegrationSyncRun]]:
    """The newest run of each object type per connection, in one query."""
    if not connection_ids:
        return {}
    newest = (sa.select(sa.func.max(IntegrationSyncRun.id))
              .where(IntegrationSyncRun.connection_id.in_(connection_ids), IntegrationSyncRun.dry_run.is_(False))
              .group_by(IntegrationSyncRun.connection_id, IntegrationSyncRun.object_type))
    runs: dict[int, list[IntegrationSyncRun]] = {}
    for run in db.session.scalars(sa.select(IntegrationSyncRun).where(IntegrationSyncRun.id.in_(newest))
                                  .order_by(IntegrationSyncRun.object_type)):
        runs.setdefault(run.connection_id, []).append(run)
    return runs
