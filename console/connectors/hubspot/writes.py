"""Writes to HubSpot: batch updates by id and batch upserts on a unique property, 100 records a call,
through the account's shared limiter (the client's). A batch the provider refuses as a whole (one bad
value fails all 100) is written again one record at a time, so one bad record fails alone."""
from __future__ import annotations

from ..base import FatalError, LinkInput, WriteInput, WriteResult
from .client import HubSpotClient
from .streams import to_ms

BATCH = 100


def write(client: HubSpotClient, object_type: str, inputs: list[WriteInput], id_property: str | None) -> list[WriteResult]:
    """Each input updated by `id`, or upserted on `id_property` = `key` (created when no record holds it)."""
    results: list[WriteResult] = []
    by_id = [i for i in inputs if i.id]
    by_key = [i for i in inputs if not i.id]
    if by_key and not id_property:
        raise ValueError("records without a provider id need a unique property to upsert on")
    for chunk in _chunks(by_id):
        results += _send(client, object_type, chunk, "update", None)
    for chunk in _chunks(by_key):
        results += _send(client, object_type, chunk, "upsert", id_property)
    return results


def _chunks(items: list[WriteInput]) -> list[list[WriteInput]]:
    return [items[i:i + BATCH] for i in range(0, len(items), BATCH)]


def _send(client: HubSpotClient, object_type: str, chunk: list[WriteInput], verb: str,
          id_property: str | None) -> list[WriteResult]:
    try:
        return _call(client, object_type, chunk, verb, id_property)
    except FatalError as exc:
        if exc.status in (401, 403) or len(chunk) == 1:
            if len(chunk) == 1 and exc.status not in (401, 403):
                return [WriteResult(chunk[0].ref, chunk[0].id, error=str(exc)[:500])]
            raise
        # one bad record refuses the whole batch: find it (them) by writing one at a time
        out: list[WriteResult] = []
        for one in chunk:
            out += _send(client, object_type, [one], verb, id_property)
        return out


def _call(client: HubSpotClient, object_type: str, chunk: list[WriteInput], verb: str,
          id_property: str | None) -> list[WriteResult]:
    if verb == "update":
        body = {"inputs": [{"id": i.id, "properties": i.properties} for i in chunk]}
    else:
        body = {"inputs": [{"id": i.key, "idProperty": id_property, "properties": i.properties} for i in chunk]}
    reply = client.post(f"/crm/v3/objects/{object_type}/batch/{verb}", body) or {}
    found: dict[str, dict] = {}
    for row in reply.get("results", []):
        found[str(row.get("id"))] = row
        if id_property:
            key = ((row.get("properties") or {}).get(id_property) or "").strip().lower()
            if key:
                found["key:" + key] = row
    missing = {str(x) for e in reply.get("errors", []) for x in ((e.get("context") or {}).get("ids") or [])}
    out = []
    for item in chunk:
        row = found.get(str(item.id)) if item.id else found.get("key:" + (item.key or "").strip().lower())
        if row is None:
            why = "the record no longer exists in the CRM" if str(item.id) in missing else \
                "the CRM did not confirm this record's write"
            out.append(WriteResult(item.ref, item.id, error=why))
            continue
        out.append(WriteResult(item.ref, str(row["id"]), bool(row.get("new")), to_ms(row.get("updatedAt"))))
    return out


def define_property(client: HubSpotClient, object_type: str, name: str, label: str, unique: bool) -> None:
    """Create a text property (unique-valued for an id property); one that exists already is fine."""
    body = {"name": name, "label": label, "type": "string", "fieldType": "text", "groupName":
            {"contacts": "contactinformation", "companies": "companyinformation"}.get(object_type, "dealinformation"),
            "hasUniqueValue": unique, "description": "Written by Connector Console: its id for this record."}
    try:
        client.post(f"/crm/v3/properties/{object_type}", body)
    except FatalError as exc:
        if exc.status != 409:
            raise


def associate(client: HubSpotClient, from_type: str, to_type: str, links: list[LinkInput]) -> list[WriteResult]:
    """Create associations through the v4 API, 100 a call, each with its label's type (read once from the
    portal's labels; the default association when the label is ""). Creating one that exists is harmless,
    so a resumed push repeats nothing harmful. A label the portal lacks fails that link alone."""
    reply = client.get(f"/crm/v4/associations/{from_type}/{to_type}/labels") or {}
    types = {(t.get("label") or ""): {"associationCategory": t.get("category"), "associationTypeId": t.get("typeId")}
             for t in reply.get("results", [])}
    out: list[WriteResult] = []
    known = [link for link in links if link.label in types]
    out += [WriteResult(link.ref, error=f"HubSpot has no association label '{link.label[:60]}' for {from_type} → "
                                        f"{to_type}") for link in links if link.label not in types]
    for start in range(0, len(known), BATCH):
        chunk = known[start:start + BATCH]
        body = {"inputs": [{"from": {"id": link.from_id}, "to": {"id": link.to_id}, "types": [types[link.label]]}
                           for link in chunk]}
        answer = client.post(f"/crm/v4/associations/{from_type}/{to_type}/batch/create", body) or {}
        made = {(str(r.get("fromObjectId")), str(r.get("toObjectId"))) for r in answer.get("results", [])}
        for link in chunk:
            ok = (str(link.from_id), str(link.to_id)) in made
            out.append(WriteResult(link.ref, link.from_id, error=None if ok else
                                   "one of the two records no longer exists in the CRM"))
    return out
