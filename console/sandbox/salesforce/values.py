"""A write's field values checked as Salesforce checks them: the field exists and is writable, its value has
the field's type and length, a reference names an existing record of the right object, a create names its
required fields. A failure is an SfError with Salesforce's error code and the fields it concerns."""
from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from .errors import SfError
from .ids import canonical
from .schema import SObject
from .seed import RECORD_TYPES
from .state import Org

EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
MAX_TEXT = 131_072  # a long text area's limit; every other text field is bounded by its length


def checked(org: Org, obj: SObject, values: Any, creating: bool) -> dict:
    """The values as stored (canonical field names); raises SfError for the first problem."""
    writable(obj)
    if not isinstance(values, dict):
        raise SfError(400, "JSON_PARSER_ERROR", "The request body must be a JSON object of field values.")
    out: dict[str, Any] = {}
    for written, value in values.items():
        if written == "attributes":
            continue
        field = obj.field(str(written))
        if field is None:
            raise SfError(400, "INVALID_FIELD", f"No such column '{str(written)[:80]}' on sobject of type {obj.name}", [])
        if not field.writable:
            raise SfError(400, "INVALID_FIELD_FOR_INSERT_UPDATE",
                          f"Unable to create/update fields: {field.name}. Please check the security settings of this "
                          "field and verify that it is read/write for your profile or permission set.", [field.name])
        out[field.name] = _value(org, obj, field, value)
    if creating:
        missing = [f.name for f in obj.fields if f.required and f.writable and out.get(f.name) in (None, "")]
        if missing:
            raise SfError(400, "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]", missing)
    return out


def writable(obj: SObject) -> None:
    if not obj.createable:
        raise SfError(400, "INVALID_TYPE_FOR_OPERATION", f"entity type {obj.name} does not support this operation")


def _value(org: Org, obj: SObject, field, value: Any) -> Any:
    name, kind = field.name, field.type
    if value is None:
        if field.required:
            raise SfError(400, "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{name}]", [name])
        return None
    if kind in ("currency", "double", "percent"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _bad(name, f"{name}: value not of required type: {str(value)[:40]}")
        return float(value)
    if kind == "boolean":
        if not isinstance(value, bool):
            raise _bad(name, f"{name}: value not of required type: {str(value)[:40]}")
        return value
    if not isinstance(value, str):
        raise _bad(name, f"{name}: value not of required type: {str(value)[:40]}")
    if kind == "date":
        try:
            return date.fromisoformat(value[:10]).isoformat()
        except ValueError:
            raise _bad(name, f"{name}: value not of required type: {value[:40]}") from None
    if kind == "datetime":
        try:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise _bad(name, f"{name}: value not of required type: {value[:40]}") from None
        return value
    if kind == "reference":
        target = canonical(value)
        if target is None or not any(target in RECORD_TYPES.values() if t == "RecordType" else target in org.records.get(t, {})
                                     for t in field.refers_to):
            raise SfError(400, "INVALID_CROSS_REFERENCE_KEY", f"{name}: id value of incorrect type: {value[:40]}", [name])
        return target
    if len(value) > (field.length or MAX_TEXT):
        raise SfError(400, "STRING_TOO_LONG", f"{field.label}: data value too large: {value[:40]}… (max length={field.length})",
                      [name])
    if kind == "email" and value and not EMAIL.fullmatch(value):
        raise SfError(400, "INVALID_EMAIL_ADDRESS", f"{field.label}: invalid email address: {value[:80]}", [name])
    if kind == "picklist" and value and field.picklist and value not in field.picklist:
        raise SfError(400, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", f"{field.label}: bad value for restricted picklist "
                      f"field: {value[:80]}", [name])
    return value


def _bad(name: str, message: str) -> SfError:
    return SfError(400, "JSON_PARSER_ERROR", message, [name])
