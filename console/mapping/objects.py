"""The object registry: every kind of record a connection can sync, with its labels, its place in the sync
order, its targets (mapping/targets.py) and its default mapping.

The standard objects register here (which of them a provider offers, and their default mappings, are its
connector's vocabulary); a portal's custom objects come from its schemas, stored per connection when a
person chooses to sync one (`remember`), since a type id like "2-7351" names different objects in
different portals. Nothing here calls the provider: the wizard reads the schemas and hands them in.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..connectors.vocabulary import FieldSpec
from ..extensions import db
from ..models import IntegrationObjectType
from . import vocabulary
from .targets import ATTRIBUTE, custom_type


@dataclass(frozen=True)
class ObjectKind:
    name: str        # the provider's object type, as the API paths name it
    singular: str
    plural: str
    rank: int        # sync order: what others associate with goes first
    standard: bool = True


CORE = ("companies", "contacts", "deals")  # the console's people, organisations and pipeline
STANDARD = {k.name: k for k in (
    ObjectKind("companies", "Company", "Companies", 10), ObjectKind("contacts", "Contact", "Contacts", 20),
    ObjectKind("deals", "Deal", "Deals", 30), ObjectKind("products", "Product", "Products", 40),
    ObjectKind("line_items", "Line item", "Line items", 50), ObjectKind("tickets", "Ticket", "Tickets", 60))}
CUSTOM_RANK = 70

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


def more(connection_id: int | None) -> tuple[str, ...]:
    """The standard objects the connection's provider offers beside the core three ("More objects")."""
    return vocabulary.of_connection(connection_id).more_objects


def defaults(object_type: str, connection_id: int) -> tuple[list[FieldSpec], list[str]]:
    """The default field mappings and the picklists whose options get an enum table (the provider's
    vocabulary names them; a custom object's follow from its stored schema)."""
    words = vocabulary.of_connection(connection_id)
    if object_type in words.default_fields:
        return words.default_fields[object_type], words.enum_fields.get(object_type, [])
    row = custom_type(connection_id, object_type)
    if row is None:
        return [], []
    fields: list[FieldSpec] = []
    enums: list[str] = []
    frame = words.record_frame
    for prop in row.properties:
        name, typ = prop["name"], prop.get("type", "string")
        if name in frame:  # the owner and the times (once each: a schema may name both createdates)
            if frame[name] not in {f.target for f in fields}:
                fields.append(FieldSpec(name, frame[name], "trim" if frame[name] == "owner_external_id" else "datetime_utc"))
        elif name != words.record_id:
            transform = words.type_transforms.get(typ, "trim")
            fields.append(FieldSpec(name, ATTRIBUTE + name, transform, required=name == row.primary_property))
            if transform == "enum":
                enums.append(name)
    return fields, enums


def remember(connection_id: int, schema: dict) -> IntegrationObjectType:
    """Store (or refresh) one custom object's schema for the connection; the caller commits."""
    row = custom_type(connection_id, schema["object_type"]) or IntegrationObjectType(
        connection_id=connection_id, object_type=schema["object_type"])
    for key in ("name", "singular", "plural", "primary_property", "properties", "associations"):
        setattr(row, key, schema[key])
    db.session.add(row)
    return row

