"""Types for properties the provider types only as text: a sample of their values is tried against each
kind the transforms read, and a kind most values fit is proposed, with the count in words ("looks like a
date in 98 of 100 values"), so the mapping step can offer the transform that turns it into ours.

A value fits a kind when the transform the mapping would use accepts it: a date is what `datetime_utc`
reads (an ISO date or time, or epoch milliseconds of this century), a number what `decimal` reads, an
email what `email` validates, a phone number what `phone_e164` formats. Kinds are tried from the
narrowest (a date's digits are also a number; a number's digits can also be a phone), and a kind wins only
with at least SHARE of the values that are not empty, from at least MIN_VALUES of them."""
from __future__ import annotations

import re
from typing import Any, NamedTuple

from .transforms import MappingFailure, datetime_utc, decimal, email, phone_e164

SHARE = 0.9
MIN_VALUES = 5
MAX_VALUES = 200  # a sample is a page of records
MAX_CHARS = 254  # no value longer than an email address is any kind but text (and none is parsed)
EPOCH_MS = re.compile(r"\d{12,13}")
CENTURY_MS = (946_684_800_000, 4_102_444_800_000)  # 2000-01-01 .. 2100-01-01
BOOLEAN = frozenset({"true", "false", "yes", "no"})


class Inferred(NamedTuple):
    kind: str            # date | number | boolean | email | phone
    matched: int
    total: int
    property_type: str   # the provider type it reads as: what a transform is chosen by

    @property
    def words(self) -> str:
        return f"looks like {ARTICLE[self.kind]} in {self.matched} of {self.total} values"


ARTICLE = {"date": "a date", "number": "a number", "boolean": "a yes/no value", "email": "an email address",
           "phone": "a phone number"}
AS_TYPE = {"date": "datetime", "number": "number", "boolean": "bool", "email": "string", "phone": "phone_number"}


def _accepts(transform: Any, text: str) -> bool:
    try:
        return transform(text, "sample", {}) is not None
    except MappingFailure:
        return False


def _date(text: str) -> bool:
    if text.isdigit():
        return bool(EPOCH_MS.fullmatch(text)) and CENTURY_MS[0] <= int(text) < CENTURY_MS[1]
    return len(text) >= 10 and text[:4].isdigit() and _accepts(datetime_utc, text)


CHECKS = (("date", _date), ("boolean", lambda t: t.lower() in BOOLEAN), ("number", lambda t: _accepts(decimal, t)),
          ("email", lambda t: "@" in t and _accepts(email, t)),
          ("phone", lambda t: sum(c.isdigit() for c in t) >= 7 and _accepts(phone_e164, t)))


def looks_like(values: list[Any]) -> Inferred | None:
    """The kind at least SHARE of the sample's non-empty values fit, or None (text it is)."""
    texts = [str(v).strip() for v in values[:MAX_VALUES] if v not in (None, "") and str(v).strip()]
    if len(texts) < MIN_VALUES:
        return None
    for kind, fits in CHECKS:
        matched = sum(1 for t in texts if len(t) <= MAX_CHARS and fits(t))
        if matched >= SHARE * len(texts):
            return Inferred(kind, matched, len(texts), AS_TYPE[kind])
    return None
