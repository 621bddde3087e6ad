"""The console → provider side of a mapping: which rules can be written back, a console value as the
provider property's value, and the text form both sides are compared in."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from .mapper import FieldRule, MappingSpec
from .transforms import MappingFailure

# Transforms with an exact inverse. concat, split, currency conversion, owner names and open/won/lost
# lose information on the way in, so a field mapped through them is never written back.
WRITABLE = frozenset({"none", "trim", "case", "email", "phone_e164", "datetime_utc", "decimal", "enum", "stage_label",
                      "pipeline_label"})


class NotWritable(ValueError):
    """This console value cannot be expressed as the provider property's value."""


def writable(rule: FieldRule) -> bool:
    return writable_transform(rule.transform)


def writable_transform(transform: str) -> bool:
    return transform in WRITABLE


def text_of(value: Any) -> str | None:
    """One text form for a field's value, the same whether it came from a lead's column or from mapping
    the provider's current record: what changes, ledgers and conflicts store and compare."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.isoformat(sep=" ", timespec="milliseconds")
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def console_value(rule: FieldRule, spec: MappingSpec, properties: dict) -> str | None:
    """What the provider's current properties mean for the rule's field, in text form (None when the
    value does not map: an empty or unmappable value is 'empty' for conditions)."""
    try:
        return text_of(spec.step_for(rule).apply(properties))
    except MappingFailure:
        return None


def provider_value(rule: FieldRule, spec: MappingSpec, value: str | None) -> str:
    """The provider property's value for a console value in text form ('' clears the property)."""
    if value is None:
        return ""
    t = rule.transform
    if t == "datetime_utc":
        moment = datetime.fromisoformat(value).replace(tzinfo=UTC)
        return str(int(moment.timestamp() * 1000))
    if t == "enum":
        return _reverse({k[1]: v[0] for k, v in spec.enums.items() if k[0] == rule.source and not v[1]}, value, rule)
    if t == "stage_label":
        return _reverse(spec.reference.stages, value, rule)
    if t == "pipeline_label":
        return _reverse(spec.reference.pipelines, value, rule)
    if t not in WRITABLE:
        raise NotWritable(f"{rule.target} is mapped through '{t}', which cannot be written back")
    return value


def _reverse(table: Mapping[str, str | None], value: str, rule: FieldRule) -> str:
    """The one provider value mapped to `value`; none or several make the write impossible, not a guess."""
    found = [source for source, target in table.items() if target == value]
    if len(found) != 1:
        why = "no provider value maps to" if not found else "several provider values map to"
        raise NotWritable(f"{rule.target}: {why} '{value[:60]}'")
    return found[0]
