"""Our side of a mapping: the internal lead fields each object type can fill, their kind, which are
required, and which transforms can produce each kind from which provider property types."""
from __future__ import annotations

from typing import NamedTuple


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
}

# Which transforms can fill a target kind, and which provider property types each transform reads.
TRANSFORMS_FOR_KIND: dict[str, tuple[str, ...]] = {
    "text": ("trim", "case", "concat", "split"), "email": ("email", "trim"), "phone": ("phone_e164", "trim"),
    "datetime": ("datetime_utc",), "number": ("decimal", "currency_convert"), "code": ("trim", "case"),
    "picklist": ("enum",), "owner": ("owner_name",), "stage": ("stage_label", "stage_state"),
    "pipeline": ("pipeline_label",),
}
READS: dict[str, tuple[str, ...]] = {
    "trim": ("string", "enumeration", "number", "phone_number"), "case": ("string", "enumeration"),
    "concat": ("string",), "split": ("string",), "email": ("string",), "phone_e164": ("string", "phone_number"),
    "datetime_utc": ("datetime", "date"), "decimal": ("number",), "currency_convert": ("number",),
    "enum": ("enumeration",), "owner_name": ("enumeration", "string", "number"),
    "stage_label": ("enumeration",), "stage_state": ("enumeration",), "pipeline_label": ("enumeration",),
}


def target(object_type: str, name: str) -> Target | None:
    return next((t for t in TARGETS.get(object_type, []) if t.name == name), None)


def label_of(object_type: str, name: str) -> str:
    """A target's label for people ("Email"), never its column name; unknown names are shown as given."""
    tgt = target(object_type, name)
    return tgt.label if tgt else name


def plain_reason(object_type: str, reason: str) -> str:
    """A failure reason with each leading column name ("email: not a valid…") replaced by its label."""
    parts = []
    for part in (reason or "").split("; "):
        name, sep, rest = part.partition(": ")
        parts.append(f"{label_of(object_type, name)}: {rest}" if sep and target(object_type, name) else part)
    return "; ".join(parts)
