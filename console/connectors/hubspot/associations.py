"""Associations read from HubSpot (v4): every association of a page's records to another object type, labels
included, in batch reads of up to 1,000 records (and, for a record with more than HubSpot answers at once,
the pages that follow).

Each pair of object types is read in one direction only (HubSpot holds every association both ways, with a
type id per direction), so a run reads each association once: contacts → companies, deals → contacts,
deals → companies, line items → deals, tickets → contacts and companies, and a custom object → the
standard objects its schema associates it with. A record with no association (HubSpot answers it with an
error entry, or leaves it out) maps to an empty list: what it had before is gone."""
from __future__ import annotations

from typing import Any

from ..base import FatalError, Link
from .client import HubSpotClient

# object type -> the object types whose associations from it a sync reads
READ_FROM: dict[str, tuple[str, ...]] = {"contacts": ("companies",), "deals": ("contacts", "companies"),
                                         "line_items": ("deals",), "tickets": ("contacts", "companies")}
BATCH_READ = 1000
MAX_ID = 20  # HubSpot ids are decimal and well under 20 digits; anything else is not asked for
MAX_CURSOR = 1000  # a longer paging cursor is not one HubSpot makes: it ends that record's read


def read(client: HubSpotClient, from_type: str, to_type: str, ids: list[str]) -> dict[str, list[Link]]:
    """Every association of each record, however many: HubSpot answers at most PER_RECORD of one record at
    a time and names the rest by `paging.next.after`, which is asked for again (with the record's id) until
    no record has a next page. A cursor the provider repeats would loop for ever: the read fails instead."""
    wanted = [i for i in dict.fromkeys(ids) if i.isascii() and i.isdigit() and len(i) <= MAX_ID]
    found: dict[str, list[Link]] = {i: [] for i in wanted}
    inputs: list[dict[str, str]] = [{"id": i} for i in wanted]
    cursors: dict[str, set[str]] = {}
    while inputs:
        more: list[dict[str, str]] = []
        for start in range(0, len(inputs), BATCH_READ):
            body = {"inputs": inputs[start:start + BATCH_READ]}
            reply = client.post(f"/crm/v4/associations/{from_type}/{to_type}/batch/read", body) or {}
            for result in reply.get("results") or [] if isinstance(reply, dict) else []:
                origin = result.get("from") if isinstance(result, dict) else None
                from_id = str(origin.get("id", "")) if isinstance(origin, dict) else ""
                if from_id not in found or not isinstance(result.get("to"), list):
                    continue
                found[from_id] += _links(result["to"])
                after = _next_after(result.get("paging"))
                if after is not None:
                    if after in cursors.setdefault(from_id, set()):
                        raise FatalError(f"HubSpot repeated a paging cursor of {from_type} {from_id}'s associations "
                                         f"to {to_type}; the read stops rather than loop.")
                    cursors[from_id].add(after)
                    more.append({"id": from_id, "after": after})
        inputs = more
    return found


def _next_after(paging: Any) -> str | None:
    """The cursor of a record's next page of associations, if the answer names one (bounded: a cursor is
    short and opaque)."""
    nxt = paging.get("next") if isinstance(paging, dict) else None
    after = nxt.get("after") if isinstance(nxt, dict) else None
    return after if isinstance(after, str) and 0 < len(after) <= MAX_CURSOR else None


def _links(targets: list[Any]) -> list[Link]:
    """One Link per association type of each associated record (the default one and each label)."""
    out = []
    for target in targets:
        if not isinstance(target, dict) or target.get("toObjectId") is None:
            continue
        to_id = str(target["toObjectId"])
        if not (to_id.isascii() and to_id.isdigit() and len(to_id) <= MAX_ID):
            continue
        for kind in target.get("associationTypes") or []:
            type_id = _type_id(kind.get("typeId")) if isinstance(kind, dict) else None
            if type_id is not None:
                label = kind.get("label")
                out.append(Link(to_id, str(kind.get("category") or "HUBSPOT_DEFINED")[:24], type_id,
                                str(label)[:120] if label else None))
    return out


def _type_id(value: Any) -> int | None:
    """An association type id as the column holds it (a 32-bit integer), or None for anything else."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        return None
    text = str(value)
    return int(text) if text.isascii() and text.isdigit() and int(text) < 2 ** 31 else None


SINGULAR = {"CONTACT": "contacts", "COMPANY": "companies", "DEAL": "deals", "LINE_ITEM": "line_items",
            "TICKET": "tickets"}


# An event's subscription type names its object in the singular ("contact.creation", "line_item.deletion")
EVENT_OBJECTS = {"contact": "contacts", "company": "companies", "deal": "deals", "ticket": "tickets",
                 "product": "products", "line_item": "line_items"}


def object_of_event(event_type: str) -> str | None:
    """The object type whose record a webhook event changed, from its subscription type."""
    return EVENT_OBJECTS.get(event_type.split(".")[0])


def source_of(summary: dict) -> tuple[str, str] | None:
    """The record an associationChange event asks to read again: its "from" side when the sync reads that
    direction ("CONTACT_TO_COMPANY": the contact), else its "to" side ("COMPANY_TO_CONTACT": the contact)."""
    if not str(summary.get("subscriptionType", "")).endswith(".associationChange"):
        return None
    parts = str(summary.get("associationType", "")).upper().split("_TO_")
    if len(parts) != 2 or parts[0] not in SINGULAR or parts[1] not in SINGULAR:
        return None
    a, b = SINGULAR[parts[0]], SINGULAR[parts[1]]
    for (src, dst), record in (((a, b), summary.get("fromObjectId")), ((b, a), summary.get("toObjectId"))):
        text = str(record if record is not None else "")
        if dst in READ_FROM.get(src, ()) and text.isascii() and text.isdigit() and len(text) <= MAX_ID:
            return src, text
    return None
