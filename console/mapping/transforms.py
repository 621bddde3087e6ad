"""Value transforms applied while mapping a provider record. Each returns the new value or raises
MappingFailure with a reason an integration owner can act on (never the raw payload)."""
from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import phonenumbers
from email_validator import EmailNotValidError, validate_email


class MappingFailure(ValueError):
    def __init__(self, field: str, code: str, reason: str) -> None:
        super().__init__(reason)
        self.field, self.code, self.reason = field, code, reason


def _text(v: Any) -> str | None:
    if v is None:
        return None
    text = " ".join(str(v).split())
    return text or None


def email(v: Any, field: str, args: dict) -> str | None:
    text = _text(v)
    if text is None:
        return None
    try:
        return validate_email(text, check_deliverability=False, test_environment=True).normalized.lower()
    except EmailNotValidError as exc:
        # The validator's own text can quote parts of the address; keep personal data out of errors.
        raise MappingFailure(field, "invalid_email", f"{field}: not a valid email address") from exc


def phone_e164(v: Any, field: str, args: dict) -> str | None:
    text = _text(v)
    if text is None:
        return None
    try:
        number = phonenumbers.parse(text, args.get("region", "CA"))
    except phonenumbers.NumberParseException as exc:
        raise MappingFailure(field, "invalid_phone", f"{field}: not a phone number") from exc
    if not phonenumbers.is_possible_number(number):
        raise MappingFailure(field, "invalid_phone", f"{field}: not a possible phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def datetime_utc(v: Any, field: str, args: dict) -> datetime | None:
    text = _text(v)
    if text is None:
        return None
    try:
        if re.fullmatch(r"-?\d+", text):
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


TRANSFORMS: dict[str, Callable[[Any, str, dict], Any]] = {
    "none": lambda v, f, a: v,
    "trim": lambda v, f, a: _text(v),
    "case": case,
    "email": email,
    "phone_e164": phone_e164,
    "datetime_utc": datetime_utc,
    "decimal": decimal,
}
# Transforms needing context (enum tables, reference data, other fields) live in mapper.py.
CONTEXT_TRANSFORMS = {"enum", "owner_name", "stage_label", "stage_state", "pipeline_label", "currency_convert",
                      "concat", "split"}
ALL_TRANSFORMS = sorted(set(TRANSFORMS) | CONTEXT_TRANSFORMS)
