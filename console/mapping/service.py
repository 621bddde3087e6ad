"""Mappings stored per connection and object type: defaults, enum tables, and loading a spec."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import IntegrationConnection, IntegrationEnumMapping, IntegrationFieldMapping
from .mapper import FieldRule, MappingSpec, Reference, _extra_sources
from .objects import defaults


def ensure_default_mappings(connection_id: int, object_type: str, properties: list[dict]) -> int:
    """Create and commit the default field mappings and an enum row for every provider picklist option
    (target = the option's label) when the connection has none yet. Returns rows added.

    The first sync and the wizard's mapping page (or a test batch) may both find none at the same moment:
    the loser's commit hits the unique keys and is rolled back, and the winner's rows stand."""
    exists = db.session.scalar(sa.select(sa.func.count()).select_from(IntegrationFieldMapping).where(
        IntegrationFieldMapping.connection_id == connection_id, IntegrationFieldMapping.object_type == object_type))
    if exists:
        return 0
    added = 0
    fields, enum_fields = defaults(object_type, connection_id)
    for pos, spec in enumerate(fields):
        db.session.add(IntegrationFieldMapping(
            connection_id=connection_id, object_type=object_type, source_field=spec.source,
            target_field=spec.target, transform=spec.transform, transform_args=spec.args,
            required=spec.required, sensitive=spec.sensitive, position=pos))
        added += 1
    by_name = {p["name"]: p for p in properties}
    for name in enum_fields:
        for option in (by_name.get(name) or {}).get("options", []):
            db.session.add(IntegrationEnumMapping(
                connection_id=connection_id, object_type=object_type, source_field=name,
                source_value=option["value"], source_label=option.get("label"), target_value=option.get("label")))
            added += 1
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return 0
    return added


def governed_fields(connection_id: int) -> tuple[frozenset[str], frozenset[str]]:
    """The connection's source fields that never leave the source (withheld) and those that never enter
    logs (synced, sensitive everywhere), as the intake named them, lower-cased; one query."""
    row = db.session.execute(sa.select(IntegrationConnection.withheld_fields, IntegrationConnection.masked_fields)
                             .where(IntegrationConnection.id == connection_id)).first()
    withheld, masked = row if row is not None else (None, None)
    return frozenset(str(n).lower() for n in withheld or []), frozenset(str(n).lower() for n in masked or [])


def load_spec(connection_id: int, object_type: str, reference: Reference | None = None) -> MappingSpec:
    """The connection's rules for one object type; a rule reading a withheld field is left out, and one
    reading a field that never enters logs is sensitive whatever its row says."""
    withheld, masked = governed_fields(connection_id)
    rows = db.session.scalars(sa.select(IntegrationFieldMapping).where(
        IntegrationFieldMapping.connection_id == connection_id, IntegrationFieldMapping.object_type == object_type,
    ).order_by(IntegrationFieldMapping.position, IntegrationFieldMapping.id)).all()
    rules = [FieldRule(r.source_field, r.target_field, r.transform, dict(r.transform_args or {}), r.required,
                       r.sensitive, r.direction or "in", r.system_of_record or "provider", r.condition or "")
             for r in rows]
    rules = [r for r in rules if not ({r.source.lower(), *(a.lower() for a in _extra_sources(r))} & withheld)]
    for rule in rules:
        rule.sensitive = rule.sensitive or rule.source.lower() in masked
    enums = {(e.source_field, e.source_value): (e.target_value, e.ignored)
             for e in db.session.scalars(sa.select(IntegrationEnumMapping).where(
                 IntegrationEnumMapping.connection_id == connection_id,
                 IntegrationEnumMapping.object_type == object_type))}
    return MappingSpec(object_type, rules, enums, reference or Reference(), withheld)
