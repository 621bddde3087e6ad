"""Salesforce record ids: a 3-character key prefix naming the object, a 15-character case-sensitive id,
and the 3-character suffix that makes it case-insensitive (18 characters, as the REST API answers)."""
from __future__ import annotations

import re

DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"  # ASCII order: ids sort as created
SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
PREFIX = {"Account": "001", "Contact": "003", "Lead": "00Q", "Opportunity": "006", "User": "005",
          "Organization": "00D", "RecordType": "012",
          "OpportunityStage": "01J"}
ID = re.compile(r"[a-zA-Z0-9]{15}(?:[A-Z0-5]{3})?")


def suffix(id15: str) -> str:
    out = ""
    for chunk in range(3):
        bits = sum(1 << i for i, ch in enumerate(id15[chunk * 5:chunk * 5 + 5]) if "A" <= ch <= "Z")
        out += SUFFIX[bits]
    return out


def make(object_name: str, number: int, pod: str = "Dn") -> str:
    """The `number`th id of an object: prefix, pod, a zero-padded base-62 counter, then the suffix."""
    digits = ""
    while number or len(digits) < 10:
        number, rest = divmod(number, 62)
        digits = DIGITS[rest] + digits
    id15 = PREFIX[object_name] + pod + digits[-10:]
    return id15 + suffix(id15)


def canonical(value: str) -> str | None:
    """An id as given (15 or 18 characters) in its 18-character form; None when it is not an id."""
    if not isinstance(value, str) or not ID.fullmatch(value):
        return None
    id15 = value[:15]
    return id15 + suffix(id15)
