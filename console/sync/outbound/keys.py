"""What the outbound push decides with: the CRM keys a new record is matched on, the plan for one lead,
the hash the write ledger keeps of a written value, and how a write is described in a run's outcomes."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ...choices import ChangeStatus
from ...mapping.mapper import FieldRule
from ...models import CrmLead, CrmLeadChange

GROUP = 100  # leads per group: one batch read, one write call of each kind, one commit
MAX_ATTEMPTS = 5
CONSOLE_ID_PROPERTY = "connector_console_id"  # our id, written to the CRM: deals upsert on it
# What a record created from the console may be matched on in the CRM: CRM property -> the lead field
# holding its value (None: the lead's own id, written to CONSOLE_ID_PROPERTY).
MATCH_KEYS: dict[str, dict[str, str | None]] = {
    "contacts": {"email": "email", CONSOLE_ID_PROPERTY: None},
    "companies": {"domain": "domain", CONSOLE_ID_PROPERTY: None},
    "deals": {CONSOLE_ID_PROPERTY: None},
}
DEFAULT_MATCH = {"contacts": ("email",), "companies": ("domain",), "deals": (CONSOLE_ID_PROPERTY,)}
DUE = (ChangeStatus.PENDING.value, ChangeStatus.FAILED.value)


def value_hash(value: str | None) -> str:
    return hashlib.sha256(("" if value is None else value).encode()).hexdigest()


def match_keys(object_type: str, match_on: str | None) -> tuple[str, ...]:
    """The CRM properties a new record is matched on, in order: the job's choice (from the wizard, which
    the intake's matching rules pre-fill), or the object's usual key."""
    known = MATCH_KEYS.get(object_type, {CONSOLE_ID_PROPERTY: None})
    chosen = tuple(dict.fromkeys(k.strip() for k in (match_on or "").split(",") if k.strip() in known))
    return chosen or DEFAULT_MATCH.get(object_type, (CONSOLE_ID_PROPERTY,))


def match_for(lead: CrmLead, keys: tuple[str, ...], console_id_property: bool) -> tuple[str, str] | None:
    """The first of the job's match keys a new record has a value for: (CRM property, value)."""
    fields = MATCH_KEYS.get(lead.object_type, {})
    for prop in keys:
        lead_field = fields.get(prop)
        if lead_field is None and console_id_property:
            return prop, str(lead.id)
        if lead_field is not None and (value := getattr(lead, lead_field)):
            return prop, str(value)
    return None


def unmatched(object_type: str, keys: tuple[str, ...], console_id_property: bool) -> str:
    """Why a new record cannot be created in the CRM: it has none of the keys it may be matched on."""
    needs = [match_label(k) for k in keys if MATCH_KEYS.get(object_type, {}).get(k) is not None]
    if CONSOLE_ID_PROPERTY in keys and not console_id_property:
        return (f"a new record needs {' or '.join(needs) + ', or ' if needs else ''}the {CONSOLE_ID_PROPERTY} "
                f"property in the CRM to match {object_type} on; create it in the wizard's mapping step")
    return f"a new record needs its {' or '.join(needs)} to be created in the CRM"


def match_label(key: str) -> str:
    return "our id" if key == CONSOLE_ID_PROPERTY else key


@dataclass
class LeadPlan:
    """What the push decided for one lead."""

    lead: CrmLead
    changes: list[CrmLeadChange]
    properties: dict[str, str] = field(default_factory=dict)
    texts: dict[str, str | None] = field(default_factory=dict)  # property -> the console value it carries
    written: list[CrmLeadChange] = field(default_factory=list)  # changes the write carries
    skipped: int = 0      # writes a condition or the system of record decided against
    failed: str = ""      # why the lead cannot be written at all
    key: tuple[str, str] | None = None  # a new record's match: (CRM property, value)


def sources_of(rule: FieldRule) -> list[str]:
    return [rule.args.get("currency_field", "")] if rule.transform == "currency_convert" else []


def describe(plan: LeadPlan, sensitive: set[str], notes: list[str]) -> str:
    """What a write carries (values of sensitive properties masked) and why any field was not written:
    the run's outcome for the record, which an outbound dry run shows."""
    parts = []
    if plan.properties:
        parts.append("writes " + ", ".join(f"{name}={'(sensitive)' if name in sensitive else repr(value)}"
                                           for name, value in sorted(plan.properties.items())))
    parts += notes
    return ("; ".join(parts) or "nothing to write")[:500]


def at_ms(ms: int) -> datetime:
    """Epoch milliseconds as a naive UTC datetime, exactly (no float rounding)."""
    return datetime(1970, 1, 1) + timedelta(milliseconds=ms)

