"""The intake's acceptance criteria ("counts match within 0.1%", "p99 freshness 5 min", "completeness
95%") as checks evaluated from real figures: the newest finished reconciliation of each synced object,
the last day's measured freshness, the newest data-quality check. Shown as met, not met, or not measured
yet, each with its figure, in the go-live box and the monitor step."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from .. import intake_reading
from ..choices import RunStatus
from ..extensions import db
from ..intake_reading import Criterion
from ..mapping.objects import label as object_label
from ..models import IntegrationConnection, IntegrationReconciliation, IntegrationSyncJob
from ..models.base import utcnow
from ..monitoring import freshness, quality


@dataclass(frozen=True)
class Check:
    criterion: Criterion
    met: bool | None  # None: not measured yet
    figure: str


def evaluate(conn: IntegrationConnection, now: datetime | None = None) -> list[Check]:
    text = intake_reading.answers(conn.id).get("acceptance", "")
    criteria = intake_reading.acceptance(text)
    if not criteria:
        return []
    now = now or utcnow()
    objects = list(db.session.scalars(sa.select(IntegrationSyncJob.object_type).where(
        IntegrationSyncJob.connection_id == conn.id, IntegrationSyncJob.enabled.is_(True))
        .order_by(IntegrationSyncJob.object_type)))
    return [_CHECKS[c.kind](conn, c, objects, now) for c in criteria]


def _all(parts: list[tuple[bool, str]]) -> tuple[bool, str]:
    return all(ok for ok, _ in parts), "; ".join(words for _, words in parts)


def _counts(conn: IntegrationConnection, c: Criterion, objects: list[str], now: datetime) -> Check:
    parts = []
    for object_type in objects:
        row = db.session.scalar(sa.select(IntegrationReconciliation).where(
            IntegrationReconciliation.connection_id == conn.id, IntegrationReconciliation.object_type == object_type,
            IntegrationReconciliation.status == RunStatus.SUCCEEDED.value)
            .order_by(IntegrationReconciliation.id.desc()).limit(1))
        if row is None:
            return Check(c, None, f"Not measured yet: no reconciliation of {object_label(object_type, conn.id).lower()} "
                                  "has finished.")
        total = max(row.provider_active + row.provider_archived, 1)
        share = 100.0 * row.differences / total
        parts.append((share <= c.threshold, f"{object_label(object_type, conn.id)}: {share:.2f}% differ "
                                            f"({row.differences:,} of {total:,}, {row.finished_at:%Y-%m-%d %H:%M} UTC)"))
    if not parts:
        return Check(c, None, "Not measured yet: no object is synced.")
    return Check(c, *_all(parts))


def _freshness(conn: IntegrationConnection, c: Criterion, objects: list[str], now: datetime) -> Check:
    measured, ok = freshness.within(conn.id, int(c.threshold), now)
    if measured < freshness.MIN_MEASURED:
        return Check(c, None, f"Not measured yet: {measured} changes measured in the last day "
                              f"({freshness.MIN_MEASURED} are needed).")
    share = 100.0 * ok / measured
    return Check(c, share >= (c.pct or 100), f"{share:.1f}% of {measured:,} changes within "
                                             f"{freshness.duration(int(c.threshold) * 1000)} in the last day")


def _quality(kind: str):
    def check(conn: IntegrationConnection, c: Criterion, objects: list[str], now: datetime) -> Check:
        newest = {q.object_type: q for q in quality.latest([conn.id]).get(conn.id, []) if q.object_type in objects}
        parts = []
        for object_type, q in sorted(newest.items()):
            if not q.records:
                continue
            if kind == "completeness":
                share = 100.0 * (q.records - q.incomplete) / q.records
                parts.append((share >= c.threshold, f"{object_label(object_type, conn.id)}: {share:.1f}% complete"))
            else:
                share = 100.0 * q.duplicates / q.records
                parts.append((share <= c.threshold, f"{object_label(object_type, conn.id)}: {share:.1f}% duplicates"))
        if not parts:
            return Check(c, None, "Not measured yet: no data-quality check has counted records.")
        return Check(c, *_all(parts))
    return check


_CHECKS = {"counts": _counts, "freshness": _freshness, "completeness": _quality("completeness"),
           "duplicates": _quality("duplicates")}
