"""HubSpot's limits as its answers state them: a rolling window per app and portal, learned from the
X-HubSpot-RateLimit-* headers, and the search endpoints' fixed 5 a second (they send no headers)."""
from __future__ import annotations

from collections.abc import Mapping

from ..budget import RateReading

SEARCH = "search"
LANES = {SEARCH: (5, 1.0)}  # lane: (calls, seconds)


def _int(headers: Mapping[str, str], name: str, most: int) -> int | None:
    """A header's whole number in [0, most]; anything else (unreadable, negative, absurd) says nothing,
    so a hostile or broken answer can neither stall the account nor lift its limit."""
    value = headers.get(name)
    try:
        number = int(value) if value is not None and len(value) <= 20 else None
    except ValueError:
        return None
    return number if number is not None and 0 <= number <= most else None


def reading(headers: Mapping[str, str] | None) -> RateReading:
    """What one answer's headers say about the account's limits."""
    if not headers:
        return RateReading()
    interval = _int(headers, "X-HubSpot-RateLimit-Interval-Milliseconds", 3_600_000)
    return RateReading(per_window=_int(headers, "X-HubSpot-RateLimit-Max", 100_000) or None,
                       window_s=interval / 1000 if interval and interval >= 100 else None,
                       remaining=_int(headers, "X-HubSpot-RateLimit-Remaining", 100_000),
                       daily_limit=_int(headers, "X-HubSpot-RateLimit-Daily", 10**9),
                       daily_remaining=_int(headers, "X-HubSpot-RateLimit-Daily-Remaining", 10**9))
