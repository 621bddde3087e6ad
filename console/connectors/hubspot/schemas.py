"""A portal's custom object schemas (/crm/v3/schemas): the provider's answer, so every piece is bounded and
checked before the console keeps it (mapping/objects.remember stores one per connection)."""
from __future__ import annotations

import re
from typing import Any

CORE = ("companies", "contacts", "deals")
CUSTOM_TYPE_ID = re.compile(r"2-\d{1,12}")
MAX_SCHEMAS, MAX_PROPERTIES, MAX_LABEL = 50, 200, 120
MAX_NAME = 78  # a target's name is at most 80 characters, "f." included
PROPERTY_NAME = re.compile(rf"[a-z0-9_]{{1,{MAX_NAME}}}")
STANDARD_IDS = {"0-1": "contacts", "0-2": "companies", "0-3": "deals", "0-5": "tickets", "0-7": "products",
                "0-8": "line_items"}


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


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _text(value: Any) -> str:
    return value.strip()[:MAX_LABEL] if isinstance(value, str) else ""
