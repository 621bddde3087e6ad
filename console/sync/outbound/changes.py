"""Console-side changes to leads: the lead takes the new value at once and an outbox row waits for the
outbound push. Several edits of one field before a push are one change: the last value, and the value
the console held before the first edit (what it believed the CRM held), so a conflict is still seen."""
from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa

from ...choices import ChangeStatus
from ...extensions import db
from ...mapping.outbound import text_of
from ...models import CrmAssociation, CrmLead, CrmLeadChange, CrmLeadEvent, CrmLeadLink
from ...models.base import utcnow
from ...refusals import Refused

PLACEHOLDER = "console:"  # external id of a lead created on the console side, until the CRM gives it one
DECIMAL_FIELDS = {"amount", "amount_base"}
DATETIME_FIELDS = {"next_activity_at", "provider_created_at", "provider_updated_at"}
# The associations the console writes, each pushed with its "from" object type (after the records).
LINKABLE = {("contacts", "companies"), ("deals", "contacts")}


def held(link: CrmLeadLink, source: CrmLead, target: CrmLead) -> bool:
    """Whether the CRM holds the link's association as last read (crm_associations, either direction;
    a label as a USER_DEFINED type of that label, no label as any type of the pair)."""
    a = CrmAssociation
    pair = sa.or_(sa.and_(a.from_type == source.object_type, a.from_id == source.external_id,
                          a.to_type == target.object_type, a.to_id == target.external_id),
                  sa.and_(a.from_type == target.object_type, a.from_id == target.external_id,
                          a.to_type == source.object_type, a.to_id == source.external_id))
    kind = a.label == link.label if link.label else sa.true()
    return db.session.scalar(sa.select(a.id).where(a.connection_id == link.connection_id, pair, kind).limit(1)) is not None


def placeholder_id() -> str:
    return PLACEHOLDER + uuid.uuid4().hex


def provider_id(lead: CrmLead) -> str | None:
    """The CRM's id of a lead, or None while it exists only on the console side."""
    return None if lead.external_id.startswith(PLACEHOLDER) else lead.external_id


def from_text(field: str, text: str | None) -> Any:
    """A field's text form (mapping.outbound.text_of) as the lead column's value."""
    if text is None:
        return None
    if field in DECIMAL_FIELDS:
        try:
            return Decimal(text).quantize(Decimal("0.01"))
        except InvalidOperation as exc:
            raise ValueError(f"{text[:40]!r} is not a number") from exc
    if field in DATETIME_FIELDS:
        return datetime.fromisoformat(text).replace(tzinfo=None)
    return text


def record_change(lead: CrmLead, field: str, value: Any, origin: str, user_id: int | None = None,
                  when: datetime | None = None) -> CrmLeadChange | None:
    """Set `field` on `lead` and queue its outbound write (flushed, not committed). Returns the change,
    or None when the value is what the lead already holds. A value back at the waiting change's base (B, X,
    then B again) withdraws the change: the console believes the CRM holds B, so it has nothing to write,
    and an edit made in the CRM meanwhile is taken as it is instead of being overwritten with B."""
    old, new = text_of(getattr(lead, field)), text_of(value)
    if old == new:
        return None
    when = when or utcnow()
    setattr(lead, field, from_text(field, new))
    lead.updated_at = when
    pending = db.session.scalar(sa.select(CrmLeadChange).where(
        CrmLeadChange.lead_id == lead.id, CrmLeadChange.field == field,
        CrmLeadChange.status == ChangeStatus.PENDING.value).with_for_update())
    if pending is not None and new == pending.base_value:
        pending.value, pending.origin, pending.user_id, pending.updated_at = new, origin, user_id, when
        pending.status, pending.note = ChangeStatus.WITHDRAWN.value, "the field went back to its value before"
        change = pending
    elif pending is not None:
        pending.value, pending.origin, pending.user_id, pending.updated_at = new, origin, user_id, when
        change = pending
    else:
        change = CrmLeadChange(connection_id=lead.connection_id, object_type=lead.object_type, lead_id=lead.id,
                               field=field, value=new, base_value=old, origin=origin, user_id=user_id,
                               status=ChangeStatus.PENDING.value, created_at=when, updated_at=when)
        db.session.add(change)
    db.session.add(CrmLeadEvent(lead_id=lead.id, connection_id=lead.connection_id, kind="corrected", field=field,
                                old_value=None if old is None else old[:500], new_value=None if new is None else new[:500],
                                occurred_at=when, created_at=when))
    db.session.flush()
    return change


def record_unheld_change(connection_id: int, object_type: str, external_id: str, field: str, value: str | None,
                         origin: str, user_id: int | None = None) -> CrmLeadChange:
    """A change to a record the console does not hold (it failed mapping: the CRM holds an invalid
    email, say), named by the CRM's id; the push writes it by id and the next sync then reads the record
    as the CRM holds it. A waiting change of the same field is replaced (flushed, not committed)."""
    pending = db.session.scalar(sa.select(CrmLeadChange).where(
        CrmLeadChange.connection_id == connection_id, CrmLeadChange.object_type == object_type,
        CrmLeadChange.lead_id.is_(None), CrmLeadChange.external_id == external_id, CrmLeadChange.field == field,
        CrmLeadChange.status == ChangeStatus.PENDING.value).with_for_update())
    if pending is None:
        pending = CrmLeadChange(connection_id=connection_id, object_type=object_type, lead_id=None,
                                external_id=external_id, field=field, status=ChangeStatus.PENDING.value, attempts=0,
                                note="")
        db.session.add(pending)
    pending.value, pending.origin, pending.user_id = value, origin, user_id
    db.session.flush()
    return pending


def pending_fields(lead_ids: list[int]) -> dict[int, set[str]]:
    """For each lead, the fields with a console-side change still waiting for its outbound write."""
    if not lead_ids:
        return {}
    out: dict[int, set[str]] = {}
    for lead_id, field in db.session.execute(sa.select(CrmLeadChange.lead_id, CrmLeadChange.field).where(
            CrmLeadChange.lead_id.in_(lead_ids), CrmLeadChange.status.in_(
                [ChangeStatus.PENDING.value, ChangeStatus.FAILED.value]))):
        if lead_id is not None:
            out.setdefault(lead_id, set()).add(field)
    return out


def record_link(source: CrmLead, target: CrmLead, label: str = "", user_id: int | None = None) -> CrmLeadLink | None:
    """Associate two leads of one connection (flushed, not committed); None when they already are, with
    this label. Refused for a pair the console does not write (see LINKABLE) or across connections."""
    if source.connection_id != target.connection_id:
        raise Refused("Both records must belong to the same connection.", field="target")
    if (source.object_type, target.object_type) not in LINKABLE:
        pairs = ", ".join(f"{a} → {b}" for a, b in sorted(LINKABLE))
        raise Refused(f"A {source.object_type} record cannot be associated with a {target.object_type} record "
                      f"here; the console writes {pairs}.", field="target")
    label = (label or "").strip()[:120]
    link = db.session.scalar(sa.select(CrmLeadLink).where(
        CrmLeadLink.from_lead_id == source.id, CrmLeadLink.to_lead_id == target.id, CrmLeadLink.label == label))
    if link is not None:
        # Written, and still held by the CRM as last read: nothing to ask. Written but removed in the CRM since
        # (a person there decided so, and the console never writes it back by itself): asked again, it goes out.
        gone = link.status == ChangeStatus.WRITTEN.value
        if link.status == ChangeStatus.PENDING.value or (gone and held(link, source, target)):
            return None
        link.status, link.attempts = ChangeStatus.PENDING.value, 0
        link.note = "asked again (not held by the CRM as last read)" if gone else "asked again"
    else:
        link = CrmLeadLink(connection_id=source.connection_id, object_type=source.object_type, from_lead_id=source.id,
                           to_lead_id=target.id, label=label, user_id=user_id, status=ChangeStatus.PENDING.value,
                           attempts=0, note="")
        db.session.add(link)
    db.session.add(CrmLeadEvent(lead_id=source.id, connection_id=source.connection_id, kind="associated",
                                field=target.object_type, new_value=f"#{target.id}" + (f" ({label})" if label else ""),
                                occurred_at=utcnow(), created_at=utcnow()))
    db.session.flush()
    return link
