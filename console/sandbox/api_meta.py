"""Properties, owners, pipelines, associations and account details."""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from .access import require_named_scope, require_scope
from .api_objects import object_type_of, other_type_of
from .data import BASE_MS, OWNERS
from .errors import not_found, validation
from .schema import OTHER_PROPERTIES, PIPELINES, PROPERTIES
from .state import state
from .store import iso
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
    type_id = ASSOC_TYPES.get((src, dst), 1)
    return [{"toObjectId": to, "associationTypes": [{"category": "HUBSPOT_DEFINED", "typeId": type_id, "label": None}]}
            for to in _associated(src, rid, dst)]


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
        if (s, d) == ("contacts", "companies"):
            portal.contact_company[rid] = to_id
        elif (s, d) == ("deals", "contacts"):
            portal.deal_contacts.setdefault(rid, []).append(to_id)
        else:
            raise validation(f"Default association {s}→{d} is not supported by the sandbox.")
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
