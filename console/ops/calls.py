"""A run's request log on its page: every call the run made to the provider, fifty a page, filtered by
what came back; a failed run's log opens at the page of its first failing call."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import render_template, request
from sqlalchemy.orm import Session

from ..auth.access import get_or_404, role_required
from ..choices import RunStatus
from ..extensions import db
from ..models import IntegrationRequestLog, IntegrationSyncRun
from ..params import bounded
from . import bp
from .webhooks import VIEW

PER_PAGE = 50
L = IntegrationRequestLog
FAILING = sa.or_(L.status.is_(None), sa.and_(L.status >= 400, L.status != 429))  # a 429 is waited out, not failed
FILTERS: dict[str, tuple[str, Any]] = {
    "": ("All calls", None), "ok": ("2xx", sa.and_(L.status >= 200, L.status < 300)),
    "failing": ("Failing (no answer, 4xx but 429, 5xx)", FAILING), "429": ("429 rate limited", L.status == 429),
    "4xx": ("4xx", sa.and_(L.status >= 400, L.status < 500)), "5xx": ("5xx", L.status >= 500),
    "none": ("No answer", L.status.is_(None)),
}


@dataclass
class CallPage:
    run_id: int
    status: str
    page: int
    pages: int
    total: int
    rows: list
    first_failing_id: int | None


def calls_page(run: IntegrationSyncRun, status: str = "", page: int | None = None) -> CallPage:
    """One page of the run's calls; without a page, a failed run opens at its first failing call."""
    where = [L.run_id == run.id, *([FILTERS[status][1]] if FILTERS[status][1] is not None else [])]
    with Session(db.engines["traffic"]) as traffic:
        total = traffic.scalar(sa.select(sa.func.count()).select_from(L).where(*where)) or 0
        first = traffic.scalar(sa.select(sa.func.min(L.id)).where(L.run_id == run.id, FAILING))
        pages = max(1, -(-total // PER_PAGE))
        if page is None:
            page = 1
            if run.status == RunStatus.FAILED.value and first is not None:
                before = traffic.scalar(sa.select(sa.func.count()).select_from(L).where(*where, L.id < first)) or 0
                page = before // PER_PAGE + 1
        page = min(max(1, page), pages)
        rows = list(traffic.scalars(sa.select(L).where(*where).order_by(L.id)
                                    .offset((page - 1) * PER_PAGE).limit(PER_PAGE)))
        traffic.expunge_all()
    return CallPage(run.id, status, page, pages, total, rows, first)


@bp.get("/runs/<int:run_id>/calls")
@role_required(*VIEW)
def run_calls(run_id: int):
    run = get_or_404(IntegrationSyncRun, run_id)
    status = request.args.get("status", "")
    status = status if status in FILTERS else ""
    page = request.args.get("page", type=bounded(1, 1_000_000))
    return render_template("partials/ops/run_calls.html", calls=calls_page(run, status, page), filters=FILTERS)
