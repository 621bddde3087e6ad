"""Whether a connection's mapping for one object type is complete, and exactly what is missing:
a required field unmapped, a property the provider does not have, a type no transform can convert,
a picklist option neither mapped nor explicitly ignored."""
from __future__ import annotations

from collections import Counter
from typing import NamedTuple

import sqlalchemy as sa

from ..extensions import db
from ..models import IntegrationEnumMapping, IntegrationFieldMapping
from .targets import READS, target, targets_of, transforms_for


class Problem(NamedTuple):
    target: str | None
    message: str


def row_problem(object_type: str, target_name: str, source: str, transform: str,
                by_name: dict[str, dict], connection_id: int | None = None) -> str | None:
    """One mapping row on its own: does the property exist and can the transform make the field from it?"""
    tgt = target(object_type, target_name, connection_id)
    if tgt is None:
        return f"“{target_name}” is not a field of {object_type}."
    prop = by_name.get(source)
    if prop is None:
        return f"The provider has no property “{source}” on {object_type}."
    if transform not in transforms_for(tgt):
        allowed = ", ".join(transforms_for(tgt))
        return f"Type mismatch: {tgt.label} is a {tgt.kind} field; use one of: {allowed}."
    inferred = prop.get("inferred")  # a text property whose values look like another kind (inference.py)
    if prop.get("type", "string") not in READS[transform] and not (inferred and inferred.property_type in READS[transform]):
        return (f"Type mismatch: “{source}” is a {prop.get('type')} property; “{transform}” reads "
                f"{' or '.join(READS[transform])}.")
    return None


def validate(connection_id: int, object_type: str, properties: list[dict]) -> list[Problem]:
    rows = db.session.scalars(sa.select(IntegrationFieldMapping).where(
        IntegrationFieldMapping.connection_id == connection_id,
        IntegrationFieldMapping.object_type == object_type)).all()
    by_name = {p["name"]: p for p in properties}
    problems = [Problem(t.name, f"A required field is unmapped: {t.label}.")
                for t in targets_of(object_type, connection_id) if t.required and t.name not in {r.target_field for r in rows}]
    for name, n in Counter(r.target_field for r in rows).items():
        if n > 1:
            problems.append(Problem(name, f"{n} mappings write {name}; keep one."))
    for row in rows:
        why = row_problem(object_type, row.target_field, row.source_field, row.transform, by_name, connection_id)
        if why:
            problems.append(Problem(row.target_field, why))
    problems += _enum_problems(connection_id, object_type, rows, by_name)
    return problems


def _enum_problems(connection_id: int, object_type: str, rows, by_name: dict[str, dict]) -> list[Problem]:
    enums = {(e.source_field, e.source_value): e for e in db.session.scalars(sa.select(IntegrationEnumMapping).where(
        IntegrationEnumMapping.connection_id == connection_id, IntegrationEnumMapping.object_type == object_type))}
    problems = []
    for row in rows:
        if row.transform != "enum" or row.source_field not in by_name:
            continue
        for option in by_name[row.source_field].get("options", []):
            entry = enums.get((row.source_field, option["value"]))
            if entry is None or not (entry.ignored or (entry.target_value or "").strip()):
                problems.append(Problem(row.target_field, f"Picklist option “{option.get('label') or option['value']}” "
                                        f"of {row.source_field} is neither mapped nor ignored."))
    return problems
