"""The client metrics, each read with aggregate SQL over a connection's clean (non-archived) records.

A reading carries the value, the rows a client sees under the card, the counts the status rules need,
and the source labels it counted: lead sources are never merged without saying which they are.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from ..extensions import db
from ..models import CrmAssociation, CrmLead, IntegrationFieldMapping, IntegrationSyncJob

DUE_WINDOW = timedelta(days=7)


@dataclass
class Reading:
    value: Decimal
    total: int
    rows: list[dict] = field(default_factory=list)  # {"label", "count", "amount"?} shown under the card
    facts: dict[str, int] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)

    def as_breakdown(self) -> dict:
        return {"total": self.total, "rows": self.rows, "facts": self.facts, "sources": self.sources}

    @classmethod
    def from_breakdown(cls, value: Decimal, data: dict | None) -> Reading:
        data = data or {}
        return cls(value, int(data.get("total", 0)), list(data.get("rows", [])), dict(data.get("facts", {})),
                   list(data.get("sources", [])))


def _live(connection_id: int, object_type: str) -> sa.ColumnElement[bool]:
    return sa.and_(CrmLead.connection_id == connection_id, CrmLead.object_type == object_type,
                   CrmLead.archived.is_(False))


def _sources(connection_id: int, object_type: str) -> list[str]:
    return list(db.session.scalars(sa.select(CrmLead.source_label).where(_live(connection_id, object_type))
                                   .distinct().order_by(CrmLead.source_label)))


def synced_types(connection_id: int) -> frozenset[str]:
    """The object types the connection syncs (its enabled jobs): which metrics apply to it."""
    return frozenset(db.session.scalars(sa.select(IntegrationSyncJob.object_type).where(
        IntegrationSyncJob.connection_id == connection_id, IntegrationSyncJob.enabled.is_(True))))


def record_count(object_type: str) -> Callable[[int, datetime], Reading]:
    """A reader of how many current records of one kind a connection holds."""
    def read(connection_id: int, now: datetime) -> Reading:
        total = db.session.scalar(sa.select(sa.func.count()).select_from(CrmLead).where(
            _live(connection_id, object_type))) or 0
        return Reading(Decimal(total), total, [], {}, _sources(connection_id, object_type))
    return read


def percent(part: int, whole: int) -> Decimal:
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1")) if whole else Decimal(0)


def lead_owner(connection_id: int, now: datetime) -> Reading:
    total, owned = db.session.execute(
        sa.select(sa.func.count(), sa.func.count(CrmLead.owner_external_id)).where(_live(connection_id, "contacts"))
    ).one()
    unassigned = total - owned
    return Reading(percent(owned, total), total,
                   [{"label": "Leads with an owner", "count": owned}, {"label": "Unassigned leads", "count": unassigned}],
                   {"unassigned": unassigned}, _sources(connection_id, "contacts"))


def follow_up(connection_id: int, now: datetime) -> Reading:
    at = CrmLead.next_activity_at
    counts = db.session.execute(sa.select(
        sa.func.count(),
        sa.func.sum(sa.case((at < now, 1), else_=0)),
        sa.func.sum(sa.case((sa.and_(at >= now, at <= now + DUE_WINDOW), 1), else_=0)),
        sa.func.sum(sa.case((at > now + DUE_WINDOW, 1), else_=0)),
    ).where(_live(connection_id, "contacts"))).one()
    total, overdue, due, later = (int(c or 0) for c in counts)
    none = total - overdue - due - later
    rows = [{"label": "Follow-up overdue", "count": overdue}, {"label": "Follow-up due in the next 7 days", "count": due},
            {"label": "Follow-up booked later", "count": later}, {"label": "No next step booked", "count": none}]
    return Reading(percent(due + later, total), total, rows, {"overdue": overdue, "none": none},
                   _sources(connection_id, "contacts"))


def source_attribution(connection_id: int, now: datetime) -> Reading:
    grouped = db.session.execute(
        sa.select(CrmLead.source_label, CrmLead.source_attribution, sa.func.count())
        .where(_live(connection_id, "contacts"))
        .group_by(CrmLead.source_label, CrmLead.source_attribution)
    ).all()
    total = sum(n for *_, n in grouped)
    unknown = sum(n for _, attribution, n in grouped if attribution is None)
    rows: list[dict[str, Any]] = sorted(
        ({"label": f"{attribution or 'Source not recorded'} ({label})", "count": n} for label, attribution, n in grouped),
        key=lambda r: (-r["count"], r["label"]))
    return Reading(percent(total - unknown, total), total, rows, {"unknown": unknown},
                   sorted({label for label, *_ in grouped}))


def open_pipeline(connection_id: int, now: datetime) -> Reading:
    """Open deals by stage. A deal whose stage state is not known (a custom mapping without it) counts as open."""
    is_open = sa.or_(CrmLead.deal_state == "open", CrmLead.deal_state.is_(None))
    grouped = db.session.execute(
        sa.select(CrmLead.pipeline, CrmLead.deal_stage, sa.func.count(), sa.func.sum(CrmLead.amount_base))
        .where(_live(connection_id, "deals"), is_open)
        .group_by(CrmLead.pipeline, CrmLead.deal_stage)
    ).all()
    total = sum(n for *_, n, _ in grouped)
    value = sum((amount or Decimal(0) for *_, amount in grouped), Decimal(0))
    rows: list[dict[str, Any]] = sorted(
        ({"label": f"{stage or 'No stage'} ({pipeline or 'No pipeline'})", "count": n,
          "amount": str((amount or Decimal(0)).quantize(Decimal("0.01")))} for pipeline, stage, n, amount in grouped),
        key=lambda r: (-Decimal(r["amount"]), r["label"]))
    return Reading(value.quantize(Decimal("0.01")), total, rows, {}, _sources(connection_id, "deals"))


TOP_COMPANIES = 10  # rows under the card; the rest are summed into one


def company_pipeline(connection_id: int, now: datetime) -> Reading:
    """Open deals by the company each belongs to, through the provider's associations (a deal with several
    companies counts once, under the first by id), and the share of the open value that has a company (by
    count when no deal has an amount). A company not synced yet still counts: the link is the provider's."""
    link, company = CrmAssociation, sa.orm.aliased(CrmLead)
    first = (sa.select(link.from_id, sa.func.min(link.to_id).label("company_id"))
             .where(link.connection_id == connection_id, link.from_type == "deals", link.to_type == "companies")
             .group_by(link.from_id).subquery())
    is_open = sa.or_(CrmLead.deal_state == "open", CrmLead.deal_state.is_(None))
    grouped = db.session.execute(
        sa.select(first.c.company_id, company.company_name, sa.func.count(), sa.func.sum(CrmLead.amount_base))
        .select_from(CrmLead)
        .outerjoin(first, first.c.from_id == CrmLead.external_id)
        .outerjoin(company, sa.and_(company.connection_id == connection_id, company.object_type == "companies",
                                    company.external_id == first.c.company_id, company.archived.is_(False)))
        .where(_live(connection_id, "deals"), is_open)
        .group_by(first.c.company_id, company.company_name)
    ).all()
    total = sum(n for *_, n, _ in grouped)
    money = sum((amount or Decimal(0) for *_, amount in grouped), Decimal(0))

    def weight(n: int, amount: Decimal | None) -> Decimal:
        return (amount or Decimal(0)) if money else Decimal(n)

    linked = [(name, n, amount or Decimal(0)) for company_id, name, n, amount in grouped if company_id is not None]
    without = [(n, amount or Decimal(0)) for company_id, _, n, amount in grouped if company_id is None]
    share = sum((weight(n, a) for _, n, a in linked), Decimal(0))
    whole = money if money else Decimal(total)
    linked.sort(key=lambda row: (-row[2], -row[1], row[0] or ""))
    currency = base_currency(connection_id)  # the rows are money although the value is a share

    def row(label: str, n: int, amount: Decimal) -> dict[str, Any]:
        return {"label": label, "count": n, "amount": str(amount.quantize(Decimal("0.01"))), "unit": currency}

    rows = [row(name or "A company not synced yet", n, amount) for name, n, amount in linked[:TOP_COMPANIES]]
    rest = linked[TOP_COMPANIES:]
    if rest:
        rows.append(row(f"{len(rest):,} other companies", sum(n for _, n, _ in rest), sum((a for *_, a in rest), Decimal(0))))
    missing = sum(n for n, _ in without)
    if missing:
        rows.append(row("No company", missing, sum((a for _, a in without), Decimal(0))))
    value = (share * 100 / whole).quantize(Decimal("0.1")) if whole else Decimal(0)
    return Reading(value, total, rows, {"without_company": missing, "companies": len(linked)},
                   _sources(connection_id, "deals"))


def base_currency(connection_id: int) -> str:
    """The currency deal amounts are converted into (the mapping's base), CAD by default."""
    args = db.session.scalar(sa.select(IntegrationFieldMapping.transform_args).where(
        IntegrationFieldMapping.connection_id == connection_id, IntegrationFieldMapping.target_field == "amount_base"))
    return str((args or {}).get("base") or "CAD").upper()[:3]
