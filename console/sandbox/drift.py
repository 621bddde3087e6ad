"""The portal's schema changed on demand, as a HubSpot admin changes it on a Friday afternoon: a property
relabelled ("renamed": HubSpot never changes a property's internal name), deleted, retyped or made
read-only, a picklist option removed. The schema is the sandbox process's, like properties created through
the API: every change is undone when the sandbox server stops, so the next one starts from the seed."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .errors import validation
from .records import KNOWN
from .schema import PROPERTIES
from .validation import NAMES, OPTIONS, PROPERTY_TYPES, READ_ONLY

ACTIONS = ("rename", "delete", "retype", "remove_option", "read_only")
_UNDO: list[Callable[[], None]] = []


def change(object_type: str, action: str, name: str, value: Any = None) -> dict:
    """Apply one change; what the property is now (None when deleted)."""
    if object_type not in PROPERTIES:
        raise validation(f"Unknown object type {str(object_type)[:40]!r}.")
    if action not in ACTIONS:
        raise validation(f"action must be one of {', '.join(ACTIONS)}.")
    props = PROPERTIES[object_type]
    prop = next((p for p in props if p["name"] == name), None)
    if prop is None:
        raise validation(f"No property {str(name)[:100]!r} on {object_type}.")
    if action == "rename":
        if not isinstance(value, str) or not value.strip():
            raise validation("value: the new label.")
        old_label = prop["label"]
        prop["label"] = value.strip()[:200]
        _UNDO.append(lambda: prop.__setitem__("label", old_label))
    elif action == "delete":
        at = props.index(prop)
        props.remove(prop)
        NAMES[object_type].discard(name)
        KNOWN[object_type].discard(name)
        options = OPTIONS[object_type].pop(name, None)
        _UNDO.append(lambda: _restore(object_type, prop, at, options))
        return {"name": name, "deleted": True}
    elif action == "retype":
        if value not in PROPERTY_TYPES:
            raise validation(f"value: one of {', '.join(PROPERTY_TYPES)}.")
        before = (prop["type"], prop["fieldType"])
        prop["type"], prop["fieldType"] = value, PROPERTY_TYPES[value][0]
        _UNDO.append(lambda: prop.update(type=before[0], fieldType=before[1]))
    elif action == "remove_option":
        kept = [o for o in prop.get("options") or [] if o.get("value") != value]
        if len(kept) == len(prop.get("options") or []):
            raise validation(f"{name} has no option {str(value)[:100]!r}.")
        all_options = list(prop["options"])
        prop["options"] = kept
        OPTIONS[object_type].get(name, set()).discard(str(value))

        def put_back() -> None:
            prop["options"] = all_options
            OPTIONS[object_type].get(name, set()).add(str(value))
        _UNDO.append(put_back)
    elif action == "read_only":
        before_meta = prop.get("modificationMetadata")
        prop["modificationMetadata"] = {**(before_meta or {}), "readOnlyValue": True}
        added = name not in READ_ONLY
        READ_ONLY.add(name)

        def writable() -> None:
            if before_meta is None:
                prop.pop("modificationMetadata", None)
            else:
                prop["modificationMetadata"] = before_meta
            if added:
                READ_ONLY.discard(name)
        _UNDO.append(writable)
    return dict(prop)


def _restore(object_type: str, prop: dict, at: int, options: set | None) -> None:
    PROPERTIES[object_type].insert(at, prop)
    NAMES[object_type].add(prop["name"])
    KNOWN[object_type].add(prop["name"])
    if options is not None:
        OPTIONS[object_type][prop["name"]] = options


def undo_all() -> None:
    """Put the schema back as the seed made it (newest change first)."""
    while _UNDO:
        _UNDO.pop()()
