"""The freshness objective: "changes reflected within T seconds, P% of the time", per connection.

Each change an incremental sync or a webhook writes carries its lag (our write minus the provider's
modification time) on its normalized event in the traffic database; attainment is the share of the
last day's changes whose lag was within the connection's target. Settled hours are summed once into
the connection's hourly rollup (`settle`, from the alert pass), so a dashboard reads a day of rollups
and only the last hour or so of events."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..extensions import db
from ..models import ConnectionHour, IntegrationConnection, IntegrationNormalizedEvent
from ..sync.runs import hourly

WINDOW = timedelta(hours=24)
SETTLE = timedelta(minutes=10)  # how long after an hour ends its changes are summed for good
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
        return 100.0 * self.within >= self.objective_pct * self.measured


def window_start(now: datetime) -> datetime:
    """The last day, in whole hours: from the start of the hour 24 hours ago (24 to 25 hours)."""
    return hourly.hour_of(now) - WINDOW


def attainment(connections: list[IntegrationConnection], now: datetime) -> dict[int, Freshness]:
    """Freshness of each connection over the last day: the settled hours summed in SQL from their rollups
    (those at the connection's present target), the rest (the last hour or so, or every hour after a
    target changed) counted from the traffic database, one grouped query per distinct target."""
    start = window_start(now)
    hours = _hours(start, now)
    found: dict[int, list[int]] = {c.id: [0, 0, 0] for c in connections}
    h, conn = ConnectionHour, IntegrationConnection
    since: dict[int, datetime] = {c.id: start for c in connections}  # where each one's unsettled hours begin
    gaps: list[int] = []  # settled hours that are not one run from the window's start (rare): hour by hour
    for conn_id, count, first, last, n, ok, worst in db.session.execute(
            sa.select(h.connection_id, sa.func.count(), sa.func.min(h.hour), sa.func.max(h.hour),
                      sa.func.sum(h.fresh_measured), sa.func.sum(h.fresh_within), sa.func.max(h.fresh_worst_ms))
            .join(conn, conn.id == h.connection_id)
            .where(h.connection_id.in_(list(found)), h.hour >= start,
                   h.fresh_target_seconds == conn.freshness_target_seconds)
            .group_by(h.connection_id)):
        if first == start and last == start + (count - 1) * timedelta(hours=1):
            _add(found[conn_id], n, ok, worst)
            since[conn_id] = last + timedelta(hours=1)
        else:
            gaps.append(conn_id)
    covered = _covered(gaps, start, found)
    by_target: dict[int, list[int]] = defaultdict(list)
    for c in connections:
        if c.id not in covered and since[c.id] <= hours[-1]:
            by_target[c.freshness_target_seconds].append(c.id)
    for seconds, ids in by_target.items():  # the usual case: the newest hour or two, one range per connection
        for conn_id, n, ok, worst in _counted(ids, seconds, min(since[i] for i in ids), since, now):
            _add(found[conn_id], n, ok, worst)
    for c in connections:
        if c.id in covered:
            for conn_id, hour, n, ok, worst in _measured([c.id], c.freshness_target_seconds, start,
                                                          now + timedelta(hours=1)):
                if hour not in covered[conn_id]:
                    _add(found[conn_id], n, ok, worst)
    return {c.id: Freshness(found[c.id][0], found[c.id][1], found[c.id][2], c.freshness_target_seconds,
                            c.freshness_objective_pct) for c in connections}


def within(connection_id: int, seconds: int, now: datetime) -> tuple[int, int]:
    """(changes measured, changes reflected within `seconds`) over the last day, for a target other than
    the connection's own (an acceptance criterion's), counted from the events."""
    rows = _query([connection_id], seconds, window_start(now), now + timedelta(hours=1), by_hour=False)
    return (rows[0][1], rows[0][2]) if rows else (0, 0)


def _covered(ids: list[int], start: datetime, found: dict[int, list[int]]) -> dict[int, set[datetime]]:
    """The settled hours, one by one, of connections whose settled hours have gaps (added to `found`)."""
    h, conn = ConnectionHour, IntegrationConnection
    covered: dict[int, set[datetime]] = {i: set() for i in ids}
    if ids:
        for conn_id, hour, n, ok, worst in db.session.execute(
                sa.select(h.connection_id, h.hour, h.fresh_measured, h.fresh_within, h.fresh_worst_ms)
                .join(conn, conn.id == h.connection_id)
                .where(h.connection_id.in_(ids), h.hour >= start, h.fresh_target_seconds == conn.freshness_target_seconds)):
            covered[conn_id].add(hour)
            _add(found[conn_id], n, ok, worst)
    return covered


def settle(connections: list[IntegrationConnection], now: datetime) -> int:
    """Sum into each connection's hourly rollup the freshness of the hours of the last day that have
    settled (ended SETTLE ago: a page committed a little after the hour ended still counts in it), at
    the connection's present target; hours with no change are stored too, as measured 0. The caller
    commits. Returns how many hours were stored."""
    start, last = window_start(now), hourly.hour_of(now - SETTLE) - timedelta(hours=1)
    hours = [x for x in _hours(start, now) if x <= last]
    if not hours:
        return 0
    h = ConnectionHour
    have: dict[int, set[datetime]] = defaultdict(set)
    target = {c.id: c.freshness_target_seconds for c in connections}
    for conn_id, hour, at in db.session.execute(sa.select(h.connection_id, h.hour, h.fresh_target_seconds).where(
            h.connection_id.in_(list(target)), h.hour >= start, h.fresh_target_seconds.isnot(None))):
        if at == target[conn_id]:
            have[conn_id].add(hour)
    by_target: dict[int, list[int]] = defaultdict(list)
    for c in connections:
        if any(x not in have[c.id] for x in hours):
            by_target[c.freshness_target_seconds].append(c.id)
    stored = 0
    for seconds, ids in by_target.items():
        first = min(next(x for x in hours if x not in have[i]) for i in ids)
        measured = {(conn_id, hour): (n, ok, worst)
                    for conn_id, hour, n, ok, worst in _measured(ids, seconds, first, last + timedelta(hours=1))}
        for conn_id in ids:
            for hour in hours:
                if hour >= first and hour not in have[conn_id]:
                    n, ok, worst = measured.get((conn_id, hour), (0, 0, 0))
                    hourly.put(conn_id, hour, {"fresh_target_seconds": seconds, "fresh_measured": n,
                                               "fresh_within": ok, "fresh_worst_ms": worst})
                    stored += 1
    return stored


def _measured(ids: list[int], seconds: int, since: datetime, until: datetime) -> list[tuple[int, datetime, int, int, int]]:
    """Measured changes per connection and hour between `since` and `until`: count, within target, worst."""
    return [(conn_id, hourly.parse_hour(text), n, ok, worst)
            for conn_id, text, n, ok, worst in _query(ids, seconds, since, until, by_hour=True)]


def _counted(ids: list[int], seconds: int, earliest: datetime, since: dict[int, datetime],
             now: datetime) -> list[tuple[int, int, int, int]]:
    """Measured changes per connection from its own `since` on: count, within target, worst. One query
    from the earliest; connections whose unsettled hours begin later are read again from their own start
    (they only differ when settling is behind for some)."""
    late = sorted({since[i] for i in ids} - {earliest})
    if not late:
        return [(row[0], row[1], row[2], row[3]) for row in _query(ids, seconds, earliest, now + timedelta(hours=1),
                                                                    by_hour=False)]
    out: list[tuple[int, int, int, int]] = []
    for at in (earliest, *late):
        group = [i for i in ids if since[i] == at]
        out.extend((row[0], row[1], row[2], row[3])
                   for row in _query(group, seconds, at, now + timedelta(hours=1), by_hour=False))
    return out


def _query(ids: list[int], seconds: int, since: datetime, until: datetime, by_hour: bool) -> list[tuple]:
    if since >= until:
        return []
    ev = IntegrationNormalizedEvent
    with Session(db.engines["traffic"]) as traffic:
        keys: list[sa.ColumnElement[Any]] = [ev.connection_id.expression]
        if by_hour:
            keys.append(hourly.hour_text(ev.created_at, traffic.get_bind().dialect.name))
        within = sa.func.sum(sa.case((ev.lag_ms <= seconds * 1000, 1), else_=0))
        rows = traffic.execute(
            sa.select(*keys, sa.func.count(), within, sa.func.max(ev.lag_ms))
            .where(ev.connection_id.in_(ids), ev.created_at >= since, ev.created_at < until, ev.lag_ms.isnot(None))
            .group_by(*keys)).all()
    return [(*row[:-3], int(row[-3]), int(row[-2] or 0), int(row[-1] or 0)) for row in rows]


def _hours(start: datetime, now: datetime) -> list[datetime]:
    """The hours' starts from `start` to the present hour, oldest first."""
    out, at, end = [], start, hourly.hour_of(now)
    while at <= end:
        out.append(at)
        at += timedelta(hours=1)
    return out


def _add(total: list[int], n: int | None, ok: int | None, worst: int | None) -> None:
    total[0] += int(n or 0)
    total[1] += int(ok or 0)
    total[2] = max(total[2], int(worst or 0))


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
