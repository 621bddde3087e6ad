"""CSV header mapping: suggestions from column names, the mapping spec the sync engine applies, and
saved templates per connection. Every CSV value is text, so each target kind has one text transform."""
from __future__ import annotations

import re
from difflib import SequenceMatcher

import sqlalchemy as sa

from .. import audit
from ..extensions import db
from ..mapping.mapper import FieldRule, MappingSpec
from ..mapping.options import Choice, accepted, default_choices
from ..mapping.targets import TARGETS, Target
from ..mapping.vocabulary import every_synonym
from ..models import (
    CsvImportTemplate,
    IntegrationConnection,
    IntegrationEnumMapping,
    IntegrationFieldMapping,
    User,
)

TEXT_TRANSFORM = {"text": "trim", "email": "email", "phone": "phone_e164", "datetime": "datetime_utc",
                  "number": "decimal", "code": "trim", "picklist": "option", "owner": "trim", "stage": "trim",
                  "pipeline": "trim"}
ID_HINTS = ("record id", "id", "hs_object_id", "external id", "email")
CSV_SYNONYMS = {"first_name": ("first", "given name"), "last_name": ("last", "surname", "family name"),
                "phone": ("telephone", "mobile", "phone number"), "owner_name": ("contact owner", "owner"),
                "source_attribution": ("original source", "lead source", "source"),
                "next_activity_at": ("next activity date",), "deal_stage": ("stage", "deal stage"),
                "amount": ("amount", "value")}


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _score(target: Target, column: str) -> float:
    wanted = [target.name, target.label, *every_synonym(target.name), *CSV_SYNONYMS.get(target.name, ())]
    return max(SequenceMatcher(None, _norm(w), _norm(column)).ratio() for w in wanted)


def suggest(object_type: str, header: list[str]) -> dict[str, tuple[str, int]]:
    """target -> (best column, score %) for targets with a column at least 75% similar; a column is used once."""
    pairs = sorted(((_score(t, c), t.name, c) for t in TARGETS[object_type] for c in header), reverse=True)
    taken_targets, taken_columns, out = set(), set(), {}
    for score, target, column in pairs:
        if score < 0.75 or target in taken_targets or column in taken_columns:
            continue
        out[target] = (column, round(score * 100))
        taken_targets.add(target)
        taken_columns.add(column)
    return out


def suggest_id(header: list[str]) -> str | None:
    lowered = {h.lower(): h for h in header}
    return next((lowered[h] for h in ID_HINTS if h in lowered), None)


def problems(object_type: str, mapping: dict, header: list[str]) -> list[str]:
    out = []
    if mapping.get("id_column") not in header:
        out.append("Choose the column that identifies each record (e.g. Record ID or Email).")
    fields = mapping.get("fields", {})
    for target in TARGETS[object_type]:
        if target.required and not fields.get(target.name):
            out.append(f"A required field is unmapped: {target.label}.")
    out += [f"Column “{c}” is not in the file." for c in fields.values() if c and c not in header]
    return out


def spec(object_type: str, mapping: dict, sensitive: set[str], options: dict[str, list[Choice]] | None = None
         ) -> MappingSpec:
    """The rules a file's rows are mapped by. A picklist column must hold one of `options[target]`
    (value or label, any case) and stores the value, as a sync from the CRM would."""
    by_name = {t.name: t for t in TARGETS[object_type]}

    def args(target: Target) -> dict:
        if target.kind == "phone":
            return {"region": "CA"}
        if target.kind == "picklist":
            choices = (options or {}).get(target.name) or default_choices(target.name)
            return {"options": accepted(choices), "shown": [stored for stored, _ in choices]}
        return {}
    rules = [FieldRule(column, target, TEXT_TRANSFORM[by_name[target].kind], args(by_name[target]),
                       by_name[target].required, target in sensitive)
             for target, column in mapping.get("fields", {}).items() if column and target in by_name]
    return MappingSpec(object_type, rules, {})


def picklist_options(conn: IntegrationConnection, object_type: str) -> dict[str, list[Choice]]:
    """Per picklist target, the options the client's CRM has, as its sync stores them (each enum mapping's
    target value, spelled also by the CRM's value and label): learned from the enum mappings of this
    client's connections, this one included. HubSpot's defaults where no connection maps the picklist."""
    picklists = [t.name for t in TARGETS[object_type] if t.kind == "picklist"]
    rows = db.session.execute(sa.select(IntegrationFieldMapping.target_field, IntegrationEnumMapping.target_value,
                                        IntegrationEnumMapping.source_value, IntegrationEnumMapping.source_label)
                              .join(IntegrationConnection,
                                    IntegrationConnection.id == IntegrationEnumMapping.connection_id)
                              .join(IntegrationFieldMapping, sa.and_(
                                  IntegrationFieldMapping.connection_id == IntegrationEnumMapping.connection_id,
                                  IntegrationFieldMapping.object_type == IntegrationEnumMapping.object_type,
                                  IntegrationFieldMapping.source_field == IntegrationEnumMapping.source_field))
                              .where(IntegrationConnection.client_id == conn.client_id,
                                     IntegrationEnumMapping.object_type == object_type,
                                     IntegrationEnumMapping.ignored.is_(False),
                                     IntegrationEnumMapping.target_value.isnot(None),
                                     IntegrationFieldMapping.target_field.in_(picklists))
                              .order_by(IntegrationEnumMapping.id)).all()
    learned: dict[str, dict[str, set[str]]] = {}
    for target, stored, value, label in rows:
        learned.setdefault(target or "", {}).setdefault(stored or "", set()).update(s for s in (value, label) if s)
    return {name: [(stored, tuple(sorted(spellings))) for stored, spellings in learned[name].items()]
            if name in learned else default_choices(name) for name in picklists}


def matching_template(conn: IntegrationConnection, header: list[str]) -> CsvImportTemplate | None:
    for template in db.session.scalars(sa.select(CsvImportTemplate).where(
            CsvImportTemplate.connection_id == conn.id).order_by(CsvImportTemplate.id.desc())):
        if set(template.columns) == set(header):
            return template
    return None


def save_template(conn: IntegrationConnection, name: str, object_type: str, header: list[str], mapping: dict,
                  user: User) -> CsvImportTemplate:
    template = db.session.scalar(sa.select(CsvImportTemplate).where(
        CsvImportTemplate.connection_id == conn.id, CsvImportTemplate.name == name.strip()))
    if template is None:
        template = CsvImportTemplate(connection_id=conn.id, name=name.strip()[:120], created_by_user_id=user.id)
        db.session.add(template)
    template.object_type, template.columns, template.mapping = object_type, header, mapping
    audit.record("csv_template.saved", conn, user, name=template.name)
    return template
