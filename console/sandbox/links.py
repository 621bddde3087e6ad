"""The sandbox portal's associations: who is associated with whom, with which labels, and the change events
HubSpot sends for them. As in HubSpot, changing an association does not touch either record's modification
time: a sync sees it only by reading associations (or through an associationChange webhook)."""
from __future__ import annotations

from typing import Any

from .errors import validation
from .records import now_ms
from .schema import CUSTOM

# The default association's type id per direction (HubSpot's HUBSPOT_DEFINED ids).
ASSOC_TYPES = {("contacts", "companies"): 279, ("companies", "contacts"): 280, ("deals", "contacts"): 3,
               ("contacts", "deals"): 4, ("deals", "companies"): 341, ("companies", "deals"): 342,
               ("line_items", "deals"): 20, ("deals", "line_items"): 19, ("tickets", "contacts"): 16,
               ("contacts", "tickets"): 15, ("tickets", "companies"): 339, ("companies", "tickets"): 340,
               (CUSTOM, "contacts"): 1001, ("contacts", CUSTOM): 1002}
# Pairs kept as plain many-to-many edges (portal.edges), in their stored direction.
EDGE_PAIRS = {("line_items", "deals"), ("tickets", "contacts"), ("tickets", "companies"), (CUSTOM, "contacts")}
# The portal's association labels (USER_DEFINED types), per pair of object types in its stored direction.
LABELS: dict[tuple[str, str], dict[int, str]] = {
    ("contacts", "companies"): {1: "Billing contact", 2: "Decision maker"},
    ("deals", "contacts"): {3: "Decision maker", 4: "Champion"},
    ("deals", "companies"): {5: "Reseller", 6: "End customer"},
    (CUSTOM, "contacts"): {7: "Primary booker", 8: "Guest"},
}


def pair(src: str, dst: str) -> tuple[str, str]:
    """A pair of object types in its stored direction."""
    return (src, dst) if (src, dst) in LABELS or (src, dst) in EDGE_PAIRS else (dst, src)


def pair_key(src: str, rid: int, dst: str, to: int) -> tuple[str, str, int, int]:
    """A labelled pair, keyed in its stored direction (a contact→company label is also company→contact)."""
    return (src, dst, rid, to) if pair(src, dst) == (src, dst) else (dst, src, to, rid)


def associated(portal: Any, src: str, rid: int, dst: str) -> list[int]:
    if (src, dst) == ("contacts", "companies"):
        return [portal.contact_company[rid]] if rid in portal.contact_company else []
    if (src, dst) == ("companies", "contacts"):
        return [c for c, co in portal.contact_company.items() if co == rid]
    many = {("deals", "contacts"): portal.deal_contacts, ("deals", "companies"): portal.deal_companies}
    if (src, dst) in many:
        return list(many[(src, dst)].get(rid, []))
    if (dst, src) in many:
        return [d for d, targets in many[(dst, src)].items() if rid in targets]
    if (src, dst) in EDGE_PAIRS:
        return list(portal.edges.get((src, dst), {}).get(rid, []))
    if (dst, src) in EDGE_PAIRS:
        return [d for d, targets in portal.edges.get((dst, src), {}).items() if rid in targets]
    return []


def results(portal: Any, src: str, rid: int, dst: str) -> list[dict]:
    """Each associated record with its types: the default one, and the labels set on the pair (either way)."""
    type_id = ASSOC_TYPES.get((src, dst), 1)
    out = []
    for to in associated(portal, src, rid, dst):
        if portal.get(dst, to) is None:  # an archived record's associations are gone
            continue
        types = [{"category": "HUBSPOT_DEFINED", "typeId": type_id, "label": None}]
        for label_id in sorted(portal.labelled.get(pair_key(src, rid, dst, to), ())):
            types.append({"category": "USER_DEFINED", "typeId": label_id, "label": LABELS[pair(src, dst)][label_id]})
        out.append({"toObjectId": to, "associationTypes": types})
    return out


def link(portal: Any, s: str, d: str, rid: int, to_id: int, labels: frozenset[int] | set[int] = frozenset()) -> None:
    """Associate two records (in either direction), adding `labels`; a contact has one company."""
    if pair(s, d) != (s, d):
        s, d, rid, to_id = d, s, to_id, rid
    if (s, d) == ("contacts", "companies"):
        before = portal.contact_company.get(rid)
        if before is not None and before != to_id:
            unlink(portal, s, d, rid, before)
        portal.contact_company[rid] = to_id
    elif (s, d) in (("deals", "contacts"), ("deals", "companies")):
        many = portal.deal_contacts if d == "contacts" else portal.deal_companies
        if to_id not in many.setdefault(rid, []):
            many[rid].append(to_id)
    elif (s, d) in EDGE_PAIRS:
        targets = portal.edges.setdefault((s, d), {}).setdefault(rid, [])
        if to_id not in targets:
            targets.append(to_id)
    else:
        raise validation(f"Associations {s}→{d} are not supported by the sandbox.")
    if labels:
        portal.labelled.setdefault((s, d, rid, to_id), set()).update(labels)
    portal.version += 1
    _changed(portal, s, rid, d, to_id, removed=False)


def unlink(portal: Any, s: str, d: str, rid: int, to_id: int, labels: set[int] | None = None) -> bool:
    """Remove the association (every type of it), or only the `labels` named; whether anything changed."""
    if pair(s, d) != (s, d):
        s, d, rid, to_id = d, s, to_id, rid
    if to_id not in associated(portal, s, rid, d):
        return False
    key = (s, d, rid, to_id)
    if labels is not None:
        held = portal.labelled.get(key, set())
        if not held & labels:
            return False
        held -= labels
    else:
        portal.labelled.pop(key, None)
        if (s, d) == ("contacts", "companies"):
            del portal.contact_company[rid]
        elif (s, d) in EDGE_PAIRS:
            portal.edges[(s, d)][rid].remove(to_id)
        else:
            (portal.deal_contacts if d == "contacts" else portal.deal_companies)[rid].remove(to_id)
    portal.version += 1
    _changed(portal, s, rid, d, to_id, removed=labels is None)
    return True


def _changed(portal: Any, s: str, rid: int, d: str, to_id: int, removed: bool) -> None:
    for listener in portal.association_listeners:
        listener(s, rid, d, to_id, removed, now_ms())
