"""sObject Collections: up to 200 records a call created, updated, upserted on an external-id field, read
or deleted; each record answered on its own (`allOrNone` rolls the whole call back on any failure)."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, g, jsonify, request

from .access import org
from .api_query import shaped
from .errors import SfError, invalid_type
from .ids import canonical
from .schema import sobject
from .state import Org
from .values import checked

bp = Blueprint("sf_collections", __name__)
COLLECTIONS = "/services/data/v<version>/composite/sobjects"
MAX_RECORDS = 200


def _records() -> tuple[list, bool]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("records"), list):
        raise SfError(400, "JSON_PARSER_ERROR", "The body must be {\"allOrNone\": …, \"records\": [...]}.")
    if len(body["records"]) > MAX_RECORDS:
        raise SfError(400, "EXCEEDED_ID_LIMIT", f"record limit reached. cannot submit more than {MAX_RECORDS} records "
                      "into this call")
    return body["records"], bool(body.get("allOrNone"))


def _failed(err: SfError) -> dict:
    return {"success": False, "errors": [{"statusCode": err.code, "message": err.message, "fields": err.fields or []}]}


def _apply(the_org: Org, records: list, all_or_none: bool, one) -> list[dict]:
    """Each record through `one` (record -> its answer); with allOrNone, a failure undoes them all."""
    journal: list = []
    the_org.journal = journal if all_or_none else None
    out = []
    try:
        for record in records:
            try:
                out.append(one(record))
            except SfError as err:
                out.append({"id": None, **_failed(err)})
    finally:
        the_org.journal = None
    if all_or_none and any(not r["success"] for r in out):
        the_org.undo(journal)
        rolled = SfError(400, "ALL_OR_NONE_OPERATION_ROLLED_BACK", "Record rolled back because not all records were valid "
                         "and the request was using AllOrNone header")
        out = [r if not r["success"] else {"id": None, **_failed(rolled)} for r in out]
    return out


def _typed(record: Any):
    if not isinstance(record, dict) or not isinstance(record.get("attributes"), dict):
        raise SfError(400, "INVALID_TYPE", "Each record needs attributes.type.")
    obj = sobject(str(record["attributes"].get("type", "")))
    if obj is None:
        raise SfError(400, "INVALID_TYPE", "sObject type is not supported.")
    return obj


@bp.post(COLLECTIONS)
def create_many(version: str):
    records, all_or_none = _records()
    the_org = org()

    def one(record: Any) -> dict:
        obj = _typed(record)
        if record.get("id") or record.get("Id"):
            raise SfError(400, "INVALID_FIELD", "cannot specify Id in an insert call")
        row = the_org.insert(obj, checked(the_org, obj, record, creating=True), g.user_id)
        return {"id": row["Id"], "success": True, "errors": []}
    with the_org.lock:
        return jsonify(_apply(the_org, records, all_or_none, one))


@bp.patch(COLLECTIONS)
def update_many(version: str):
    records, all_or_none = _records()
    the_org = org()

    def one(record: Any) -> dict:
        obj = _typed(record)
        record = dict(record)
        record_id = str(record.pop("id", None) or record.pop("Id", None) or "")
        row = the_org.find(obj, record_id)
        if row is None:
            raise SfError(404, "ENTITY_IS_DELETED" if the_org.deleted[obj.name].get(canonical(record_id) or "") else
                          "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
        the_org.change(obj, row, checked(the_org, obj, record, creating=False), g.user_id)
        return {"id": row["Id"], "success": True, "errors": []}
    with the_org.lock:
        return jsonify(_apply(the_org, records, all_or_none, one))


@bp.patch(f"{COLLECTIONS}/<name>/<field_name>")
def upsert_many(version: str, name: str, field_name: str):
    obj = sobject(name)
    if obj is None:
        raise invalid_type(name)
    field = obj.field(field_name)
    if field is None or not field.external_id:
        raise SfError(400, "INVALID_FIELD", f"Field name provided, {field_name[:80]} is not an External ID or indexed field")
    records, all_or_none = _records()
    the_org = org()

    def one(record: Any) -> dict:
        if _typed(record).name != obj.name:
            raise SfError(400, "INVALID_TYPE", f"Every record must be a {obj.name}.")
        values = checked(the_org, obj, record, creating=False)
        key = values.get(field.name)
        if not key:
            raise SfError(400, "MISSING_ARGUMENT", f"{field.name} not specified", [field.name])
        found = the_org.by_external_id(obj, field.name, key)
        if len(found) > 1:
            raise SfError(300, "DUPLICATE_EXTERNAL_ID", f"{field.name}: more than one record found for external id "
                          f"field: {[r['Id'] for r in found]}", [field.name])
        if found:
            the_org.change(obj, found[0], values, g.user_id)
            return {"id": found[0]["Id"], "success": True, "errors": [], "created": False}
        row = the_org.insert(obj, checked(the_org, obj, record, creating=True), g.user_id)
        return {"id": row["Id"], "success": True, "errors": [], "created": True}
    with the_org.lock:
        return jsonify(_apply(the_org, records, all_or_none, one))


@bp.get(f"{COLLECTIONS}/<name>")
def read_many(version: str, name: str):
    obj = sobject(name)
    if obj is None:
        raise invalid_type(name)
    wanted = [i for i in request.args.get("ids", "").split(",") if i][:2000]
    fields = [f for f in request.args.get("fields", "").split(",") if f]
    if not wanted or not fields:
        raise SfError(400, "MISSING_ARGUMENT", "ids and fields are both required")
    names = []
    for f in fields:
        found = obj.field(f)
        if found is None:
            raise SfError(400, "INVALID_FIELD", f"No such column '{f[:80]}' on entity '{obj.name}'.")
        names.append(found.name)
    the_org = org()
    with the_org.lock:
        return jsonify([shaped(obj, r, names, version) if (r := the_org.find(obj, i)) else None for i in wanted])


@bp.delete(COLLECTIONS)
def delete_many(version: str):
    wanted = [i for i in request.args.get("ids", "").split(",") if i]
    if len(wanted) > MAX_RECORDS:
        raise SfError(400, "EXCEEDED_ID_LIMIT", f"cannot delete more than {MAX_RECORDS} records in one call")
    the_org = org()

    def one(record_id: str) -> dict:
        for obj in filter(None, map(sobject, the_org.records)):
            if obj.createable and the_org.find(obj, record_id) is not None:  # users and stages are not deleted here
                the_org.delete(obj, record_id)
                return {"id": canonical(record_id), "success": True, "errors": []}
        raise SfError(404, "ENTITY_IS_DELETED", "entity is deleted")
    with the_org.lock:
        return jsonify(_apply(the_org, wanted, request.args.get("allOrNone") == "true", one))
