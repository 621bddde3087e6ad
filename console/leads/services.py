"""Leads as staff see them, corrections of their two-way fields, and sync conflicts.

A correction changes the lead at once and queues its outbound write (sync/outbound/changes.py); only fields the
mapping writes to the CRM (direction out or both, a transform with an exact inverse) of an object type
that pushes can be corrected: any other field would be overwritten by the next inbound sync."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from .. import audit
from ..choices import PUSHING, ChangeStatus
from ..connectors.base import ConnectorError
from ..extensions import db
from ..mapping import objects
from ..mapping.mapper import FieldRule, MappingSpec
from ..mapping.outbound import NotWritable, console_value, provider_value, text_of, writable
from ..mapping.service import load_spec
from ..mapping.targets import ATTRIBUTE, label_of
from ..models import (
    CrmLead,
    CrmLeadChange,
    CrmLeadEvent,
    CrmLeadLink,
    CrmSyncConflict,
    IntegrationConnection,
    IntegrationSyncError,
    IntegrationSyncJob,
)
from ..models.base import changed_rows, require, utcnow
from ..refusals import Refused
from ..sync import catalogue
from ..sync.outbound.changes import provider_id, record_change, record_link, record_unheld_change

PAGE = 50
REFERENCE_TRANSFORMS = {"stage_label", "pipeline_label"}


@dataclass
class Editable:
    """A lead field a person may correct: its rule, label and current value in text form."""

    rule: FieldRule
    label: str
    value: str | None
    choices: list[str]


def search(connection_id: int | None, query: str, page: int = 1) -> tuple[list[CrmLead], bool]:
    """Leads by email or name (newest first), PAGE at a time; and whether there are more."""
    stmt = sa.select(CrmLead).order_by(CrmLead.id.desc())
    if connection_id:
        stmt = stmt.where(CrmLead.connection_id == connection_id)
    text = query.strip()[:120]
    if text:
        like = f"%{text.replace('%', '').replace('_', '')}%"
        stmt = stmt.where(sa.or_(CrmLead.email.like(like), CrmLead.first_name.like(like), CrmLead.last_name.like(like),
                                 CrmLead.company_name.like(like), CrmLead.deal_name.like(like),
                                 CrmLead.external_id == text))
    rows = db.session.scalars(stmt.offset((page - 1) * PAGE).limit(PAGE + 1)).all()
    return list(rows[:PAGE]), len(rows) > PAGE


def pushes(lead: CrmLead) -> bool:
    direction = db.session.scalar(sa.select(IntegrationSyncJob.direction).where(
        IntegrationSyncJob.connection_id == lead.connection_id, IntegrationSyncJob.object_type == lead.object_type))
    return direction in PUSHING


def spec_for(lead: CrmLead, conn: IntegrationConnection) -> MappingSpec:
    spec = load_spec(conn.id, lead.object_type)
    if any(r.outbound and r.transform in REFERENCE_TRANSFORMS for r in spec.rules):
        try:
            spec.reference = catalogue.reference(conn)
        except ConnectorError as exc:
            raise Refused(f"The CRM's stages could not be read ({exc}); try again shortly.") from exc
    return spec


def record_title(lead: CrmLead) -> str:
    """"Lead #12" for the console's people, organisations and deals; "Booking #12" for the other kinds."""
    kind = objects.kind(lead.object_type, lead.connection_id)
    return f"{'Lead' if kind.name in objects.CORE else kind.singular} #{lead.id}"


def own_fields(lead: CrmLead) -> list[tuple[str, Any]]:
    """A record's own fields (a product's, a ticket's, a custom object's), labelled; a field mapped as
    sensitive is left out, as sensitive lead columns are."""
    hidden = {r.target[len(ATTRIBUTE):] for r in load_spec(lead.connection_id, lead.object_type).rules if r.sensitive}
    return [(label_of(lead.object_type, ATTRIBUTE + name, lead.connection_id), value)
            for name, value in (lead.attributes or {}).items() if name not in hidden and value not in (None, "")]


def editable(lead: CrmLead, spec: MappingSpec) -> list[Editable]:
    """The lead's fields that a correction may change (none when the object type does not push)."""
    if not pushes(lead):
        return []
    out = []
    for rule in spec.outbound_rules:
        if not writable(rule):
            continue
        choices = sorted({v[0] for k, v in spec.enums.items() if k[0] == rule.source and v[0] and not v[1]}) \
            if rule.transform == "enum" else []
        out.append(Editable(rule, label_of(lead.object_type, rule.target), text_of(getattr(lead, rule.target)), choices))
    return out


def correct(lead: CrmLead, field: str, raw: str, user: Any) -> CrmLeadChange:
    """Set a two-way field from a person's input, validated as the CRM's value would be; audited.
    Refused (nothing changed) when the field is not writable or the value is not valid for it."""
    conn = require(IntegrationConnection, lead.connection_id)
    spec = spec_for(lead, conn)
    found = next((e for e in editable(lead, spec) if e.rule.target == field), None)
    if found is None:
        raise Refused("This field is not written back to the CRM: correct it there, and the next sync brings it here.",
                      field="field")
    value = normalized(found.rule, spec, raw)
    change = record_change(lead, field, value, "lead_page", getattr(user, "id", None))
    if change is None:
        raise Refused("The lead already holds this value.", field="value")
    audit.record("lead.corrected", lead, actor=user, field=field, connection_id=lead.connection_id)
    db.session.commit()
    return change


# Control characters (NUL, escapes) and the bidirectional overrides and isolates that make a value read
# differently from what it is: never queued for the client's CRM.
UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")


def normalized(rule: FieldRule, spec: MappingSpec, raw: str) -> str | None:
    """A person's input as the field's value in text form, exactly as it would map back from the CRM."""
    text = (raw or "").strip()
    if not text:
        if rule.required:
            raise Refused(f"{label_of(spec.object_type, rule.target)} is required.", field="value")
        return None
    if len(text) > 500:
        raise Refused("The value is too long (500 characters at most).", field="value")
    if (bad := UNSAFE.search(text)) is not None:
        raise Refused(f"The value holds a control or text-direction character (U+{ord(bad.group()):04X}); "
                      "nothing was changed. Type it again without it.", field="value")
    if rule.transform == "datetime_utc":
        try:
            text = text_of(datetime.fromisoformat(text)) or ""
        except ValueError:
            raise Refused("Enter a date and time, such as 2026-12-31 09:30.", field="value") from None
    try:
        mapped = console_value(rule, spec, {rule.source: provider_value(rule, spec, text)})
    except (NotWritable, ValueError) as exc:
        raise Refused(str(exc)[:200] or "This value cannot be written to the CRM.", field="value") from None
    if mapped is None:
        raise Refused(f"Not a valid {label_of(spec.object_type, rule.target).lower()}.", field="value")
    return mapped


def history(lead: CrmLead) -> tuple[list[CrmLeadChange], list[CrmSyncConflict], list[CrmLeadEvent]]:
    changes = db.session.scalars(sa.select(CrmLeadChange).where(CrmLeadChange.lead_id == lead.id)
                                 .order_by(CrmLeadChange.id.desc()).limit(50)).all()
    conflicts = db.session.scalars(sa.select(CrmSyncConflict).where(CrmSyncConflict.lead_id == lead.id)
                                   .order_by(CrmSyncConflict.id.desc()).limit(50)).all()
    events = db.session.scalars(sa.select(CrmLeadEvent).where(CrmLeadEvent.lead_id == lead.id)
                                .order_by(CrmLeadEvent.id.desc()).limit(50)).all()
    return list(changes), list(conflicts), list(events)


def conflicts(connection_id: int | None, page: int = 1) -> tuple[list[CrmSyncConflict], bool]:
    stmt = sa.select(CrmSyncConflict).order_by(CrmSyncConflict.id.desc())
    if connection_id:
        stmt = stmt.where(CrmSyncConflict.connection_id == connection_id)
    rows = db.session.scalars(stmt.offset((page - 1) * PAGE).limit(PAGE + 1)).all()
    return list(rows[:PAGE]), len(rows) > PAGE


def apply_other(conflict: CrmSyncConflict, user: Any) -> CrmLeadChange | None:
    """Put the losing side's value on the lead and queue it for the CRM (a person overrides the system
    of record for this one conflict); audited, once."""
    if conflict.overridden_at is not None:
        raise Refused("The other value was applied already.")
    lead = db.session.get(CrmLead, conflict.lead_id)
    if lead is None:
        raise Refused("The lead no longer exists.")
    conn = require(IntegrationConnection, lead.connection_id)
    if not any(e.rule.target == conflict.field for e in editable(lead, spec_for(lead, conn))):
        raise Refused("This field no longer writes to the CRM (its direction or the object's changed since); "
                      "nothing was applied.")
    # Claimed with a conditional UPDATE: of eight clicks at once, one applies (one change, one audit row).
    now, by = utcnow(), getattr(user, "id", None)
    won = changed_rows(db.session.execute(sa.update(CrmSyncConflict).where(
        CrmSyncConflict.id == conflict.id, CrmSyncConflict.overridden_at.is_(None))
        .values(overridden_at=now, overridden_by_user_id=by).execution_options(synchronize_session=False)))
    if won != 1:
        db.session.rollback()
        raise Refused("The other value was applied already.")
    other = conflict.provider_value if conflict.winner == "console" else conflict.console_value
    change = record_change(lead, conflict.field, other, "conflict", by)
    conflict.overridden_at, conflict.overridden_by_user_id = now, by
    audit.record("conflict.other_applied", conflict, actor=user, field=conflict.field, lead_id=lead.id)
    db.session.commit()
    return change


def replay(change: CrmLeadChange, user: Any) -> None:
    """A failed or dead-lettered change goes out again on the next push, its attempts counted afresh."""
    if change.status not in (ChangeStatus.FAILED.value, ChangeStatus.DEAD_LETTER.value):
        raise Refused("Only a failed or dead-lettered change can be replayed.")
    change.status, change.attempts, change.note = ChangeStatus.PENDING.value, 0, "replayed"
    audit.record("lead_change.replayed", change, actor=user, lead_id=change.lead_id, field=change.field)
    db.session.commit()


def associate(lead: CrmLead, target_ref: str, label: str, user: Any) -> CrmLeadLink:
    """Associate `lead` with another lead of its connection, named by lead number (#12), the CRM's id or
    email; written to the CRM by the next push of the lead's object type. Audited."""
    if not pushes(lead):
        raise Refused("This connection writes none of these records to the CRM.", field="target")
    ref = (target_ref or "").strip()[:254]
    if not ref:
        raise Refused("Name the other record: its lead number (#12), its CRM id or its email.", field="target")
    found = sa.select(CrmLead).where(CrmLead.connection_id == lead.connection_id, CrmLead.id != lead.id)
    number = ref.lstrip("#")
    target = None
    if ref.startswith("#") and number.isdigit() and len(number) < 12:
        target = db.session.scalar(found.where(CrmLead.id == int(number)))
    target = target or db.session.scalar(found.where(sa.or_(CrmLead.external_id == ref, CrmLead.email == ref.lower()))
                                         .order_by(CrmLead.id).limit(1))
    if target is None:
        raise Refused(f"No record '{ref[:60]}' in this connection.", field="target")
    link = record_link(lead, target, label, getattr(user, "id", None))
    if link is None:
        raise Refused("These records are associated already (or waiting to be).", field="target")
    audit.record("lead.associated", lead, actor=user, target_lead_id=target.id, label=link.label)
    db.session.commit()
    return link


def links(lead: CrmLead) -> list[tuple[CrmLeadLink, CrmLead | None]]:
    rows = db.session.scalars(sa.select(CrmLeadLink).where(CrmLeadLink.from_lead_id == lead.id)
                              .order_by(CrmLeadLink.id.desc()).limit(50)).all()
    targets = {t.id: t for t in db.session.scalars(sa.select(CrmLead).where(
        CrmLead.id.in_([r.to_lead_id for r in rows])))} if rows else {}
    return [(r, targets.get(r.to_lead_id)) for r in rows]


# A failure a person can fix at the source from its sync error: failure code -> the field to correct.
CORRECTABLE = {"invalid_email": "email"}


def source_fix(err: IntegrationSyncError) -> tuple[FieldRule, MappingSpec] | None:
    """The rule through which this error's record can be corrected in the CRM, when its object type pushes
    and the failing field is written back; None otherwise."""
    field = CORRECTABLE.get(err.code)
    job = db.session.scalar(sa.select(IntegrationSyncJob).where(
        IntegrationSyncJob.connection_id == err.connection_id, IntegrationSyncJob.object_type == err.object_type))
    if field is None or err.external_id is None or job is None or job.direction not in PUSHING:
        return None
    spec = load_spec(err.connection_id, err.object_type)
    rule = next((r for r in spec.outbound_rules if r.target == field and writable(r)), None)
    return (rule, spec) if rule is not None else None


def correct_at_source(err: IntegrationSyncError, raw: str, user: Any) -> CrmLeadChange:
    """Queue the corrected value of a record the console could not map (its email, say) for the next push,
    which writes it to the CRM by id; the sync after that reads the record and closes the error. Audited."""
    fix = source_fix(err)
    if fix is None:
        raise Refused("This record cannot be corrected from here: correct it in the CRM.")
    rule, spec = fix
    value = normalized(rule, spec, raw)
    change = record_unheld_change(err.connection_id, err.object_type, str(err.external_id), rule.target, value,
                                  "sync_error", getattr(user, "id", None))
    audit.record("sync_error.corrected_at_source", err, actor=user, field=rule.target, change_id=change.id)
    db.session.commit()
    return change


def connection_names() -> dict[int, str]:
    return dict(db.session.execute(sa.select(IntegrationConnection.id, IntegrationConnection.name)).all())


__all__ = ["Editable", "apply_other", "conflicts", "correct", "editable", "history", "provider_id", "search"]
