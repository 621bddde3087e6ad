"""A run's request log: every HTTP call its provider session made (connectors/base.CallRecord), written to
the traffic database a hundred at a time from a page's commit, and the rest when the run finishes. What is
kept is what ops need to see what was asked and what came back; never a body, a header or a query value."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ...extensions import db
from ...models import IntegrationRequestLog
from ...models.base import table

FLUSH_EVERY = 100


def flush(connection_id: int, run_id: int | None, stats: Any, at_least: int = 1) -> int:
    """Write the calls held in `stats` (when there are `at_least`); how many were written."""
    calls = getattr(stats, "calls", None)
    if calls is None or len(calls) < max(1, at_least):
        return 0
    rows = []
    while calls:
        try:
            c = calls.popleft()  # the prefetch thread may append meanwhile: those wait for the next flush
        except IndexError:
            break
        rows.append({"connection_id": connection_id, "run_id": run_id,
                     "at": datetime.fromtimestamp(c.at, UTC).replace(tzinfo=None), "method": c.method[:8],
                     "path": c.path, "query_keys": c.query_keys or None, "status": c.status,
                     "latency_ms": c.latency_ms, "rate_remaining": c.rate_remaining,
                     "daily_remaining": c.daily_remaining, "attempt": c.attempt})
    if rows:
        with Session(db.engines["traffic"]) as traffic:
            traffic.execute(sa.insert(table(IntegrationRequestLog)), rows)
            traffic.commit()
    return len(rows)
