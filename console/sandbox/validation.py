"""Validation of property writes, as HubSpot reports it."""
from __future__ import annotations

import re

from .errors import ApiError, validation
from .records import KNOWN
from .schema import DATETIME_PROPS, NUMBER_PROPS, PROPERTIES, UNIQUE

READ_ONLY = {"hs_object_id", "createdate", "lastmodifieddate", "hs_lastmodifieddate"}
OPTIONS = {t: {p["name"]: {o["value"] for o in p["options"]} for p in props if p["type"] == "enumeration" and p["options"]}
           for t, props in PROPERTIES.items()}
NAMES = {t: {p["name"] for p in props} for t, props in PROPERTIES.items()}


def property_errors(object_type: str, props: dict) -> list[dict]:
    errors = []
    if not isinstance(props, dict):
        return [{"message": "properties must be an object", "code": "INVALID_INPUT", "context": {}}]
    for name, value in props.items():
        if name not in NAMES[object_type]:
            errors.append({"message": f'Property "{name}" does not exist', "code": "PROPERTY_DOESNT_EXIST",
                           "context": {"propertyName": [name]}})
        elif name in READ_ONLY:
            errors.append({"message": f'"{name}" is a read only property; its value cannot be set.',
                           "code": "READ_ONLY_VALUE", "context": {"propertyName": [name]}})
        elif value not in (None, "") and name in OPTIONS[object_type] and str(value) not in OPTIONS[object_type][name]:
            errors.append({"message": f'{value} was not one of the allowed options', "code": "INVALID_OPTION",
                           "context": {"propertyName": [name]}})
    return errors


def check_properties(object_type: str, props: dict) -> None:
    errors = property_errors(object_type, props)
    if errors:
        raise validation("Property values were not valid", errors)


DEFINED: list[tuple[str, str]] = []  # (object type, name) of properties created through the API


def forget_defined_properties() -> None:
    """Drop the properties created through the API (a sandbox server stopping: the next starts clean)."""
    while DEFINED:
        object_type, name = DEFINED.pop()
        PROPERTIES[object_type][:] = [p for p in PROPERTIES[object_type] if p["name"] != name]
        for names in (NAMES[object_type], KNOWN[object_type], UNIQUE[object_type]):
            names.discard(name)
        OPTIONS[object_type].pop(name, None)
        DATETIME_PROPS.discard(name)
        NUMBER_PROPS.discard(name)


PROPERTY_TYPES = {"string": ("text", "textarea", "phonenumber"), "number": ("number",), "date": ("date",),
                  "datetime": ("date",), "enumeration": ("select", "radio", "checkbox"), "bool": ("booleancheckbox",)}
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,99}$")


def define_property(object_type: str, body: dict) -> dict:
    """A new property of `object_type` (POST /crm/v3/properties/{type}), validated as HubSpot does.
    Properties are the account's schema: every portal of this sandbox process sees them."""
    errors = []
    name, type_, field = body.get("name"), body.get("type"), body.get("fieldType")
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        errors.append("name must start with a letter and hold only lower-case letters, digits and _")
    for key in ("label", "groupName"):
        if not isinstance(body.get(key), str) or not body[key].strip():
            errors.append(f"{key} is required")
    if type_ not in PROPERTY_TYPES:
        errors.append(f"type must be one of {', '.join(PROPERTY_TYPES)}")
    elif field not in PROPERTY_TYPES[type_]:
        errors.append(f"fieldType {field!r} does not fit type {type_!r}")
    if errors:
        raise validation("Property values were not valid", [{"message": e, "code": "INVALID_INPUT"} for e in errors])
    if name in NAMES[object_type]:
        raise ApiError(409, f"A property named '{name}' already exists.", "OBJECT_ALREADY_EXISTS")
    options = body.get("options") if type_ == "enumeration" else []
    prop = {"name": name, "label": body["label"], "type": type_, "fieldType": field, "groupName": body["groupName"],
            "description": str(body.get("description") or ""), "options": options or [], "hidden": False,
            "calculated": False, "hasUniqueValue": bool(body.get("hasUniqueValue"))}
    PROPERTIES[object_type].append(prop)
    DEFINED.append((object_type, str(name)))
    NAMES[object_type].add(name)
    KNOWN[object_type].add(name)
    if prop["hasUniqueValue"]:
        UNIQUE[object_type].add(name)
    if type_ in ("date", "datetime"):
        DATETIME_PROPS.add(name)
    elif type_ == "number":
        NUMBER_PROPS.add(name)
    if options:
        OPTIONS[object_type][name] = {str(o.get("value")) for o in options if isinstance(o, dict)}
    return prop
