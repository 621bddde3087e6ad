"""The object registry: every kind of record a connection can sync, with its labels, its place in the sync
order, its targets (mapping/targets.py) and its default mapping.

HubSpot's standard objects register here; a portal's custom objects come from its schemas, stored per
connection when a person chooses to sync one (`remember`), since a type id like "2-7351" names different
objects in different portals. Nothing here calls the provider: the wizard reads the schemas and hands them in.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..extensions import db
from ..models import IntegrationObjectType
from .defaults import DEFAULT_FIELDS, ENUM_FIELDS, FieldSpec
from .targets import ATTRIBUTE, MAX_NAME, TAIL_OF, custom_type


@dataclass(frozen=True)
class ObjectKind:
    name: str        # the provider's object type, as the API paths name it
    singular: str
    plural: str
    rank: int        # sync order: what others associate with goes first
    standard: bool = True


CORE = ("companies", "contacts", "deals")  # the console's people, organisations and pipeline
MORE = ("products", "line_items", "tickets")  # offered under "More objects"
STANDARD = {k.name: k for k in (
    ObjectKind("companies", "Company", "Companies", 10), ObjectKind("contacts", "Contact", "Contacts", 20),
    ObjectKind("deals", "Deal", "Deals", 30), ObjectKind("products", "Product", "Products", 40),
    ObjectKind("line_items", "Line item", "Line items", 50), ObjectKind("tickets", "Ticket", "Tickets", 60))}
CUSTOM_RANK = 70

# What the console keeps of a portal's schemas (a provider's answer: every piece bounded)
CUSTOM_TYPE_ID = re.compile(r"2-\d{1,12}")
MAX_SCHEMAS, MAX_PROPERTIES, MAX_LABEL = 50, 200, 120
PROPERTY_NAME = re.compile(rf"[a-z0-9_]{{1,{MAX_NAME}}}")
STANDARD_IDS = {"0-1": "contacts", "0-2": "companies", "0-3": "deals", "0-5": "tickets", "0-7": "products",
                "0-8": "line_items"}


def kind(object_type: str, connection_id: int | None = None) -> ObjectKind:
    """The registered kind; a custom one as its connection stored it (else named by its type id)."""
    if object_type in STANDARD:
        return STANDARD[object_type]
    row = custom_type(connection_id, object_type)
    if row is None:
        return ObjectKind(object_type, object_type, object_type, CUSTOM_RANK, standard=False)
    return ObjectKind(object_type, row.singular, row.plural, CUSTOM_RANK, standard=False)


def label(object_type: str, connection_id: int | None = None) -> str:
    return kind(object_type, connection_id).plural


def rank(object_type: str) -> tuple[int, str]:
    """The sort key of the sync order (custom objects last, by type id)."""
    return (STANDARD[object_type].rank if object_type in STANDARD else CUSTOM_RANK, object_type)


def defaults(object_type: str, connection_id: int) -> tuple[list[FieldSpec], list[str]]:
    """The default field mappings and the picklists whose options get an enum table."""
    if object_type in DEFAULT_FIELDS:
        return DEFAULT_FIELDS[object_type], ENUM_FIELDS.get(object_type, [])
    row = custom_type(connection_id, object_type)
    if row is None:
        return [], []
    fields: list[FieldSpec] = []
    enums: list[str] = []
    for prop in row.properties:
        name, typ = prop["name"], prop.get("type", "string")
        if name in TAIL_OF:  # the owner and the times (once each: a schema may name both createdates)
            if TAIL_OF[name] not in {f.target for f in fields}:
                fields.append(FieldSpec(name, TAIL_OF[name], "datetime_utc" if "date" in name else "trim"))
        elif name != "hs_object_id":
            transform = {"number": "decimal", "datetime": "datetime_utc", "date": "datetime_utc",
                         "enumeration": "enum", "phone_number": "trim"}.get(typ, "trim")
            fields.append(FieldSpec(name, ATTRIBUTE + name, transform, required=name == row.primary_property))
            if transform == "enum":
                enums.append(name)
    return fields, enums


def custom_schemas(answer: Any) -> list[dict]:
    """A portal's custom object schemas (/crm/v3/schemas), bounded and checked: what is kept of each is
    its type id, name, labels, primary property, properties (name, label, type) and the standard objects
    it associates with. Anything malformed is left out, never raised."""
    out: list[dict] = []
    for schema in (answer if isinstance(answer, list) else [])[:MAX_SCHEMAS]:
        if not isinstance(schema, dict):
            continue
        type_id, name = schema.get("objectTypeId"), schema.get("name")
        if not (isinstance(type_id, str) and CUSTOM_TYPE_ID.fullmatch(type_id) and isinstance(name, str) and name):
            continue
        labels, props = _dict(schema.get("labels")), []
        for prop in _list(schema.get("properties"))[:MAX_PROPERTIES]:
            pname = _dict(prop).get("name")
            if isinstance(pname, str) and PROPERTY_NAME.fullmatch(pname):
                props.append({"name": pname, "label": _text(prop.get("label")) or pname,
                              "type": _text(prop.get("type")) or "string"})
        linked = {STANDARD_IDS.get(str(_dict(a).get("toObjectTypeId"))) for a in _list(schema.get("associations"))}
        primary = schema.get("primaryDisplayProperty")
        out.append({"object_type": type_id, "name": name[:100], "singular": _text(labels.get("singular")) or name[:100],
                    "plural": _text(labels.get("plural")) or name[:100], "properties": props,
                    "associations": sorted(t for t in linked if t in CORE),
                    "primary_property": primary if primary in {p["name"] for p in props} else None})
    return out


def remember(connection_id: int, schema: dict) -> IntegrationObjectType:
    """Store (or refresh) one custom object's schema for the connection; the caller commits."""
    row = custom_type(connection_id, schema["object_type"]) or IntegrationObjectType(
        connection_id=connection_id, object_type=schema["object_type"])
    for key in ("name", "singular", "plural", "primary_property", "properties", "associations"):
        setattr(row, key, schema[key])
    db.session.add(row)
    return row


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _text(value: Any) -> str:
    return value.strip()[:MAX_LABEL] if isinstance(value, str) else ""
