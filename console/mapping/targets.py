"""Our side of a mapping: the internal lead fields each object type can fill, their kind, which are
required, and which transforms can produce each kind from which provider property types.

A target named `f.<property>` is one of the record's own fields, kept in the lead's `attributes` (products,
line items, tickets and custom objects have no lead column of their own); a custom object's targets come
from its schema as the connection stored it (models.IntegrationObjectType)."""
from __future__ import annotations

from typing import NamedTuple

import sqlalchemy as sa

from ..extensions import db
from ..models import IntegrationObjectType
from . import vocabulary

ATTRIBUTE = "f."  # the prefix of a target kept in the lead's attributes


class Target(NamedTuple):
    name: str
    label: str
    kind: str  # text | email | phone | datetime | number | code | picklist | owner | stage | pipeline
    required: bool = False


_PERSON = [Target("email", "Email", "email", True), Target("first_name", "First name", "text"),
           Target("last_name", "Last name", "text"), Target("phone", "Phone", "phone"),
           Target("company_name", "Company", "text"), Target("lifecycle_stage", "Lifecycle stage", "picklist"),
           Target("lead_status", "Lead status", "picklist")]
_TAIL = [Target("owner_external_id", "Owner id", "code"), Target("owner_name", "Owner name", "owner"),
         Target("source_attribution", "Lead source", "picklist"),
         Target("next_activity_at", "Next activity", "datetime"),
         Target("provider_created_at", "Created at", "datetime"),
         Target("provider_updated_at", "Last modified at", "datetime")]
TARGETS: dict[str, list[Target]] = {
    "contacts": [*_PERSON, *_TAIL],
    "companies": [Target("company_name", "Company", "text", True), Target("domain", "Domain", "code"), *_TAIL[:2],
                  *_TAIL[4:]],
    "deals": [Target("deal_name", "Deal name", "text", True), Target("amount", "Amount", "number"),
              Target("currency", "Currency", "code"), Target("amount_base", "Amount in base currency", "number"),
              Target("pipeline", "Pipeline", "pipeline"), Target("deal_stage", "Deal stage", "stage", True),
              Target("deal_state", "Open, won or lost", "stage"), *_TAIL],
    "products": [Target("f.name", "Name", "text", True), Target("f.price", "Unit price", "number"),
                 Target("f.hs_sku", "SKU", "code"), *_TAIL[4:]],
    "line_items": [Target("f.name", "Name", "text", True), Target("f.hs_product_id", "Product id", "code"),
                   Target("f.quantity", "Quantity", "number"), Target("f.price", "Unit price", "number"),
                   Target("f.amount", "Net price", "number"), *_TAIL[4:]],
    "tickets": [Target("f.subject", "Subject", "text", True), Target("f.hs_pipeline", "Pipeline", "picklist"),
                Target("f.hs_pipeline_stage", "Status", "picklist", True),
                Target("f.hs_ticket_priority", "Priority", "picklist"), *_TAIL[:2], *_TAIL[4:]],
}

# Which transforms can fill a target kind, and which provider property types each transform reads.
TRANSFORMS_FOR_KIND: dict[str, tuple[str, ...]] = {
    "text": ("trim", "case", "concat", "split"), "email": ("email", "trim"), "phone": ("phone_e164", "trim"),
    "datetime": ("datetime_utc",), "number": ("decimal", "currency_convert"), "code": ("trim", "case"),
    "picklist": ("enum",), "owner": ("owner_name",), "stage": ("stage_label", "stage_state"),
    "pipeline": ("pipeline_label",),
}
# A field kept in the attributes document is stored as JSON holds it (a date as ISO 8601 text): besides its
# kind's transforms it takes these, so a text property whose values are dates can be read as dates.
ATTRIBUTE_TRANSFORMS = ("trim", "case", "datetime_utc", "decimal", "enum")


def transforms_for(tgt: Target) -> tuple[str, ...]:
    """The transforms that can fill a target, its kind's first."""
    own = TRANSFORMS_FOR_KIND[tgt.kind]
    if not tgt.name.startswith(ATTRIBUTE):
        return own
    return own + tuple(t for t in ATTRIBUTE_TRANSFORMS if t not in own)


READS: dict[str, tuple[str, ...]] = {
    "trim": ("string", "enumeration", "number", "phone_number"), "case": ("string", "enumeration"),
    "concat": ("string",), "split": ("string",), "email": ("string",), "phone_e164": ("string", "phone_number"),
    "datetime_utc": ("datetime", "date"), "decimal": ("number",), "currency_convert": ("number",),
    "enum": ("enumeration",), "owner_name": ("enumeration", "string", "number"),
    "stage_label": ("enumeration",), "stage_state": ("enumeration",), "pipeline_label": ("enumeration",),
}


MAX_NAME = 78  # a target's name is at most 80 characters, "f." included


def custom_targets(row: IntegrationObjectType) -> list[Target]:
    """A custom object's targets: one per property of its stored schema (the record's own fields, its primary
    property required), then the owner and the times every record has."""
    words = vocabulary.of_connection(row.connection_id)  # the kinds of its types, the properties every record has
    out = [Target(ATTRIBUTE + p["name"], p.get("label") or p["name"], words.type_kinds.get(p.get("type", ""), "text"),
                  p["name"] == row.primary_property)
           for p in row.properties if p["name"] not in words.record_frame and p["name"] != words.record_id]
    return [*out, *(t for t in _TAIL if t.name in ("owner_external_id", "provider_created_at", "provider_updated_at"))]


def custom_type(connection_id: int | None, object_type: str) -> IntegrationObjectType | None:
    if connection_id is None or object_type in TARGETS:
        return None
    return db.session.scalar(sa.select(IntegrationObjectType).where(
        IntegrationObjectType.connection_id == connection_id, IntegrationObjectType.object_type == object_type))


def targets_of(object_type: str, connection_id: int | None = None) -> list[Target]:
    """Every field a mapping of this object type can fill (a custom object's: its schema's, as stored)."""
    if object_type in TARGETS:
        return TARGETS[object_type]
    row = custom_type(connection_id, object_type)
    return custom_targets(row) if row is not None else []


def target(object_type: str, name: str, connection_id: int | None = None) -> Target | None:
    """One target; a custom object's needs its connection (without it, its field reads as text)."""
    if object_type not in TARGETS and connection_id is None and name.startswith(ATTRIBUTE):
        return Target(name, name[len(ATTRIBUTE):].replace("_", " ").capitalize(), "text")
    return next((t for t in targets_of(object_type, connection_id) if t.name == name), None)


def label_of(object_type: str, name: str, connection_id: int | None = None) -> str:
    """A target's label for people ("Email"), never its column name; unknown names are shown as given."""
    tgt = target(object_type, name, connection_id)
    return tgt.label if tgt else name


def plain_reason(object_type: str, reason: str) -> str:
    """A failure reason with each leading column name ("email: not a valid…") replaced by its label."""
    parts = []
    for part in (reason or "").split("; "):
        name, sep, rest = part.partition(": ")
        parts.append(f"{label_of(object_type, name)}: {rest}" if sep and target(object_type, name) else part)
    return "; ".join(parts)
