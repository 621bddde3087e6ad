"""Properties, owners, pipelines and account details (associations: api_associations.py)."""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from .access import require_named_scope, require_scope
from .api_objects import object_type_of, other_type_of
from .auth import schema_scope
from .data import BASE_MS, OWNERS
from .errors import ApiError, not_found, validation
from .records import iso
from .schema import CUSTOM, OTHER_PROPERTIES, PIPELINES, PROPERTIES, TICKET_PIPELINES, custom_schema
from .state import state
from .validation import define_property

bp = Blueprint("meta", __name__)


@bp.get("/crm/v3/properties/<object_type>")
def properties(object_type: str):
    other = other_type_of(object_type)
    if other is not None:
        require_named_scope(f"crm.schemas.{other}.read")
        return jsonify({"results": OTHER_PROPERTIES[other]})
    t = object_type_of(object_type)
    require_named_scope(schema_scope(t))
    return jsonify({"results": PROPERTIES[t]})


@bp.post("/crm/v3/properties/<object_type>")
def create_property(object_type: str):
    t = object_type_of(object_type)
    require_named_scope(schema_scope(t, write=True))
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise validation("Invalid input JSON: send the property as a JSON object.")
    return jsonify(define_property(t, body)), 201


@bp.get("/crm/v3/properties/<object_type>/<name>")
def property_one(object_type: str, name: str):
    t = object_type_of(object_type)
    require_named_scope(schema_scope(t))
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
    """The portal's custom object definitions (one: bookings)."""
    require_named_scope(schema_scope(CUSTOM))
    return jsonify({"results": [custom_schema(state().portal.portal_id)]})


@bp.get("/crm/v3/schemas/<object_type>")
@bp.get("/crm-object-schemas/v3/schemas/<object_type>")
def custom_object_schema(object_type: str):
    require_named_scope(schema_scope(CUSTOM))
    try:
        known = object_type_of(object_type) == CUSTOM
    except ApiError:
        known = object_type == CUSTOM  # the schema API also takes the object's bare name
    if not known:
        raise not_found(f"Unable to find object schema for {object_type}")
    return jsonify(custom_schema(state().portal.portal_id))


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


def _ticket_stages() -> dict:
    """Ticket pipelines in the deal pipelines' shape: (id, label, probability, closed), ticketState beside."""
    return {pid: (label, [(sid, slabel, None, "true" if state == "CLOSED" else "false") for sid, slabel, state in stages])
            for pid, (label, stages) in TICKET_PIPELINES.items()}


def _pipelines_of(object_type: str) -> dict:
    if object_type not in ("deals", "tickets"):
        raise not_found(f"Unable to find pipelines for {object_type}")
    require_scope(object_type, write=False)
    return PIPELINES if object_type == "deals" else _ticket_stages()


@bp.get("/crm/v3/pipelines/<any(deals, tickets):object_type>")
def pipelines(object_type: str):
    rows = [_pipeline(pid, label, stages, i) for i, (pid, (label, stages)) in enumerate(_pipelines_of(object_type).items())]
    if object_type == "tickets":
        for row in rows:
            for stage in row["stages"]:
                stage["metadata"] = {"ticketState": "CLOSED" if stage["metadata"]["isClosed"] == "true" else "OPEN",
                                     "isClosed": stage["metadata"]["isClosed"]}
    return jsonify({"results": rows})


@bp.get("/crm-pipelines/v1/pipelines/<object_type>")
def legacy_pipelines(object_type: str):
    """HubSpot's v1 pipelines (older clients, a Singer tap's ticket pipelines): ids as pipelineId/stageId,
    times as epoch ms, `active` rather than `archived`."""
    at = BASE_MS - 500 * 86_400_000
    out = []
    for i, (pid, (label, stages)) in enumerate(_pipelines_of(object_type).items()):
        out.append({"pipelineId": pid, "label": label, "displayOrder": i, "active": True, "default": i == 0,
                    "objectType": SINGULAR_OF[object_type], "createdAt": at, "updatedAt": at,
                    "stages": [{"stageId": sid, "label": slabel, "displayOrder": n, "active": True, "createdAt": at,
                                "updatedAt": at, "metadata": ({"isClosed": closed, "probability": prob} if prob is not None
                                                              else {"isClosed": closed, "ticketState":
                                                                    "CLOSED" if closed == "true" else "OPEN"})}
                               for n, (sid, slabel, prob, closed) in enumerate(stages)]})
    return jsonify({"results": out})


SINGULAR_OF = {"deals": "DEAL", "tickets": "TICKET"}


@bp.get("/crm/v3/pipelines/deals/<pipeline_id>")
def pipeline(pipeline_id: str):
    require_scope("deals", write=False)
    for i, (pid, (label, stages)) in enumerate(PIPELINES.items()):
        if pid == pipeline_id:
            return jsonify(_pipeline(pid, label, stages, i))
    raise not_found("Pipeline not found.")


@bp.get("/account-info/v3/details")
def account_details():
    return jsonify({"portalId": state().portal.portal_id, "accountType": "STANDARD", "timeZone": "America/Toronto",
                    "companyCurrency": "CAD", "additionalCurrencies": ["USD"], "utcOffset": "-05:00",
                    "utcOffsetMilliseconds": -18_000_000, "uiDomain": "app.hubspot.com", "dataHostingLocation": "na1"})
