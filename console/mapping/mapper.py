"""Map one provider record to lead fields: field mappings, enum tables, reference data, transforms."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from ..connectors.base import Reference, SourceRecord
from ..models.base import utcnow
from .transforms import TRANSFORMS, MappingFailure, decimal

__all__ = ["FieldRule", "Mapped", "MappingSpec", "Reference", "follow_up_state", "map_record"]

LEAD_FIELDS = {"email", "first_name", "last_name", "phone", "company_name", "lifecycle_stage", "lead_status",
               "owner_external_id", "owner_name", "deal_name", "pipeline", "deal_stage", "deal_state", "amount", "currency",
               "amount_base", "source_attribution", "next_activity_at", "provider_created_at",
               "provider_updated_at"}


@dataclass
class FieldRule:
    source: str
    target: str
    transform: str = "trim"
    args: dict = field(default_factory=dict)
    required: bool = False
    sensitive: bool = False


@dataclass
class MappingSpec:
    object_type: str
    rules: list[FieldRule]
    enums: dict[tuple[str, str], tuple[str | None, bool]]  # (field, value) -> (target, ignored)
    reference: Reference = field(default_factory=Reference)

    @property
    def source_fields(self) -> list[str]:
        return sorted({r.source for r in self.rules} | {a for r in self.rules for a in _extra_sources(r)})

    @property
    def sensitive_fields(self) -> set[str]:
        return {r.source for r in self.rules if r.sensitive}


def _extra_sources(rule: FieldRule) -> list[str]:
    if rule.transform == "currency_convert":
        return [rule.args.get("currency_field", "")]
    if rule.transform == "concat":
        return list(rule.args.get("fields", []))
    return []


@dataclass
class Mapped:
    values: dict[str, Any]
    failures: list[MappingFailure]

    def content_hash(self) -> str:
        """Hash of the provider-derived values; the clock-derived follow-up state is left out."""
        stable = {k: v for k, v in self.values.items() if k != "follow_up_state"}
        return hashlib.sha256(json.dumps(stable, sort_keys=True, default=str).encode()).hexdigest()


def follow_up_state(next_at: datetime | None, now: datetime | None = None) -> str:
    if next_at is None:
        return "none"
    now = now or utcnow()
    if next_at < now:
        return "overdue"
    return "due" if next_at <= now + timedelta(days=7) else "scheduled"


def _apply(rule: FieldRule, props: dict, spec: MappingSpec) -> Any:
    raw = props.get(rule.source)
    t = rule.transform
    if t in TRANSFORMS:
        return TRANSFORMS[t](raw, rule.target, rule.args)
    text = None if raw in (None, "") else str(raw).strip()
    if t == "enum":
        if text is None:
            return None
        target, ignored = spec.enums.get((rule.source, text), (None, False))
        if ignored:
            return None
        if target is None:
            raise MappingFailure(rule.target, "unmapped_value",
                                 f"{rule.target}: the value '{text[:60]}' has no enum mapping")
        return target
    if t == "owner_name":
        if text is None:
            return None
        if text not in spec.reference.owners:
            raise MappingFailure(rule.target, "unknown_owner", f"{rule.target}: owner {text} is not known")
        return spec.reference.owners[text]
    if t in ("stage_label", "pipeline_label"):
        table = spec.reference.stages if t == "stage_label" else spec.reference.pipelines
        if text is None:
            return None
        if text not in table:
            raise MappingFailure(rule.target, "unknown_stage", f"{rule.target}: '{text[:60]}' is not a known stage")
        return table[text]
    if t == "stage_state":
        if text is None:
            return None
        if text not in spec.reference.stage_states:
            raise MappingFailure(rule.target, "unknown_stage", f"{rule.target}: '{text[:60]}' is not a known stage")
        return spec.reference.stage_states[text]
    if t == "currency_convert":
        amount = decimal(raw, rule.target, {})
        if amount is None:
            return None
        currency = str(props.get(rule.args.get("currency_field", ""), "") or rule.args.get("base", "")).upper()
        rates = rule.args.get("rates", {})
        if currency not in rates:
            raise MappingFailure(rule.target, "no_rate", f"{rule.target}: no conversion rate for {currency}")
        return (amount * Decimal(str(rates[currency]))).quantize(Decimal("0.01"))
    if t == "concat":
        parts = [str(props.get(f) or "").strip() for f in rule.args.get("fields", [rule.source])]
        return rule.args.get("separator", " ").join(p for p in parts if p) or None
    if t == "split":
        if text is None:
            return None
        pieces = text.split(rule.args.get("separator", " "))
        index = int(rule.args.get("index", 0))
        return pieces[index].strip() if -len(pieces) <= index < len(pieces) else None
    raise MappingFailure(rule.target, "unknown_transform", f"{rule.target}: unknown transform '{t}'")


def map_record(record: SourceRecord, spec: MappingSpec) -> Mapped:
    values: dict[str, Any] = {}
    failures: list[MappingFailure] = []
    for rule in spec.rules:
        try:
            value = _apply(rule, record.properties, spec)
        except MappingFailure as failure:
            failures.append(failure)
            continue
        if value is None and rule.required:
            failures.append(MappingFailure(rule.target, "required_missing", f"{rule.target}: required but empty"))
        values[rule.target] = value
    if "next_activity_at" in values or spec.object_type in ("contacts", "deals"):
        values["follow_up_state"] = follow_up_state(values.get("next_activity_at"))
    return Mapped(values, failures)
