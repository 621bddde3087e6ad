"""The freshness objective: "changes reflected within T seconds, P% of the time", per connection.

Each change an incremental sync or a webhook writes carries its lag (our write minus the provider's
modification time) on its normalized event in the traffic database; attainment is the share of the
last day's changes whose lag was within the connection's target."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..extensions import db
from ..models import IntegrationConnection, IntegrationNormalizedEvent

WINDOW = timedelta(hours=24)
MIN_MEASURED = 20  # fewer changes than this in the window say too little to alert on


@dataclass(frozen=True)
class Freshness:
    measured: int
    within: int
    worst_ms: int
    target_seconds: int
    objective_pct: int

    @property
    def attainment_pct(self) -> float | None:
        return 100.0 * self.within / self.measured if self.measured else None

    @property
    def met(self) -> bool | None:
        """None while too few changes were measured to judge."""
        if self.measured < MIN_MEASURED:
            return None
        return self.attainment_pct >= self.objective_pct


def attainment(connections: list[IntegrationConnection], now: datetime) -> dict[int, Freshness]:
    """Freshness of each connection over the last day: one grouped query per distinct target."""
    by_target: dict[int, list[int]] = defaultdict(list)
    for conn in connections:
        by_target[conn.freshness_target_seconds].append(conn.id)
    found: dict[int, tuple[int, int, int]] = {}
    ev = IntegrationNormalizedEvent
    with Session(db.engines["traffic"]) as traffic:
        for target, ids in by_target.items():
            within = sa.func.sum(sa.case((ev.lag_ms <= target * 1000, 1), else_=0))
            for conn_id, n, ok, worst in traffic.execute(
                    sa.select(ev.connection_id, sa.func.count(), within, sa.func.max(ev.lag_ms))
                    .where(ev.connection_id.in_(ids), ev.created_at >= now - WINDOW, ev.lag_ms.isnot(None))
                    .group_by(ev.connection_id)):
                found[conn_id] = (int(n), int(ok or 0), int(worst or 0))
    return {c.id: Freshness(*found.get(c.id, (0, 0, 0)), c.freshness_target_seconds, c.freshness_objective_pct)
            for c in connections}


def duration(ms: int) -> str:
    """A lag in the largest unit that keeps it short: 850 ms, 42 s, 7 min, 3.5 h."""
    if ms < 1000:
        return f"{ms} ms"
    seconds = ms / 1000
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
