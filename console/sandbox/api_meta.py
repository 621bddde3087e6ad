"""Properties, owners, pipelines, associations and account details."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request

from .access import require_named_scope, require_scope
from .api_objects import object_type_of, other_type_of
from .data import BASE_MS, OWNERS
from .errors import not_found, validation
from .records import iso
from .schema import OTHER_PROPERTIES, PIPELINES, PROPERTIES
from .state import state
from .validation import define_property

bp = Blueprint("meta", __name__)
ASSOC_TYPES = {("contacts", "companies"): 279, ("companies", "contacts"): 280, ("deals", "contacts"): 3,
               ("contacts", "deals"): 4, ("deals", "companies"): 341, ("companies", "deals"): 342}


@bp.get("/crm/v3/properties/<object_type>")
def properties(object_type: str):
    other = other_type_of(object_type)
    if other is not None:
        require_named_scope(f"crm.schemas.{other}.read")
        return jsonify({"results": OTHER_PROPERTIES[other]})
    t = object_type_of(object_type)
    require_named_scope(f"crm.schemas.{t}.read")
    return jsonify({"results": PROPERTIES[t]})


@bp.post("/crm/v3/properties/<object_type>")
def create_property(object_type: str):
    t = object_type_of(object_type)
    require_named_scope(f"crm.schemas.{t}.write")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise validation("Invalid input JSON: send the property as a JSON object.")
    return jsonify(define_property(t, body)), 201


@bp.get("/crm/v3/properties/<object_type>/<name>")
def property_one(object_type: str, name: str):
    t = object_type_of(object_type)
    require_named_scope(f"crm.schemas.{t}.read")
    for prop in PROPERTIES[t]:
        if prop["name"] == name:
            return jsonify(prop)
    raise not_found(f"Unable to find property {name}")


# HubSpot's legacy property endpoints (still served; older clients discover schemas through them): a bare
# JSON array of the same definitions.
@bp.get("/properties/v1/<object_type>/properties")
@bp.get("/properties/v2/<object_type>/properties")
@bp.get("/<any(contacts, companies, deals):object_type>/v2/properties")
def legacy_properties(object_type: str):
    t = object_type_of(object_type)
    require_named_scope(f"crm.schemas.{t}.read")
    return jsonify(PROPERTIES[t])


@bp.get("/crm/v3/schemas")
@bp.get("/crm-object-schemas/v3/schemas")
def custom_object_schemas():
    """Custom object definitions: this portal has none."""
    require_named_scope("crm.schemas.contacts.read")
    return jsonify({"results": []})


def _owner(o) -> dict:
    oid, first, last, email, kind = o
    return {"id": oid, "email": email, "firstName": first, "lastName": last, "userId": int(oid) + 90000,
            "userIdIncludingInactive": int(oid) + 90000, "type": kind, "createdAt": iso(BASE_MS - 400 * 86_400_000),
            "updatedAt": iso(BASE_MS), "archived": False,
            "teams": [{"id": "1", "name": "Client Services", "primary": True}]}


@bp.get("/crm/v3/owners")
@bp.get("/crm/v3/owners/")
def owners():
    require_named_scope("crm.objects.owners.read")
    limit = min(int(request.args.get("limit", 100)), 500)
    start = int(request.args.get("after") or 0)
    wanted = request.args.get("email")
    rows = [o for o in OWNERS if not wanted or o[3] == wanted.lower()]
    page = rows[start:start + limit]
    body = {"results": [_owner(o) for o in page]}
    if start + limit < len(rows):
        body["paging"] = {"next": {"after": str(start + limit)}}
    return jsonify(body)


@bp.get("/crm/v3/owners/<owner_id>")
def owner(owner_id: str):
    require_named_scope("crm.objects.owners.read")
    for o in OWNERS:
        if o[0] == owner_id:
            return jsonify(_owner(o))
    raise not_found("Owner not found.")


def _pipeline(pid: str, label: str, stages: list, order: int) -> dict:
    ts = iso(BASE_MS - 500 * 86_400_000)
    return {"id": pid, "label": label, "displayOrder": order, "archived": False, "createdAt": ts, "updatedAt": ts,
            "stages": [{"id": sid, "label": slabel, "displayOrder": i, "archived": False, "createdAt": ts,
                        "updatedAt": ts, "metadata": {"isClosed": closed, "probability": prob}}
                       for i, (sid, slabel, prob, closed) in enumerate(stages)]}


@bp.get("/crm/v3/pipelines/deals")
def pipelines():
    require_scope("deals", write=False)
    return jsonify({"results": [_pipeline(pid, label, stages, i)
                                for i, (pid, (label, stages)) in enumerate(PIPELINES.items())]})


@bp.get("/crm/v3/pipelines/deals/<pipeline_id>")
def pipeline(pipeline_id: str):
    require_scope("deals", write=False)
    for i, (pid, (label, stages)) in enumerate(PIPELINES.items()):
        if pid == pipeline_id:
            return jsonify(_pipeline(pid, label, stages, i))
    raise not_found("Pipeline not found.")


def _associated(src: str, rid: int, dst: str) -> list[int]:
    portal = state().portal
    if (src, dst) == ("contacts", "companies"):
        return [portal.contact_company[rid]] if rid in portal.contact_company else []
    if (src, dst) == ("companies", "contacts"):
        return [c for c, co in portal.contact_company.items() if co == rid]
    if (src, dst) == ("deals", "contacts"):
        return list(portal.deal_contacts.get(rid, []))
    if (src, dst) == ("contacts", "deals"):
        return [d for d, cs in portal.deal_contacts.items() if rid in cs]
    return []


def _assoc_results(src: str, rid: int, dst: str) -> list[dict]:
    """Each associated record with its types: the default one, and the labels set on the pair (either way)."""
    type_id = ASSOC_TYPES.get((src, dst), 1)
    portal, out = state().portal, []
    for to in _associated(src, rid, dst):
        types = [{"category": "HUBSPOT_DEFINED", "typeId": type_id, "label": None}]
        for label_id in sorted(portal.labelled.get(_pair_key(src, rid, dst, to), ())):
            types.append({"category": "USER_DEFINED", "typeId": label_id, "label": LABELS[_pair(src, dst)][label_id]})
        out.append({"toObjectId": to, "associationTypes": types})
    return out


# The portal's association labels (USER_DEFINED types), per pair of object types in its stored direction.
LABELS: dict[tuple[str, str], dict[int, str]] = {
    ("contacts", "companies"): {1: "Billing contact", 2: "Decision maker"},
    ("deals", "contacts"): {3: "Decision maker", 4: "Champion"},
}


def _pair(src: str, dst: str) -> tuple[str, str]:
    return (src, dst) if (src, dst) in LABELS else (dst, src)


def _pair_key(src: str, rid: int, dst: str, to: int) -> tuple[str, str, int, int]:
    """A labelled pair, keyed in its stored direction (a contact→company label is also company→contact)."""
    return (src, dst, rid, to) if (src, dst) in LABELS else (dst, src, to, rid)


def _link(portal, s: str, d: str, rid: int, to_id: int) -> None:
    if (s, d) == ("contacts", "companies"):
        portal.contact_company[rid] = to_id
    elif (s, d) == ("deals", "contacts"):
        if to_id not in portal.deal_contacts.setdefault(rid, []):
            portal.deal_contacts[rid].append(to_id)
    else:
        raise validation(f"Associations {s}→{d} are not supported by the sandbox.")


@bp.get("/crm/v4/associations/<src>/<dst>/labels")
def association_labels(src: str, dst: str):
    s, d = object_type_of(src), object_type_of(dst)
    require_scope(s, write=False)
    default = [{"category": "HUBSPOT_DEFINED", "typeId": ASSOC_TYPES.get((s, d), 1), "label": None}]
    return jsonify({"results": default + [{"category": "USER_DEFINED", "typeId": i, "label": label}
                                          for i, label in LABELS.get(_pair(s, d), {}).items()]})


@bp.post("/crm/v4/associations/<src>/<dst>/batch/create")
def associations_create(src: str, dst: str):
    """Associate pairs, each with its types (the default one and/or labels); an existing pair gains the
    types it lacks (creating twice is harmless). Unknown records are errors of their own (207)."""
    s, d = object_type_of(src), object_type_of(dst)
    require_scope(s, write=True)
    body = request.get_json(silent=True)
    inputs = body.get("inputs") if isinstance(body, dict) else None
    if not isinstance(inputs, list) or not all(isinstance(i, dict) for i in inputs):
        raise validation("The request body must contain an 'inputs' array of objects.")
    if len(inputs) > 2000:
        raise validation(f"Batch create is limited to 2000 inputs; got {len(inputs)}.")
    allowed = {("HUBSPOT_DEFINED", ASSOC_TYPES.get((s, d), 1))} | {("USER_DEFINED", i) for i in LABELS.get(_pair(s, d), {})}
    parsed = []
    for item in inputs:
        try:
            rid, to_id = _int((item.get("from") or {}).get("id")), _int((item.get("to") or {}).get("id"))
        except (TypeError, ValueError):
            raise validation("Each input needs from.id and to.id.") from None
        types: set[tuple[Any, Any]] = {(t.get("associationCategory"), t.get("associationTypeId"))
                                       for t in item.get("types") or [] if isinstance(t, dict)}
        if not types or not types <= allowed:
            raise validation(f"Unknown association type for {s}→{d}: {sorted(types - allowed, key=str)[:3]}.")
        parsed.append((rid, to_id, types))
    portal, results, missing = state().portal, [], []
    with portal.lock:
        for rid, to_id, types in parsed:
            if portal.get(s, rid) is None or portal.get(d, to_id) is None:
                missing.append(f"{rid}->{to_id}")
                continue
            _link(portal, s, d, rid, to_id)
            labels = {type_id for category, type_id in types if category == "USER_DEFINED"}
            if labels:
                portal.labelled.setdefault(_pair_key(s, rid, d, to_id), set()).update(labels)
            portal.version += 1
            results.append({"fromObjectTypeId": s, "fromObjectId": rid, "toObjectTypeId": d, "toObjectId": to_id,
                            "labels": sorted(LABELS.get(_pair(s, d), {}).get(i, "") for i in labels)})
    body = {"status": "COMPLETE", "results": results}
    if missing:
        body.update(numErrors=len(missing), errors=[{"status": "error", "category": "OBJECT_NOT_FOUND",
                                                     "message": "Some records do not exist.", "context": {"pairs": missing}}])
        return jsonify(body), 207
    return jsonify(body), 201


@bp.get("/crm/v4/objects/<src>/<int:rid>/associations/<dst>")
def associations(src: str, rid: int, dst: str):
    s, d = object_type_of(src), object_type_of(dst)
    require_scope(s, write=False)
    if state().portal.get(s, rid) is None:
        raise not_found("Object not found.")
    return jsonify({"results": _assoc_results(s, rid, d)})


@bp.put("/crm/v4/objects/<src>/<int:rid>/associations/default/<dst>/<int:to_id>")
def associate_default(src: str, rid: int, dst: str, to_id: int):
    s, d = object_type_of(src), object_type_of(dst)
    require_scope(s, write=True)
    portal = state().portal
    if portal.get(s, rid) is None or portal.get(d, to_id) is None:
        raise not_found("Object not found.")
    with portal.lock:
        _link(portal, s, d, rid, to_id)
        portal.version += 1
    return jsonify({"status": "COMPLETE", "results": [{"fromObjectTypeId": s, "fromObjectId": rid,
                                                        "toObjectTypeId": d, "toObjectId": to_id}]})


@bp.post("/crm/v4/associations/<src>/<dst>/batch/read")
def associations_batch(src: str, dst: str):
    s, d = object_type_of(src), object_type_of(dst)
    require_scope(s, write=False)
    inputs = (request.get_json(silent=True) or {}).get("inputs") or []
    if len(inputs) > 1000:
        raise validation("Batch read is limited to 1000 inputs.")
    results = []
    for item in inputs:
        try:
            rid = int(item.get("id"))
        except (TypeError, ValueError):
            continue
        results.append({"from": {"id": str(rid)}, "to": [{"toObjectId": r["toObjectId"],
                                                          "associationTypes": r["associationTypes"]}
                                                         for r in _assoc_results(s, rid, d)]})
    return jsonify({"status": "COMPLETE", "results": results})


@bp.get("/account-info/v3/details")
def account_details():
    return jsonify({"portalId": state().portal.portal_id, "accountType": "STANDARD", "timeZone": "America/Toronto",
                    "companyCurrency": "CAD", "additionalCurrencies": ["USD"], "utcOffset": "-05:00",
                    "utcOffsetMilliseconds": -18_000_000, "uiDomain": "app.hubspot.com", "dataHostingLocation": "na1"})


def _int(value: Any) -> int:
    """An id from a request body (TypeError or ValueError when it is none)."""
    return int(value)
