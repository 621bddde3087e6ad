"""Buckets: every record seen lands in exactly one."""
from __future__ import annotations

from dataclasses import dataclass, field

BUCKETS = ("created", "updated", "unchanged", "duplicate", "failed")


@dataclass
class Tally:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicate: int = 0
    failed: int = 0
    outcomes: list[tuple[str, str, str]] = field(default_factory=list)  # (external id, bucket, reason)
    keep_outcomes: bool = False

    def add(self, external_id: str, bucket: str, reason: str = "") -> None:
        setattr(self, bucket, getattr(self, bucket) + 1)
        if self.keep_outcomes:
            self.outcomes.append((external_id, bucket, reason))

    @property
    def seen(self) -> int:
        return sum(getattr(self, b) for b in BUCKETS)
