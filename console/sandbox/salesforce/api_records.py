"""One record at a time: read, create, update, delete, upsert on an external-id field; and replication:
`getUpdated` / `getDeleted` over a window of at most 30 days within the last 30."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Blueprint, g, jsonify, request

from .access import org
from .api_query import shaped
from .errors import SfError, invalid_field, invalid_type, not_found
from .schema import Field, SObject, sobject
from .state import stamp
from .values import checked, writable

bp = Blueprint("sf_records", __name__)
SOBJECTS = "/services/data/v<version>/sobjects/<name>"
MAX_WINDOW = timedelta(days=30)


def _obj(name: str) -> SObject:
    obj = sobject(name)
    if obj is None:
        raise invalid_type(name)
    return obj


def _external_field(obj: SObject, name: str) -> Field:
    """The external-id field a URL names (an upsert's or a read's key; Id is one too, as in Salesforce)."""
    field = obj.field(name)
    if field is None or not (field.external_id or field.type == "id"):
        raise SfError(400, "NOT_FOUND", f"Provided external ID field does not exist or is not accessible: {name[:80]}")
    return field


def _body() -> object:
    body = request.get_json(silent=True)
    if body is None:
        raise SfError(400, "JSON_PARSER_ERROR", "The request body is not valid JSON.")
    return body


@bp.get(f"{SOBJECTS}/<record_id>")
def read(version: str, name: str, record_id: str):
    obj, the_org = _obj(name), org()
    with the_org.lock:
        record = the_org.find(obj, record_id)
        if record is None:
            raise not_found()
        wanted = [f.strip() for f in request.args.get("fields", "").split(",") if f.strip()]
        fields = [(obj.field(f) or _no_field(f, obj)).name for f in wanted] or [f.name for f in obj.fields]
        return jsonify(shaped(obj, record, fields, version))


@bp.get(f"{SOBJECTS}/<field_name>/<path:value>")
def read_by_external_id(version: str, name: str, field_name: str, value: str):
    obj, the_org = _obj(name), org()
    field = _external_field(obj, field_name)
    with the_org.lock:
        found = the_org.by_external_id(obj, field.name, value)
        if len(found) > 1:
            return jsonify([f"/services/data/v{version}/sobjects/{obj.name}/{r['Id']}" for r in found]), 300
        if not found:
            raise not_found()
        return jsonify(shaped(obj, found[0], [f.name for f in obj.fields], version))


def _no_field(name: str, obj: SObject):
    raise invalid_field(name, obj.name)


@bp.post(f"{SOBJECTS}/")
@bp.post(SOBJECTS)
def create(version: str, name: str):
    obj, the_org = _obj(name), org()
    with the_org.lock:
        record = the_org.insert(obj, checked(the_org, obj, _body(), creating=True), g.user_id)
    return jsonify({"id": record["Id"], "success": True, "errors": []}), 201


@bp.patch(f"{SOBJECTS}/<record_id>")
def update(version: str, name: str, record_id: str):
    obj, the_org = _obj(name), org()
    with the_org.lock:
        record = the_org.find(obj, record_id)
        if record is None:
            raise not_found()
        the_org.change(obj, record, checked(the_org, obj, _body(), creating=False), g.user_id)
    return "", 204


@bp.delete(f"{SOBJECTS}/<record_id>")
def delete(version: str, name: str, record_id: str):
    obj, the_org = _obj(name), org()
    writable(obj)
    with the_org.lock:
        if not the_org.delete(obj, record_id):
            raise SfError(404, "ENTITY_IS_DELETED", "entity is deleted") if the_org.deleted[obj.name].get(
                record_id) else not_found()
    return "", 204


@bp.patch(f"{SOBJECTS}/<field_name>/<path:value>")
def upsert(version: str, name: str, field_name: str, value: str):
    """Create the record whose external id is `value`, or update the one that has it (300 when several do)."""
    obj, the_org = _obj(name), org()
    field = _external_field(obj, field_name)
    with the_org.lock:
        values = checked(the_org, obj, _body(), creating=False)
        if field.name in values and values[field.name] != value:
            raise SfError(400, "INVALID_FIELD", f"The value of {field.name} in the body must match the URL's.")
        found = the_org.by_external_id(obj, field.name, value)
        if len(found) > 1:
            return jsonify([f"/services/data/v{version}/sobjects/{obj.name}/{r['Id']}" for r in found]), 300
        if found:
            the_org.change(obj, found[0], values, g.user_id)
            return jsonify({"id": found[0]["Id"], "success": True, "errors": [], "created": False}), 200
        record = the_org.insert(obj, checked(the_org, obj, {**values, field.name: value}, creating=True), g.user_id)
    return jsonify({"id": record["Id"], "success": True, "errors": [], "created": True}), 201


def _window() -> tuple[str, str]:
    try:
        start = datetime.fromisoformat(request.args.get("start", "").replace("Z", "+00:00"))
        end = datetime.fromisoformat(request.args.get("end", "").replace("Z", "+00:00"))
    except ValueError:
        raise SfError(400, "INVALID_REPLICATION_DATE", "start and end must be ISO 8601 datetimes") from None
    start, end = (d.astimezone(UTC).replace(tzinfo=None) if d.tzinfo else d for d in (start, end))
    now = datetime.now(UTC).replace(tzinfo=None)
    if end <= start or end - start > MAX_WINDOW or start < now - MAX_WINDOW - timedelta(minutes=1):
        raise SfError(400, "INVALID_REPLICATION_DATE", "startDate must be before endDate, at most 30 days before it, "
                      "and within the last 30 days")
    return stamp(start), stamp(min(end, now))


@bp.get(f"{SOBJECTS}/updated/")
@bp.get(f"{SOBJECTS}/updated")
def updated(version: str, name: str):
    obj, the_org = _obj(name), org()
    start, end = _window()
    with the_org.lock:
        found = [r["Id"] for r in the_org.records[obj.name].values() if start <= r["SystemModstamp"] < end]
    # latestDateCovered is truncated to the minute, as Salesforce answers it
    return jsonify({"ids": sorted(found), "latestDateCovered": end[:16] + ":00.000+0000"})


@bp.get(f"{SOBJECTS}/deleted/")
@bp.get(f"{SOBJECTS}/deleted")
def deleted(version: str, name: str):
    obj, the_org = _obj(name), org()
    start, end = _window()
    with the_org.lock:
        gone = [{"id": r["Id"], "deletedDate": r["SystemModstamp"]} for r in the_org.deleted[obj.name].values()
                if start <= r["SystemModstamp"] < end]
    earliest = stamp(datetime.now(UTC).replace(tzinfo=None) - MAX_WINDOW)
    return jsonify({"deletedRecords": sorted(gone, key=lambda d: d["id"]), "earliestDateAvailable": earliest,
                    "latestDateCovered": end[:16] + ":00.000+0000"})
