"""Run history: every sync, test batch, import and webhook run with filters, and a run's detail
(buckets, provider calls, 429s, cursor before and after, its record errors)."""
from __future__ import annotations

import sqlalchemy as sa
from flask import request, url_for

from ..auth.access import get_or_404, role_required
from ..choices import RunKind, RunStatus
from ..extensions import db
from ..htmx import render
from ..models import IntegrationSyncError, IntegrationSyncRun
from ..params import bounded
from . import bp, services
from .calls import FILTERS, calls_page
from .webhooks import VIEW

PAGE = 100


def history(status: str = "", kind: str = "", connection_id: int | None = None, object_type: str = "",
            before_id: int | None = None) -> list[IntegrationSyncRun]:
    query = sa.select(IntegrationSyncRun).order_by(IntegrationSyncRun.id.desc()).limit(PAGE)
    if status:
        query = query.where(IntegrationSyncRun.status == status)
    if kind:
        query = query.where(IntegrationSyncRun.kind == kind)
    if connection_id:
        query = query.where(IntegrationSyncRun.connection_id == connection_id)
    if object_type:
        query = query.where(IntegrationSyncRun.object_type == object_type)
    if before_id:
        query = query.where(IntegrationSyncRun.id < before_id)
    return list(db.session.scalars(query))


@bp.get("/runs")
@role_required(*VIEW)
def runs():
    args = request.args
    f = {"status": args.get("status", "") if args.get("status", "") in RunStatus.values() else "",
         "kind": args.get("kind", "") if args.get("kind", "") in RunKind.values() else "",
         "connection_id": args.get("connection_id", type=bounded()), "object_type": args.get("object_type", "")[:40],
         "before_id": args.get("before_id", type=bounded())}
    rows = history(**f)
    return render("ops/runs.html", "partials/ops/run_table.html", runs=rows, filters=args,
                  names=services.connection_names(), statuses=RunStatus.options(), kinds=RunKind.options(),
                  older_url=url_for("ops.runs", **{**args.to_dict(), "before_id": rows[-1].id})
                  if len(rows) == PAGE else None)


@bp.get("/runs/<int:run_id>")
@role_required(*VIEW)
def run_detail(run_id: int):
    run = get_or_404(IntegrationSyncRun, run_id)
    errors = db.session.scalars(sa.select(IntegrationSyncError).where(IntegrationSyncError.run_id == run.id)
                                .order_by(IntegrationSyncError.id).limit(200)).all()
    return render("ops/run_detail.html", "partials/ops/run_detail.html", run=run, errors=errors,
                  names=services.connection_names(), calls=calls_page(run), filters=FILTERS)
