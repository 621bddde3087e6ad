"""The audit log, filterable, newest first."""
from __future__ import annotations

from datetime import datetime, time
from typing import Any

import sqlalchemy as sa
from flask import request

from ..auth.access import role_required
from ..choices import Role
from ..extensions import db
from ..htmx import render
from ..models import Client, EventAdminAction, IntegrationConnection, User
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
    rows = rows[:PAGE_SIZE]
    return render("admin/audit.html", "partials/admin/audit_table.html", status=status, form=form, rows=rows,
                  names=target_names(rows), page_no=page, has_next=len(rows) > PAGE_SIZE)


# How a target is named in words: its kind, and the column that names it.
TARGETS: dict[str, tuple[str, Any, str]] = {"users": ("user", User, "name"), "clients": ("client", Client, "name"),
           "integration_connections": ("connection", IntegrationConnection, "name")}


def target_names(rows: list[EventAdminAction]) -> dict[int, str]:
    """Each row's target in words ("user Ana Ruiz", "connection Northwind CRM"), one query per kind; a
    kind without a name column, or a row gone since, is named by kind and number ("sync error #12")."""
    wanted: dict[str, set[int]] = {}
    for row in rows:
        if row.target_type in TARGETS and row.target_id and row.target_id.isdigit():
            wanted.setdefault(row.target_type, set()).add(int(row.target_id))
    found: dict[tuple[str, str], str] = {}
    for kind, ids in wanted.items():
        _, model, column = TARGETS[kind]
        for ident, name in db.session.execute(sa.select(model.id, getattr(model, column)).where(model.id.in_(ids))):
            found[(kind, str(ident))] = name
    out = {}
    for row in rows:
        if not row.target_type:
            continue
        noun = TARGETS[row.target_type][0] if row.target_type in TARGETS else \
            row.target_type.replace("integration_", "").replace("crm_", "").rstrip("s").replace("_", " ")
        name = found.get((row.target_type, row.target_id or ""))
        out[row.id] = f"{noun} {name}" if name else f"{noun} #{row.target_id}" if row.target_id else noun
    return out
