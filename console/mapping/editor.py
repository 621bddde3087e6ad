"""Changes to a connection's mapping made in the wizard: one row per internal field, the enum table of
each picklist, and the sync jobs (which objects are read, how often). Rows are checked on their own
when saved; the whole mapping is checked by `validate` before it can be confirmed."""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from .. import audit
from ..choices import Direction, SystemOfRecord, WriteCondition
from ..connectors.vocabulary import Vocabulary
from ..extensions import db
from ..models import IntegrationConnection, IntegrationEnumMapping, IntegrationFieldMapping, User
from ..refusals import Refused
from .outbound import writable_transform
from .targets import ATTRIBUTE
from .validate import row_problem
from .vocabulary import of_connection


class MappingRefused(Refused):
    pass


@dataclass(frozen=True)
class Flow:
    """Which way a field flows, who wins a conflict, and when an outbound write goes ahead."""

    direction: str = Direction.INBOUND.value
    system_of_record: str = SystemOfRecord.PROVIDER.value
    condition: str = WriteCondition.ALWAYS.value


def flow_problem(flow: Flow, transform: str, prop: dict, read_only: frozenset[str] = frozenset(),
                 writes: bool = True) -> str | None:
    """Why this flow cannot be saved for a field mapped through `transform` from `prop`, or None."""
    if flow.direction not in Direction.values() or flow.system_of_record not in SystemOfRecord.values() or \
            flow.condition not in WriteCondition.values():
        return "Choose a direction, a system of record and a condition from the lists."
    if flow.direction == Direction.INBOUND.value:
        return "A condition applies only to fields written to the CRM." if flow.condition else None
    if not writes:
        return "The console does not write to this CRM yet: keep the field inbound."
    if not writable_transform(transform):
        return (f"The '{transform}' transform loses information on the way in, so this field cannot be written "
                "back to the CRM; map it through a transform with an exact inverse, or keep it inbound.")
    if prop.get("calculated") or prop.get("name") in read_only:
        return f"The CRM computes {prop.get('name')} itself: it cannot be written."
    return None


def rows(connection_id: int, object_type: str) -> dict[str, IntegrationFieldMapping]:
    return {r.target_field: r for r in db.session.scalars(sa.select(IntegrationFieldMapping).where(
        IntegrationFieldMapping.connection_id == connection_id, IntegrationFieldMapping.object_type == object_type,
    ).order_by(IntegrationFieldMapping.position, IntegrationFieldMapping.id))}


def _default_args(words: Vocabulary, object_type: str, target: str, transform: str) -> dict:
    spec = next((f for f in words.default_fields.get(object_type, []) if f.target == target and f.transform == transform),
                None)
    return dict(spec.args or {}) if spec else {}


def set_field(conn: IntegrationConnection, object_type: str, target: str, source: str, transform: str,
              required: bool, sensitive: bool, properties: list[dict], user: User,
              flow: Flow | None = None) -> IntegrationFieldMapping:
    by_name = {p["name"]: p for p in properties}
    why = row_problem(object_type, target, source, transform, by_name, conn.id)
    if why:
        raise MappingRefused(why, "transform" if "mismatch" in why else "source")
    flow = flow or Flow()
    if target.startswith(ATTRIBUTE) and flow.direction != Direction.INBOUND.value:
        raise MappingRefused("This field is kept among the record's own fields, which are read from the CRM only: "
                             "keep it inbound.", "direction")
    words = of_connection(conn.id)  # read before a new row is pending: a query would flush it half made
    why = flow_problem(flow, transform, by_name.get(source) or {}, words.read_only, words.writes)
    if why:
        raise MappingRefused(why, "direction")
    current = rows(conn.id, object_type)
    row = current.get(target)
    if row is None:
        row = IntegrationFieldMapping(connection_id=conn.id, object_type=object_type, target_field=target,
                                      position=len(current))
        db.session.add(row)
    if row.transform != transform or row.source_field != source:
        row.transform_args = _default_args(words, object_type, target, transform) or None
    row.source_field, row.transform, row.required, row.sensitive = source, transform, required, sensitive
    row.direction, row.system_of_record, row.condition = flow.direction, flow.system_of_record, flow.condition
    if transform == "enum":
        _ensure_enum_rows(conn, object_type, by_name[source])
    audit.record("mapping.field_saved", conn, user, object_type=object_type, field=target, source=source,
                 transform=transform, required=required, sensitive=sensitive, direction=flow.direction,
                 system_of_record=flow.system_of_record, condition=flow.condition)
    db.session.flush()
    return row


def remove_field(conn: IntegrationConnection, object_type: str, target: str, user: User) -> None:
    row = rows(conn.id, object_type).get(target)
    if row is None:
        raise MappingRefused("That field is not mapped.")
    db.session.delete(row)
    audit.record("mapping.field_removed", conn, user, object_type=object_type, field=target)
    db.session.flush()


def _ensure_enum_rows(conn: IntegrationConnection, object_type: str, prop: dict) -> None:
    have = set(db.session.scalars(sa.select(IntegrationEnumMapping.source_value).where(
        IntegrationEnumMapping.connection_id == conn.id, IntegrationEnumMapping.object_type == object_type,
        IntegrationEnumMapping.source_field == prop["name"])))
    for option in prop.get("options", []):
        if option["value"] not in have:
            db.session.add(IntegrationEnumMapping(connection_id=conn.id, object_type=object_type,
                                                  source_field=prop["name"], source_value=option["value"],
                                                  source_label=option.get("label"), target_value=None))


def enum_rows(connection_id: int, object_type: str) -> dict[str, list[IntegrationEnumMapping]]:
    grouped: dict[str, list[IntegrationEnumMapping]] = {}
    for e in db.session.scalars(sa.select(IntegrationEnumMapping).where(
            IntegrationEnumMapping.connection_id == connection_id, IntegrationEnumMapping.object_type == object_type,
    ).order_by(IntegrationEnumMapping.id)):
        grouped.setdefault(e.source_field, []).append(e)
    return grouped


def save_enums(conn: IntegrationConnection, object_type: str, source_field: str,
               values: dict[str, tuple[str, bool]], user: User) -> int:
    """values: provider option value -> (our value, ignored). Returns how many rows changed."""
    changed = 0
    for entry in enum_rows(conn.id, object_type).get(source_field, []):
        if entry.source_value not in values:
            continue
        typed, ignored = values[entry.source_value]
        target = typed.strip()[:200] or None
        if (entry.target_value, entry.ignored) != (target, ignored):
            entry.target_value, entry.ignored = target, ignored
            changed += 1
    audit.record("mapping.enums_saved", conn, user, object_type=object_type, field=source_field, changed=changed)
    db.session.flush()
    return changed
