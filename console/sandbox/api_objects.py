"""CRM v3 objects: list, get, create, update, archive, batch and search."""
from __future__ import annotations

import base64
import re

from flask import Blueprint, Response, jsonify, request

from .access import require_named_scope, require_scope
from .auth import scope_for
from .batch import batch_inputs, batch_response, json_body, missing_ids_error
from .errors import ApiError, not_found, validation
from .records import Record, singular
from .schema import CUSTOM, OTHER_NAMES, PROPERTIES, TYPE_IDS, unique_property
from .search import SearchError, parse_body, search
from .state import state
from .validation import check_properties, property_errors

bp = Blueprint("objects", __name__)
MAX_LIST_LIMIT = 100


def object_type_of(name: str) -> str:
    """The sandbox's key for an object type named by its name, singular, type id or (a custom object)
    fully qualified name `p<portal>_<name>`; a custom object's bare name is not accepted, as in HubSpot."""
    custom = CUSTOM_NAME.fullmatch(name)
    if custom and custom.group(1) == str(state().portal.portal_id):
        return CUSTOM
    key = TYPE_IDS.get(name, SINGULAR_NAMES.get(name, name))
    if key not in PROPERTIES or (key == CUSTOM and name == CUSTOM):
        raise validation(f"Unable to infer object type from: {name}")
    return key


SINGULAR_NAMES = {"contact": "contacts", "company": "companies", "deal": "deals", "product": "products",
                  "line_item": "line_items", "ticket": "tickets"}
CUSTOM_NAME = re.compile(rf"p(\d{{1,12}})_{CUSTOM}")


def other_type_of(name: str) -> str | None:
    """One of HubSpot's other standard objects (calls, tickets…), which the sandbox holds none of."""
    return OTHER_NAMES.get(name)


def _empty_type(name: str) -> Response | None:
    """An object type HubSpot knows and this portal has no record of: read with the scope it needs,
    it answers as an empty list or search."""
    other = other_type_of(name)
    if other is None:
        return None
    require_named_scope(scope_for(other, write=False))
    return jsonify({"total": 0, "results": []} if request.method == "POST" else {"results": []})


def _props_arg() -> list[str] | None:
    values = request.args.getlist("properties")
    names = [p.strip() for v in values for p in v.split(",") if p.strip()]
    return names or None


def _bool_arg(name: str) -> bool:
    return request.args.get(name, "false").lower() == "true"


def encode_after(rid: int) -> str:
    return base64.urlsafe_b64encode(str(rid).encode()).decode().rstrip("=")


def decode_after(token: str | None) -> int:
    if not token:
        return 0
    try:
        return int(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode())
    except ValueError as exc:
        raise validation("Invalid paging cursor 'after'.") from exc


@bp.get("/crm/v3/objects/<object_type>")
def list_objects(object_type: str):
    if (empty := _empty_type(object_type)) is not None:
        return empty
    t = object_type_of(object_type)
    require_scope(t, write=False)
    try:
        limit = int(request.args.get("limit", 10))
    except ValueError:
        raise validation("limit must be an integer.") from None
    if not 1 <= limit <= MAX_LIST_LIMIT:
        raise validation(f"limit must be between 1 and {MAX_LIST_LIMIT}.")
    page, nxt = state().portal.page(t, decode_after(request.args.get("after")), limit, _bool_arg("archived"))
    props = _props_arg()
    body: dict = {"results": [r.to_api(t, props) for r in page]}
    if nxt is not None:
        token = encode_after(nxt)
        body["paging"] = {"next": {"after": token, "link": f"{request.base_url}?after={token}"}}
    return jsonify(body)


@bp.get("/crm/v3/objects/<object_type>/<record_id>")
def get_object(object_type: str, record_id: str):
    t = object_type_of(object_type)
    require_scope(t, write=False)
    rec = state().portal.get(t, record_id, request.args.get("idProperty"), _bool_arg("archived"))
    if rec is None:
        raise not_found("Object not found.  objectId are usually numeric.")
    return jsonify(rec.to_api(t, _props_arg()))


@bp.post("/crm/v3/objects/<object_type>")
def create_object(object_type: str):
    t = object_type_of(object_type)
    require_scope(t, write=True)
    body = json_body()
    props = body.get("properties") if isinstance(body, dict) else None
    check_properties(t, props if props is not None else {})
    _check_unique(t, props or {})
    rec = state().portal.create(t, props or {})
    return jsonify(rec.to_api(t, list((props or {}).keys()) or None)), 201


@bp.patch("/crm/v3/objects/<object_type>/<record_id>")
def update_object(object_type: str, record_id: str):
    t = object_type_of(object_type)
    require_scope(t, write=True)
    rec = state().portal.get(t, record_id, request.args.get("idProperty"))
    if rec is None:
        raise not_found("Object not found.")
    props = (json_body() or {}).get("properties") or {}
    check_properties(t, props)
    state().portal.update(t, rec, props)
    return jsonify(rec.to_api(t, list(props.keys()) or None))


@bp.delete("/crm/v3/objects/<object_type>/<record_id>")
def archive_object(object_type: str, record_id: str):
    t = object_type_of(object_type)
    require_scope(t, write=True)
    rec = state().portal.get(t, record_id)
    if rec is not None:
        state().portal.archive(t, rec)
    return Response(status=204)


def _check_unique(t: str, props: dict, exclude: Record | None = None) -> None:
    """A value of a unique property (email, domain, a custom unique id) held by another record: 409."""
    for name, value in props.items():
        if value in (None, "") or name == "hs_object_id" or not unique_property(t, name):
            continue
        if t == "companies" and name == "domain":
            continue  # HubSpot lets companies share a domain unless the portal enforces it
        other = state().portal.find_by(t, name, value)
        if other is not None and other is not exclude:
            raise ApiError(409, f"{singular(t).capitalize()} already exists. Existing ID: {other.id}", "CONFLICT")


@bp.post("/crm/v3/objects/<object_type>/batch/read")
def batch_read(object_type: str):
    t = object_type_of(object_type)
    require_scope(t, write=False)
    body = json_body()
    inputs = batch_inputs(body)
    id_prop, props = body.get("idProperty"), body.get("properties") or None
    found, missing = [], []
    for item in inputs:
        rec = state().portal.get(t, item.get("id"), id_prop, bool(body.get("archived")))
        (found.append(rec.to_api(t, props)) if rec else missing.append(str(item.get("id"))))
    errors = missing_ids_error(missing, f"Could not get some {singular(t).upper()} objects, they may be deleted "
                                         "or not exist. Check that ids are valid.")
    return batch_response(found, errors, 200)


@bp.post("/crm/v3/objects/<object_type>/batch/create")
def batch_create(object_type: str):
    t = object_type_of(object_type)
    require_scope(t, write=True)
    inputs = batch_inputs(json_body())
    problems = [(i, property_errors(t, item.get("properties") or {})) for i, item in enumerate(inputs)]
    bad = [(i, errs) for i, errs in problems if errs]
    traced = all(item.get("objectWriteTraceId") for item in inputs)
    if bad and not traced:
        raise validation("Property values were not valid", [e for _, errs in bad for e in errs])
    results, errors = [], []
    bad_index = {i for i, _ in bad}
    for i, item in enumerate(inputs):
        if i in bad_index:
            errors.append({"status": "error", "category": "VALIDATION_ERROR", "message": "Property values were not valid",
                           "context": {"objectWriteTraceId": [item["objectWriteTraceId"]]},
                           "errors": dict(bad)[i]})
            continue
        rec = state().portal.create(t, item.get("properties") or {})
        results.append(rec.to_api(t, list((item.get("properties") or {}).keys()) or None))
    return batch_response(results, errors, 201)


@bp.post("/crm/v3/objects/<object_type>/batch/update")
def batch_update(object_type: str):
    t = object_type_of(object_type)
    require_scope(t, write=True)
    body = json_body()
    inputs = batch_inputs(body)
    for item in inputs:
        check_properties(t, item.get("properties") or {})
    results, missing = [], []
    for item in inputs:
        rec = state().portal.get(t, item.get("id"), body.get("idProperty") or item.get("idProperty"))
        if rec is None:
            missing.append(str(item.get("id")))
            continue
        state().portal.update(t, rec, item.get("properties") or {})
        results.append(rec.to_api(t, list((item.get("properties") or {}).keys()) or None))
    return batch_response(results, missing_ids_error(missing, "Could not update some objects."), 200)


@bp.post("/crm/v3/objects/<object_type>/batch/upsert")
def batch_upsert(object_type: str):
    t = object_type_of(object_type)
    require_scope(t, write=True)
    inputs = batch_inputs(json_body())
    for item in inputs:
        check_properties(t, item.get("properties") or {})
        if not item.get("idProperty") or not item.get("id"):
            raise validation("Each upsert input needs 'id' and 'idProperty'.")
        if not unique_property(t, item["idProperty"]) or item["idProperty"] == "hs_object_id":
            raise validation(f"{item['idProperty']} is not a unique property of {t}; upserts match on a property "
                             "with unique values (hasUniqueValue).")
    keys = [str(item["id"]).strip().lower() for item in inputs]
    if len(set(keys)) < len(keys):
        raise validation("Duplicate IDs found in batch input: each record may appear once per upsert.")
    results = []
    with state().portal.lock:  # one batch is one step: no other write lands between its lookups
        for item in inputs:
            props = dict(item.get("properties") or {})
            props.pop(item["idProperty"], None)
            found = state().portal.get(t, item["id"], item["idProperty"])
            new = found is None
            if found is None:
                rec = state().portal.create(t, {**props, item["idProperty"]: item["id"]})
            else:
                _check_unique(t, props, exclude=found)
                rec = state().portal.update(t, found, props)
            results.append({**rec.to_api(t, [item["idProperty"], *props]), "new": new})
    return batch_response(results, [], 200)


@bp.post("/crm/v3/objects/<object_type>/batch/archive")
def batch_archive(object_type: str):
    t = object_type_of(object_type)
    require_scope(t, write=True)
    for item in batch_inputs(json_body()):
        rec = state().portal.get(t, item.get("id"))
        if rec is not None:
            state().portal.archive(t, rec)
    return Response(status=204)


@bp.post("/crm/v3/objects/<object_type>/search")
def search_objects(object_type: str):
    if (empty := _empty_type(object_type)) is not None:
        return empty
    t = object_type_of(object_type)
    require_scope(t, write=False)
    try:
        body = parse_body(json_body())
        total, page, nxt = search(state().portal, t, body)
    except SearchError as err:
        raise validation(str(err)) from err
    out: dict = {"total": total, "results": page}
    if nxt is not None:
        out["paging"] = {"next": {"after": str(nxt)}}
    return jsonify(out)

