"""Associations v4: labels, reads (one record, or a batch), creates, and removals (one pair, a batch, or only
some labels), each removal or creation announced as HubSpot's associationChange webhooks announce them."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request

from .access import require_scope
from .api_objects import decode_after, encode_after, object_type_of
from .errors import not_found, validation
from .links import ASSOC_TYPES, LABELS, link, pair, results, unlink
from .state import state

bp = Blueprint("associations", __name__)
MAX_CREATE, MAX_READ, MAX_ARCHIVE = 2000, 1000, 2000
PER_RECORD = 500  # associations of one record in one answer; the rest follow its paging.next.after


def _page(targets: list[dict], after: Any, limit: int = PER_RECORD) -> tuple[list[dict], dict | None]:
    """One page of a record's associations in id order, after the cursor given, and the paging to the next
    (absent when none is left, as HubSpot leaves it out)."""
    if after not in (None, "") and not isinstance(after, str):
        raise validation("Invalid paging cursor 'after'.")
    last = decode_after(after)
    ordered = sorted((t for t in targets if t["toObjectId"] > last), key=lambda t: t["toObjectId"])
    page = ordered[:limit]
    if len(ordered) <= limit:
        return page, None
    token = encode_after(page[-1]["toObjectId"])
    return page, {"next": {"after": token, "link": None}}


def _types(src: str, dst: str) -> tuple[str, str]:
    s, d = object_type_of(src), object_type_of(dst)
    require_scope(s, write=request.method != "GET" and not request.path.endswith("/batch/read"))
    return s, d


def _inputs(limit: int, what: str) -> list[dict]:
    body = request.get_json(silent=True)
    inputs = body.get("inputs") if isinstance(body, dict) else None
    if not isinstance(inputs, list) or not all(isinstance(i, dict) for i in inputs):
        raise validation("The request body must contain an 'inputs' array of objects.")
    if len(inputs) > limit:
        raise validation(f"Batch {what} is limited to {limit} inputs; got {len(inputs)}.")
    return inputs


def _id(value: Any) -> int:
    """An id from a request body (TypeError or ValueError when it is none)."""
    return int(value)


def _pair_ids(item: dict) -> tuple[int, int]:
    """An input's from.id and to.id, or a validation error."""
    try:
        return _id((item.get("from") or {}).get("id")), _id((item.get("to") or {}).get("id"))
    except (TypeError, ValueError, AttributeError):
        raise validation("Each input needs from.id and to.id.") from None


def _allowed(s: str, d: str) -> set[tuple[Any, Any]]:
    return {("HUBSPOT_DEFINED", ASSOC_TYPES.get((s, d), 1))} | {("USER_DEFINED", i) for i in LABELS.get(pair(s, d), {})}


def _kinds(item: dict, s: str, d: str) -> set[tuple[Any, Any]]:
    types = {(t.get("associationCategory"), t.get("associationTypeId"))
             for t in item.get("types") or [] if isinstance(t, dict)}
    if not types or not types <= _allowed(s, d):
        raise validation(f"Unknown association type for {s}→{d}: {sorted(types - _allowed(s, d), key=str)[:3]}.")
    return types


@bp.get("/crm/v4/associations/<src>/<dst>/labels")
def association_labels(src: str, dst: str):
    s, d = _types(src, dst)
    default = [{"category": "HUBSPOT_DEFINED", "typeId": ASSOC_TYPES.get((s, d), 1), "label": None}]
    return jsonify({"results": default + [{"category": "USER_DEFINED", "typeId": i, "label": label}
                                          for i, label in LABELS.get(pair(s, d), {}).items()]})


@bp.post("/crm/v4/associations/<src>/<dst>/batch/create")
def associations_create(src: str, dst: str):
    """Associate pairs, each with its types (the default one and/or labels); an existing pair gains the
    types it lacks (creating twice is harmless). Unknown records are errors of their own (207)."""
    s, d = _types(src, dst)
    parsed = []
    for item in _inputs(MAX_CREATE, "create"):
        rid, to_id = _pair_ids(item)
        parsed.append((rid, to_id, _kinds(item, s, d)))
    portal, done, missing = state().portal, [], []
    with portal.lock:
        for rid, to_id, types in parsed:
            if portal.get(s, rid) is None or portal.get(d, to_id) is None:
                missing.append(f"{rid}->{to_id}")
                continue
            labels = {type_id for category, type_id in types if category == "USER_DEFINED"}
            link(portal, s, d, rid, to_id, labels)
            done.append({"fromObjectTypeId": s, "fromObjectId": rid, "toObjectTypeId": d, "toObjectId": to_id,
                         "labels": sorted(LABELS.get(pair(s, d), {}).get(i, "") for i in labels)})
    body: dict[str, Any] = {"status": "COMPLETE", "results": done}
    if missing:
        body.update(numErrors=len(missing), errors=[{"status": "error", "category": "OBJECT_NOT_FOUND",
                                                     "message": "Some records do not exist.", "context": {"pairs": missing}}])
        return jsonify(body), 207
    return jsonify(body), 201


@bp.post("/crm/v4/associations/<src>/<dst>/batch/archive")
def associations_archive(src: str, dst: str):
    """Remove every association type between each record and the records named: {from: {id}, to: [{id}]}."""
    s, d = _types(src, dst)
    pairs = []
    for item in _inputs(MAX_ARCHIVE, "archive"):
        try:
            rid = _id((item.get("from") or {}).get("id"))
            pairs += [(rid, _id(t.get("id"))) for t in item.get("to") or [] if isinstance(t, dict)]
        except (TypeError, ValueError):
            raise validation("Each input needs from.id and to[].id.") from None
    portal = state().portal
    with portal.lock:
        for rid, to_id in pairs:
            unlink(portal, s, d, rid, to_id)
    return "", 204


@bp.post("/crm/v4/associations/<src>/<dst>/batch/labels/archive")
def association_labels_archive(src: str, dst: str):
    """Remove only the labels named from each pair (the association itself stays)."""
    s, d = _types(src, dst)
    parsed = []
    for item in _inputs(MAX_ARCHIVE, "labels archive"):
        rid, to_id = _pair_ids(item)
        parsed.append((rid, to_id, {type_id for category, type_id in _kinds(item, s, d) if category == "USER_DEFINED"}))
    portal = state().portal
    with portal.lock:
        for rid, to_id, labels in parsed:
            if labels:
                unlink(portal, s, d, rid, to_id, labels)
    return "", 204


@bp.get("/crm/v4/objects/<src>/<int:rid>/associations/<dst>")
def associations(src: str, rid: int, dst: str):
    s, d = _types(src, dst)
    if state().portal.get(s, rid) is None:
        raise not_found("Object not found.")
    try:
        limit = int(request.args.get("limit", PER_RECORD))
    except ValueError:
        raise validation("limit must be an integer.") from None
    page, paging = _page(results(state().portal, s, rid, d), request.args.get("after"), max(1, min(limit, PER_RECORD)))
    return jsonify({"results": page, **({"paging": paging} if paging else {})})


@bp.put("/crm/v4/objects/<src>/<int:rid>/associations/default/<dst>/<int:to_id>")
def associate_default(src: str, rid: int, dst: str, to_id: int):
    s, d = _types(src, dst)
    portal = state().portal
    if portal.get(s, rid) is None or portal.get(d, to_id) is None:
        raise not_found("Object not found.")
    with portal.lock:
        link(portal, s, d, rid, to_id)
    return jsonify({"status": "COMPLETE", "results": [{"fromObjectTypeId": s, "fromObjectId": rid,
                                                        "toObjectTypeId": d, "toObjectId": to_id}]})


@bp.delete("/crm/v4/objects/<src>/<int:rid>/associations/<dst>/<int:to_id>")
def associations_delete(src: str, rid: int, dst: str, to_id: int):
    s, d = _types(src, dst)
    portal = state().portal
    with portal.lock:
        unlink(portal, s, d, rid, to_id)
    return "", 204


@bp.post("/crm/v4/associations/<src>/<dst>/batch/read")
def associations_batch(src: str, dst: str):
    """Each active record's associations; a record that is archived or unknown is an error entry (207)."""
    s, d = _types(src, dst)
    portal, found, errors = state().portal, [], []
    for item in _inputs(MAX_READ, "read"):
        try:
            rid = _id(item.get("id"))
        except (TypeError, ValueError):
            continue
        if portal.get(s, rid) is None:
            errors.append(str(rid))
            continue
        page, paging = _page(results(portal, s, rid, d), item.get("after"))
        found.append({"from": {"id": str(rid)}, "to": page, **({"paging": paging} if paging else {})})
    body: dict[str, Any] = {"status": "COMPLETE", "results": found}
    if errors:
        body.update(numErrors=len(errors), errors=[{"status": "error", "category": "OBJECT_NOT_FOUND",
                                                    "message": "Some records do not exist.", "context": {"ids": errors}}])
        return jsonify(body), 207
    return jsonify(body)
