"""The audit log, filterable, newest first."""
from __future__ import annotations

from datetime import datetime, time

import sqlalchemy as sa
from flask import request

from ..auth.access import role_required
from ..choices import Role
from ..extensions import db
from ..htmx import render
from ..models import EventAdminAction
from ..params import bounded
from . import bp
from .forms import AuditFilterForm

PAGE_SIZE = 50


def _query(form: AuditFilterForm) -> sa.Select:
    q = sa.select(EventAdminAction).order_by(EventAdminAction.created_at.desc(), EventAdminAction.id.desc())
    if form.action.data:
        q = q.where(EventAdminAction.action.startswith(form.action.data.strip()))
    if form.actor.data:
        q = q.where(EventAdminAction.actor_email == form.actor.data.strip().lower())
    if form.target_type.data:
        q = q.where(EventAdminAction.target_type == form.target_type.data.strip())
    if form.since.data:
        q = q.where(EventAdminAction.created_at >= datetime.combine(form.since.data, time.min))
    if form.until.data:
        q = q.where(EventAdminAction.created_at <= datetime.combine(form.until.data, time.max))
    return q


@bp.get("/audit")
@role_required(Role.ADMIN)
def audit():
    form = AuditFilterForm(request.args)
    valid = form.validate()
    page = max(request.args.get("page", 1, type=bounded(1, 1_000_000)), 1)
    rows = []
    if valid:
        rows = list(db.session.scalars(_query(form).limit(PAGE_SIZE + 1).offset((page - 1) * PAGE_SIZE)))
    status = 200 if valid else 422
    return render("admin/audit.html", "partials/admin/audit_table.html", status=status,
                  form=form, rows=rows[:PAGE_SIZE], page_no=page, has_next=len(rows) > PAGE_SIZE)
