"""Staff home: the connections overview."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, redirect, request, url_for
from flask_login import current_user

from ..auth.access import public, staff_required
from ..choices import ConnectionStatus
from ..extensions import db
from ..htmx import render
from ..models import Client, IntegrationSyncRun
from ..params import bounded
from . import listing

bp = Blueprint("home", __name__)


@bp.get("/")
@public
def root():
    """Send each visitor to their own start page (or to sign in)."""
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    from ..auth.routes import home_for

    return redirect(home_for(current_user))


@bp.get("/connections")
@staff_required
def index():
    """Every connection with filters and search; the table swaps alone on an HTMX filter change."""
    args = request.args
    status = args.get("status", "") if args.get("status", "") in ConnectionStatus.values() else ""
    client_id = args.get("client_id", type=bounded())
    owner_id = current_user.id if args.get("mine") else args.get("owner_id", type=bounded())
    conns = listing.connections(status, client_id, owner_id, args.get("q", "")[:100])
    return render("home/index.html", "partials/home/connection_table.html", rows=listing.rows(conns),
                  last_runs=latest_runs([c.id for c in conns]), filters=args, statuses=ConnectionStatus.options(),
                  clients=db.session.scalars(sa.select(Client).order_by(Client.name)).all(),
                  owners=listing.owners())


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
