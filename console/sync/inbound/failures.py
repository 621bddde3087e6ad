"""Failure classes: who can fix a failed record, which decides what the owner is told and whether the
go-live gate may accept it.

- `source_value`: the provider's value is unusable (an invalid email, a required field left empty):
  only the client can fix it in their CRM, or the owner ignores it with a reason;
- `mapping`: our configuration cannot carry the value (an unmapped picklist option, a number target fed
  from a text property, an unknown stage): fixed on the mapping step;
- `provider`: the API refused or failed; nothing about the record itself.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

SOURCE_VALUE, MAPPING, PROVIDER = "source_value", "mapping", "provider"

# HubSpot validates number and date properties itself, so a number or date that will not parse comes from
# a text property mapped onto a typed target: a type mismatch in our mapping, not a bad value at the source.
CLASS_OF_CODE = {
    "invalid_email": SOURCE_VALUE, "invalid_phone": SOURCE_VALUE, "required_missing": SOURCE_VALUE,
    "unknown_owner": SOURCE_VALUE,
    "unmapped_value": MAPPING, "unknown_stage": MAPPING, "no_rate": MAPPING, "unknown_transform": MAPPING,
    "invalid_number": MAPPING, "invalid_date": MAPPING, "unknown_property": MAPPING,
    "provider_error": PROVIDER, "not_found": PROVIDER,
}
# What the owner is told, per class ({crm}: the connection's provider, by name).
ADVICE = {
    SOURCE_VALUE: "Fix it in {crm}, or ignore it with a reason.",
    MAPPING: "Fix the mapping row that causes it (mapping step).",
    PROVIDER: "{crm} refused or failed the request: check the credentials and {crm}'s status, then test again.",
}
LABEL = {SOURCE_VALUE: "Source value", MAPPING: "Mapping", PROVIDER: "Provider"}
# Plain words for each code, for grouped lists ("60 × invalid email").
CODE_WORDS = {
    "invalid_email": "invalid email", "invalid_phone": "invalid phone number", "required_missing": "required field empty",
    "unknown_owner": "owner not known in {crm}", "unmapped_value": "picklist option not mapped",
    "unknown_stage": "deal stage not known", "no_rate": "no conversion rate for the currency",
    "unknown_transform": "unknown transform", "invalid_number": "text where a number is mapped",
    "invalid_date": "text where a date is mapped", "unknown_property": "property not in {crm}",
    "provider_error": "{crm} refused the request", "not_found": "record no longer in {crm}",
}


def class_of(code: str | None) -> str:
    return CLASS_OF_CODE.get(code or "", MAPPING)


def words(code: str | None, crm: str = "the CRM") -> str:
    return CODE_WORDS.get(code or "", (code or "unknown").replace("_", " ")).replace("{crm}", crm)


def advice(failure_class: str, crm: str = "the CRM") -> str:
    return ADVICE[failure_class].replace("{crm}", crm)


@dataclass(frozen=True)
class Cause:
    """The failure that decides a record's class: a mapping failure wins over a source value one, since
    fixing the source value would not make the record pass."""

    code: str
    field: str


def cause(failures: Iterable) -> Cause | None:
    ranked = sorted(failures, key=lambda f: class_of(f.code) != MAPPING)
    return Cause(ranked[0].code, ranked[0].field) if ranked else None
