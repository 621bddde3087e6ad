"""Map one provider record to lead fields: field mappings, enum tables, reference data, transforms."""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson

from ..choices import PUSHING
from ..connectors.base import Reference, SourceRecord
from ..models.base import utcnow
from .targets import ATTRIBUTE
from .transforms import TRANSFORMS, MappingFailure, decimal

__all__ = ["FieldRule", "Mapped", "MappingSpec", "Reference", "follow_up_state", "map_record"]

LEAD_FIELDS = {"email", "first_name", "last_name", "phone", "company_name", "domain", "lifecycle_stage", "lead_status",
               "owner_external_id", "owner_name", "deal_name", "pipeline", "deal_stage", "deal_state", "amount", "currency",
               "amount_base", "source_attribution", "next_activity_at", "provider_created_at",
               "provider_updated_at", "attributes"}  # attributes: the `f.<field>` targets, as one document


@dataclass
class FieldRule:
    source: str
    target: str
    transform: str = "trim"
    args: dict = field(default_factory=dict)
    required: bool = False
    sensitive: bool = False
    direction: str = "in"           # choices.Direction: in | out | both
    system_of_record: str = "provider"  # who wins a field changed on both sides: provider | console
    condition: str = ""             # choices.WriteCondition: "" | if_empty | not_newer

    @property
    def outbound(self) -> bool:
        return self.direction in PUSHING


@dataclass
class MappingSpec:
    object_type: str
    rules: list[FieldRule]
    enums: dict[tuple[str, str], tuple[str | None, bool]]  # (field, value) -> (target, ignored)
    reference: Reference = field(default_factory=Reference)
    # Source fields that never leave the source (the connection's intake says so, lower-cased): no rule
    # reads them, they are never requested, and a payload that carries one anyway stores it dropped.
    withheld: frozenset[str] = frozenset()
    # Source properties the provider's schema no longer gives as the mapping expects (sync/schema_drift.py),
    # with why: a rule reading one fails each record with a `mapping` failure instead of mapping nothing.
    broken: dict[str, str] = field(default_factory=dict)
    _plan: tuple | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def source_fields(self) -> list[str]:
        return sorted({r.source for r in self.rules} | {a for r in self.rules for a in _extra_sources(r)})

    @property
    def outbound_rules(self) -> list[FieldRule]:
        """The rules whose field the console writes to the provider (direction out or both)."""
        return [r for r in self.rules if r.outbound]

    def step_for(self, rule: FieldRule) -> Step:
        """The compiled step of one rule (the provider value → the console value)."""
        return self.plan[self.rules.index(rule)]

    @property
    def sensitive_fields(self) -> set[str]:
        return {r.source for r in self.rules if r.sensitive} | set(self.withheld)

    @property
    def follows_up(self) -> bool:
        """Whether mapped values carry a follow-up state (people and deals, or a mapped next activity)."""
        self.plan  # noqa: B018 - compiles (or checks) the cached plan this flag belongs to
        assert self._plan is not None
        return bool(self._plan[4])

    def requested(self, extra: Sequence[str] = ()) -> list[str]:
        """The properties to ask the provider for: the rules' fields and `extra` (eligibility rules'),
        never a withheld one."""
        return [f for f in dict.fromkeys([*self.source_fields, *extra]) if f.lower() not in self.withheld]

    @property
    def plan(self) -> list[Step]:
        """The rules compiled once (a closure per field), so mapping a record is no lookup per field.
        Rebuilt when the rules, enum table or reference data are replaced (none is edited in place)."""
        cached = self._plan
        if cached is None or cached[0] is not self.rules or cached[1] is not self.enums or cached[2] is not self.reference:
            steps = [Step(r.target, _attribute(_compile(r, self)) if r.target.startswith(ATTRIBUTE) else _compile(r, self),
                          r.required) for r in self.rules]
            follows_up = self.object_type in ("contacts", "deals") or any(s.target == "next_activity_at" for s in steps)
            attributes = tuple(s.target for s in steps if s.target.startswith(ATTRIBUTE))
            cached = self._plan = (self.rules, self.enums, self.reference, steps, follows_up, attributes)
        return cached[3]

    @property
    def attribute_targets(self) -> tuple[str, ...]:
        """The targets kept in the lead's attributes (`f.<field>`), in the rules' order."""
        self.plan  # noqa: B018 - compiles (or checks) the cached plan this belongs to
        assert self._plan is not None
        return self._plan[5]


@dataclass(frozen=True)
class Step:
    target: str
    apply: Callable[[dict], Any]
    required: bool


def _attribute(apply: Callable[[dict], Any]) -> Callable[[dict], Any]:
    """A field kept in the lead's attributes (a JSON document) is kept as JSON holds it: a number as its
    decimal text, a time as ISO 8601 (naive UTC), so what is stored and what a reconciliation maps compare."""
    def kept(props: dict) -> Any:
        value = apply(props)
        if isinstance(value, Decimal):
            return str(value)
        return value.isoformat() if isinstance(value, datetime) else value
    return kept


def _extra_sources(rule: FieldRule) -> list[str]:
    if rule.transform == "currency_convert":
        return [rule.args.get("currency_field", "")]
    if rule.transform == "concat":
        return list(rule.args.get("fields", []))
    return []


# The content hash is "b" + 62 hex digits of SHA-256 over orjson's bytes of the mapped values (sorted keys;
# datetimes, decimals and what else orjson does not take natively as str). Leads stored before it carry the
# old hash, 64 hex digits over the json module's text: `same_content` recognises either, so no record looks
# changed because the hash changed; a record rewritten for a real change gets the new one.
_HASH_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
_OLD_HASH_TEXT = json.JSONEncoder(sort_keys=True, default=str).encode


@dataclass
class Mapped:
    values: dict[str, Any]
    failures: list[MappingFailure]
    _hash: str | None = field(default=None, repr=False, compare=False)

    def content_hash(self) -> str:
        """Hash of the provider-derived values; the clock-derived follow-up state is left out.
        Computed once: deciding and writing both ask for it."""
        if self._hash is None:
            stable = self._stable()
            try:
                data = orjson.dumps(stable, default=str, option=_HASH_OPTIONS)
            except TypeError:  # an integer beyond 64 bits: the json module's text, under the same prefix
                data = _OLD_HASH_TEXT(stable).encode()
            self._hash = "b" + hashlib.sha256(data).hexdigest()[:62]
        return self._hash

    def same_content(self, stored: str | None) -> bool:
        """Whether a stored hash, of either kind, describes these values."""
        if stored is None:
            return False
        if len(stored) == 64:  # stored before the orjson hash
            return stored == hashlib.sha256(_OLD_HASH_TEXT(self._stable()).encode()).hexdigest()
        return stored == self.content_hash()

    def _stable(self) -> dict[str, Any]:
        return {k: v for k, v in self.values.items() if k != "follow_up_state"}


def follow_up_state(next_at: datetime | None, now: datetime | None = None) -> str:
    if next_at is None:
        return "none"
    now = now or utcnow()
    if next_at < now:
        return "overdue"
    return "due" if next_at <= now + timedelta(days=7) else "scheduled"


def _compile(rule: FieldRule, spec: MappingSpec) -> Callable[[dict], Any]:
    """One rule as a function of a record's properties."""
    source, target, args, t = rule.source, rule.target, rule.args, rule.transform
    if source in spec.broken:
        reason = f"{target}: {spec.broken[source]}"

        def broken(props: dict) -> Any:
            raise MappingFailure(target, "mapping", reason)
        return broken
    if t in TRANSFORMS:
        fn = TRANSFORMS[t]
        return lambda props: fn(props.get(source), target, args)
    if t == "enum":
        enums = spec.enums

        def enum(props: dict) -> Any:
            text = _stripped(props.get(source))
            if text is None:
                return None
            mapped, ignored = enums.get((source, text), (None, False))
            if ignored:
                return None
            if mapped is None:
                raise MappingFailure(target, "unmapped_value", f"{target}: the value '{text[:60]}' has no enum mapping")
            return mapped
        return enum
    if t == "owner_name":
        return _lookup(source, target, spec.reference.owners, "unknown_owner", lambda text: f"owner {text} is not known")
    if t in ("stage_label", "pipeline_label", "stage_state"):
        table = {"stage_label": spec.reference.stages, "pipeline_label": spec.reference.pipelines,
                 "stage_state": spec.reference.stage_states}[t]
        return _lookup(source, target, table, "unknown_stage", lambda text: f"'{text[:60]}' is not a known stage")
    if t == "currency_convert":
        currency_field, base, rates = args.get("currency_field", ""), args.get("base", ""), args.get("rates", {})

        def convert(props: dict) -> Any:
            amount = decimal(props.get(source), target, {})
            if amount is None:
                return None
            currency = str(props.get(currency_field, "") or base).upper()
            if currency not in rates:
                raise MappingFailure(target, "no_rate", f"{target}: no conversion rate for {currency}")
            return (amount * Decimal(str(rates[currency]))).quantize(Decimal("0.01"))
        return convert
    if t == "concat":
        fields, separator = args.get("fields", [source]), args.get("separator", " ")

        def concat(props: dict) -> Any:
            parts = [str(props.get(f) or "").strip() for f in fields]
            return separator.join(p for p in parts if p) or None
        return concat
    if t == "split":
        separator, index = args.get("separator", " "), int(args.get("index", 0))

        def split(props: dict) -> Any:
            text = _stripped(props.get(source))
            if text is None:
                return None
            pieces = text.split(separator)
            return pieces[index].strip() if -len(pieces) <= index < len(pieces) else None
        return split

    def unknown(props: dict) -> Any:
        raise MappingFailure(target, "unknown_transform", f"{target}: unknown transform '{t}'")
    return unknown


def _lookup(source: str, target: str, table: dict, code: str, why: Callable[[str], str]) -> Callable[[dict], Any]:
    """A value looked up in reference data (owners, stages, pipelines); an unknown one fails the record."""
    def lookup(props: dict) -> Any:
        text = _stripped(props.get(source))
        if text is None:
            return None
        if text not in table:
            raise MappingFailure(target, code, f"{target}: {why(text)}")
        return table[text]
    return lookup


def _stripped(raw: Any) -> str | None:
    return None if raw in (None, "") else str(raw).strip()


def map_record(record: SourceRecord, spec: MappingSpec) -> Mapped:
    values: dict[str, Any] = {}
    failures: list[MappingFailure] = []
    props = record.properties
    for step in spec.plan:
        try:
            value = step.apply(props)
        except MappingFailure as failure:
            failures.append(failure)
            continue
        if value is None and step.required:
            failures.append(MappingFailure(step.target, "required_missing", f"{step.target}: required but empty"))
        values[step.target] = value
    if spec.follows_up:
        values["follow_up_state"] = follow_up_state(values.get("next_activity_at"))
    if spec.attribute_targets:
        values["attributes"] = {t[len(ATTRIBUTE):]: values.get(t) for t in spec.attribute_targets}
    return Mapped(values, failures)
