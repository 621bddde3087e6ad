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

    def snapshot(self) -> tuple[int, ...]:
        return tuple(getattr(self, b) for b in BUCKETS) + (len(self.outcomes),)

    def restore(self, snap: tuple[int, ...]) -> None:
        """Forget counts of a page whose transaction rolled back: only committed records count."""
        for bucket, value in zip(BUCKETS, snap):
            setattr(self, bucket, value)
        del self.outcomes[snap[-1]:]

    @property
    def seen(self) -> int:
        return sum(getattr(self, b) for b in BUCKETS)
