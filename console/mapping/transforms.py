"""Value transforms applied while mapping a provider record. Each returns the new value or raises
MappingFailure with a reason an integration owner can act on (never the raw payload)."""
from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

import phonenumbers
from email_validator import EmailNotValidError, ValidatedEmail, validate_email
from email_validator.rfc_constants import DOT_ATOM_TEXT, EMAIL_MAX_LENGTH


class MappingFailure(ValueError):
    def __init__(self, field: str, code: str, reason: str) -> None:
        super().__init__(reason)
        self.field, self.code, self.reason = field, code, reason


def _text(v: Any) -> str | None:
    """The value as text with its whitespace collapsed (None when nothing is left). Most values are
    already clean: printable text (Unicode calls every other kind of whitespace unprintable) with no
    doubled, leading or trailing space is returned as it is, without splitting it."""
    if v is None:
        return None
    if type(v) is str and v.isprintable() and "  " not in v and v[:1] != " " and v[-1:] != " ":
        return v or None
    text = " ".join(str(v).split())
    return text or None


# Validating an address or formatting a number is the costliest step of mapping, and the same values
# come back run after run (every incremental re-read, every re-imported file): each answer is kept for
# the next time. An answer is (value, None) or (None, why it failed); the memo is bounded.
MEMO_SIZE = 4096


INVALID_EMAIL = "not a valid email address"  # the validator's own text can quote the address: never shown
# A plain address: a dot-atom of ASCII before the one @ (the validator's own pattern decides), a host
# name of letters, digits, dots and hyphens after it. Most addresses are plain, and their domains repeat.
PLAIN_EMAIL = re.compile(r"([^@]+)@([A-Za-z0-9.-]+)")


@lru_cache(maxsize=MEMO_SIZE)
def _email(text: str) -> tuple[str | None, str | None]:
    plain = PLAIN_EMAIL.fullmatch(text)
    if plain and DOT_ATOM_TEXT.match(plain.group(1)):
        return _plain_email(text, *plain.groups())
    checked = _validated(text)
    return (checked.normalized.lower(), None) if checked else (None, INVALID_EMAIL)


def _validated(text: str) -> ValidatedEmail | None:
    try:
        return validate_email(text, check_deliverability=False, test_environment=True)
    except EmailNotValidError:
        return None


def _plain_email(text: str, local: str, domain: str) -> tuple[str | None, str | None]:
    """What the validator answers for a plain address, its domain checked once: an ASCII dot-atom is
    valid as typed whatever the domain, and the lengths are checked as the validator checks them."""
    forms = _domain(domain)
    if forms is None:
        return None, INVALID_EMAIL
    normalized = f"{local}@{forms[0]}"
    # Lengths in UTF-8 bytes, as the validator counts them: the typed and ASCII forms are ASCII.
    if max(len(text), len(local) + 1 + len(forms[1]), len(normalized.encode())) > EMAIL_MAX_LENGTH:
        return None, INVALID_EMAIL
    return normalized.lower(), None


@lru_cache(maxsize=MEMO_SIZE)
def _domain(domain: str) -> tuple[str, str] | None:
    """The validator's domain and its ASCII form (None: not a valid domain), asked with a one-letter
    local part; a too long answer here is too long with any longer local part too."""
    checked = _validated(f"a@{domain}")
    return (checked.domain, checked.ascii_domain) if checked else None


def email(v: Any, field: str, args: dict) -> str | None:
    text = _text(v)
    if text is None:
        return None
    value, why = _email(text)
    if why:
        raise MappingFailure(field, "invalid_email", f"{field}: {why}")
    return value


# A North American number as people type it: an area code (2-9, then two digits), an exchange and a
# line, in the usual groupings, optionally after the country code. phonenumbers answers these with
# "+1" and the ten digits whatever the grouping (tests/unit/test_phone_memo.py compares the two over
# every grouping, area code and extension form); anything else (letters, other regions) goes to it.
NANP_REGIONS = frozenset({"CA", "US"})
# An extension as people type it ("ext. 12", "ext 5", "x 77") is kept out of E.164, as phonenumbers does.
NANP_TYPED = re.compile(r"(?:\+1 ?|1)?(?:\(([2-9]\d\d)\) ?|([2-9]\d\d)[-. ]?)(\d{3})[-. ]?(\d{4})"
                        r"(?: ?(?:ext\.?|x) ?\d{1,6})?")


@lru_cache(maxsize=MEMO_SIZE)
def _phone(text: str, region: str) -> tuple[str | None, str | None]:
    if region in NANP_REGIONS:
        typed = NANP_TYPED.fullmatch(text)
        if typed:
            area, area_plain, exchange, line = typed.groups()
            return f"+1{area or area_plain}{exchange}{line}", None
    return _parsed_phone(text, region)


def _parsed_phone(text: str, region: str) -> tuple[str | None, str | None]:
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None, "not a phone number"
    if not phonenumbers.is_possible_number(number):
        return None, "not a possible phone number"
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), None


def phone_e164(v: Any, field: str, args: dict) -> str | None:
    text = _text(v)
    if text is None:
        return None
    value, why = _phone(text, args.get("region", "CA"))
    if why:
        raise MappingFailure(field, "invalid_phone", f"{field}: {why}")
    return value


EPOCH_MS = re.compile(r"-?\d+")


def datetime_utc(v: Any, field: str, args: dict) -> datetime | None:
    text = _text(v)
    if text is None:
        return None
    try:
        if EPOCH_MS.fullmatch(text):
            return datetime.fromtimestamp(int(text) / 1000, UTC).replace(tzinfo=None)
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise MappingFailure(field, "invalid_date", f"{field}: not a date or time") from exc
    if dt.tzinfo is None:
        from zoneinfo import ZoneInfo
        dt = dt.replace(tzinfo=ZoneInfo(args.get("timezone", "UTC")))
    return dt.astimezone(UTC).replace(tzinfo=None)


def decimal(v: Any, field: str, args: dict) -> Decimal | None:
    text = _text(v)
    if text is None:
        return None
    try:
        return Decimal(text.replace(",", "")).quantize(Decimal("0.01"))
    except InvalidOperation as exc:
        raise MappingFailure(field, "invalid_number", f"{field}: not a number") from exc


def case(v: Any, field: str, args: dict) -> str | None:
    text = _text(v)
    if text is None:
        return None
    return {"lower": text.lower(), "upper": text.upper(), "title": text.title()}.get(args.get("case", ""), text)


def option(v: Any, field: str, args: dict) -> str | None:
    """A picklist value from text: one of `args["options"]` (spelling casefolded -> value), or a failure
    that names the accepted values (`args["shown"]`)."""
    text = _text(v)
    if text is None:
        return None
    value = (args.get("options") or {}).get(text.casefold())
    if value is None:
        shown = ", ".join(args.get("shown") or ()) or "none are configured"
        raise MappingFailure(field, "unknown_option", f"{field}: “{text[:60]}” is not one of the options ({shown})")
    return value


TRANSFORMS: dict[str, Callable[[Any, str, dict], Any]] = {
    "none": lambda v, f, a: v,
    "trim": lambda v, f, a: _text(v),
    "case": case,
    "email": email,
    "phone_e164": phone_e164,
    "datetime_utc": datetime_utc,
    "decimal": decimal,
    "option": option,
}
# Transforms needing context (enum tables, reference data, other fields) live in mapper.py.
CONTEXT_TRANSFORMS = {"enum", "owner_name", "stage_label", "stage_state", "pipeline_label", "currency_convert",
                      "concat", "split"}
ALL_TRANSFORMS = sorted(set(TRANSFORMS) | CONTEXT_TRANSFORMS)
