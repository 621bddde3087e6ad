"""Staff home: the connections overview."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, redirect, url_for
from flask_login import current_user

from ..auth.access import public, staff_required
from ..extensions import db
from ..htmx import render
from ..models import IntegrationConnection

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
    return render("home/index.html", "partials/home/connection_table.html", connections=connections)
