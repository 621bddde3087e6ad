"""The retention page: each table's policy, size, oldest row and rows past their age; the nightly pass."""
from __future__ import annotations

from flask import current_app, render_template

from ..auth.access import role_required
from ..choices import Role
from ..retention import status
from ..retention.run import archive_dir
from . import bp


@bp.get("/retention")
@role_required(Role.ADMIN)
def retention():
    counted_at, tables = status.counted()
    return render_template("admin/retention.html", tables=tables, counted_at=counted_at, task=status.last_pass(),
                           folder=archive_dir(), hour=current_app.config["RETENTION_HOUR_UTC"])
