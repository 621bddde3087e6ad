"""What a session counts of its calls, for every connector: calls, 429s, retries, time waited, and each
call's record until the run writes it to its request log."""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from .base import CallRecord


@dataclass
class CallStats:
    """Counted per run: every HTTP call made, and every 429 waited out; `calls` holds each call's record
    until the run writes it to its request log (a deque: the prefetch thread appends while the writer drains)."""

    api_calls: int = 0
    rate_limited: int = 0
    retries: int = 0
    waited_s: float = 0.0
    policies: dict[str, int] = field(default_factory=dict)
    calls: deque[CallRecord] = field(default_factory=lambda: deque(maxlen=MAX_HELD_CALLS))


MAX_HELD_CALLS = 50_000  # a run writes its calls every 100; a session nobody drains (a check) stays bounded
