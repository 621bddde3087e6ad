"""Validation of property writes, as HubSpot reports it."""
from __future__ import annotations

from .errors import validation
from .schema import PROPERTIES

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
