"""Buckets: every record read lands in exactly one, and the reads are counted on their own.

`seen` is counted where records arrive (a page handed to the writer, a CSV row parsed), never derived
from the buckets, so a record that is read and then lost, or counted twice, leaves the run unbalanced:
`seen != created + updated + unchanged + duplicate + failed + skipped` (skipped: outbound writes a
condition or the system of record decided against). Such a run is marked failed and alerted."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

BUCKETS = ("created", "updated", "unchanged", "duplicate", "failed", "skipped")
MAX_FAILED_KEPT = 5000
COUNTS = ("seen", *BUCKETS, "links_added", "links_removed")  # what a run row stores, and a page's rollback restores


@dataclass
class Tally:
    seen: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicate: int = 0
    failed: int = 0
    skipped: int = 0  # outbound runs: a write decided against (a condition, the system of record)
    # Associations found added or removed at the provider (not records: they are counted apart).
    links_added: int = 0
    links_removed: int = 0
    # (external id, bucket, reason, failure code, failing field): every record's for a test batch; failed
    # records' always (up to MAX_FAILED_KEPT), so a run can later be judged complete once they are waived.
    outcomes: list[tuple[str, str, str, str, str]] = field(default_factory=list)
    keep_outcomes: bool = False
    # Seconds by phase: fetch (the prefetch thread's HTTP and parsing; "links", reading the pages'
    # associations, is part of it), wait (the writer idle for a page), decide (reading stored rows, mapping,
    # comparing), write (both databases, commits included).
    phases: dict[str, float] = field(default_factory=dict)
    yielded: bool = False  # the run stopped between pages for other clients' jobs (inbound/runner.py)

    def clock(self, phase: str, seconds: float) -> None:
        self.phases[phase] = self.phases.get(phase, 0.0) + seconds

    def read(self, n: int) -> None:
        """Records arrived from the source (counted before any of them is decided)."""
        self.seen += n

    def add(self, external_id: str, bucket: str, reason: str = "", code: str = "", failed_field: str = "") -> None:
        setattr(self, bucket, getattr(self, bucket) + 1)
        if self.keep_outcomes or (bucket == "failed" and self.failed <= MAX_FAILED_KEPT):
            self.outcomes.append((external_id, bucket, reason, code, failed_field))

    @property
    def bucketed(self) -> int:
        return sum(getattr(self, b) for b in BUCKETS)

    @property
    def balanced(self) -> bool:
        return self.seen == self.bucketed

    def linked(self, added: int, removed: int) -> None:
        self.links_added += added
        self.links_removed += removed

    def snapshot(self) -> tuple[int, ...]:
        return tuple(getattr(self, name) for name in COUNTS) + (len(self.outcomes),)

    def restore(self, snap: tuple[int, ...]) -> None:
        """Forget counts of a page whose transaction rolled back: only committed records count."""
        for name, value in zip(COUNTS, snap, strict=False):
            setattr(self, name, value)
        del self.outcomes[snap[-1]:]

    def store_on(self, run: Any) -> None:
        """Copy the counts onto a run row (the one place that does)."""
        for name in COUNTS:
            setattr(run, name, getattr(self, name))

    def imbalance(self) -> str | None:
        """The accounting check's message when it fails, for the run's error."""
        if self.balanced:
            return None
        return (f"Accounting check failed: {self.seen} records read but {self.bucketed} accounted for "
                f"(created {self.created}, updated {self.updated}, unchanged {self.unchanged}, duplicate "
                f"{self.duplicate}, failed {self.failed}, skipped {self.skipped}). Reconcile this connection.")
