"""Each finished run's figures added to its connection's hour (`connection_hours`), in the very
transaction that finishes the run: one atomic upsert (INSERT … ON CONFLICT / ON DUPLICATE KEY adding to
the row), so two runs finishing at once both count, and a run whose finish never commits is never
counted. Dry runs are left out, as everywhere the dashboard counts runs. The hour is that of the
run's creation, as the dashboard's "last 24 hours" always counted runs."""
from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql, sqlite

from ...choices import RunStatus
from ...extensions import db
from ...models import ConnectionHour, IntegrationSyncRun
from ...models.base import table

STATUS_COLUMN = {RunStatus.SUCCEEDED.value: "runs_succeeded", RunStatus.PARTIAL.value: "runs_partial",
                 RunStatus.FAILED.value: "runs_failed", RunStatus.CANCELLED.value: "runs_cancelled"}
COUNTS = (*STATUS_COLUMN.values(), "seen", "written", "failed", "api_calls", "rate_limited", "unbalanced", "stopped")


def hour_of(at: datetime) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0)


def figures(run: IntegrationSyncRun, status: str, stopped: bool = False) -> dict[str, int]:
    """What one finished run adds to its hour."""
    return {STATUS_COLUMN[status]: 1, "seen": run.seen, "written": run.created + run.updated, "failed": run.failed,
            "api_calls": run.api_calls or 0, "rate_limited": run.rate_limited or 0,
            "unbalanced": 0 if run.buckets_balance else 1, "stopped": 1 if stopped else 0}


def add_run(run: IntegrationSyncRun, status: str, stopped: bool = False) -> None:
    """Count a run that has just reached `status` (a final one); the caller commits."""
    if run.dry_run or status not in STATUS_COLUMN:
        return
    add(run.connection_id, hour_of(run.created_at), figures(run, status, stopped))


def add(connection_id: int, hour: datetime, values: dict[str, int]) -> None:
    """Add `values` to the connection's hour, creating the row when it is the hour's first."""
    _upsert(connection_id, hour, values, add=True)


def _upsert(connection_id: int, hour: datetime, values: dict, add: bool) -> None:
    _upsert_many([{"connection_id": connection_id, "hour": hour, **values}], list(values), add)


def _upsert_many(rows: list[dict], keys: list[str], add: bool) -> None:
    """INSERT the rows (columns not given are 0 or NULL); a row whose hour exists adds (or sets) `keys`."""
    t = table(ConnectionHour)
    session_conn = db.session.connection()
    name = session_conn.dialect.name
    zero = dict.fromkeys(COUNTS, 0)
    params = [{**zero, "fresh_target_seconds": None, "fresh_measured": None, "fresh_within": None,
               "fresh_worst_ms": None, **row} for row in rows]
    stmt: sa.Insert
    if name == "mysql":
        my = mysql.insert(t)
        stmt = my.on_duplicate_key_update({k: (t.c[k] + my.inserted[k]) if add else my.inserted[k] for k in keys})
    elif name == "sqlite":
        lite = sqlite.insert(t)
        stmt = lite.on_conflict_do_update(index_elements=[t.c.connection_id, t.c.hour],
                                          set_={k: (t.c[k] + lite.excluded[k]) if add else lite.excluded[k] for k in keys})
    else:  # pragma: no cover - the console runs on SQLite and MySQL/MariaDB only
        raise NotImplementedError(name)
    session_conn.execute(stmt, params)


def window(connection_ids: list[int], since: datetime) -> sa.Select:
    """Each connection's counts summed over the hours from `since` (an hour's start) on."""
    h = ConnectionHour
    return (sa.select(h.connection_id, *(sa.func.coalesce(sa.func.sum(getattr(h, k)), 0).label(k) for k in COUNTS))
            .where(h.connection_id.in_(connection_ids), h.hour >= since).group_by(h.connection_id))


def put(connection_id: int, hour: datetime, values: dict[str, int | None]) -> None:
    """Set `values` on the connection's hour (its freshness, summed once the hour settled)."""
    _upsert(connection_id, hour, values, add=False)


def hour_text(column: sa.ColumnElement | Any, dialect: str) -> sa.ColumnElement:
    """A timestamp's hour as text, 'YYYY-MM-DD HH', to group by in SQL on SQLite and MySQL/MariaDB."""
    if dialect == "mysql":
        return sa.func.date_format(column, "%Y-%m-%d %H")
    return sa.func.strftime("%Y-%m-%d %H", column)


def parse_hour(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H")


# How a swept run's message begins (sync/runs/lifecycle.py writes it; the stopped-runs alert and the hourly counts
# read it). Kept here, below runs, so runs -> hourly is the only import between the two.
STOPPED = "The process running this stopped"


def rebuild() -> int:
    """Sum every finished run into its hour again, from the runs themselves (after a restore, or for data
    written around the console): the run counts are replaced, the settled freshness is kept. The
    caller commits. Returns how many hours hold runs."""
    r, h = IntegrationSyncRun, ConnectionHour
    hour = hour_text(r.created_at, db.session.connection().dialect.name)
    status = {s: sa.func.sum(sa.case((r.status == s, 1), else_=0)) for s in STATUS_COLUMN}
    bucketed = r.created + r.updated + r.unchanged + r.duplicate + r.failed + r.skipped
    query = (sa.select(r.connection_id, hour, *status.values(), sa.func.sum(r.seen), sa.func.sum(r.created + r.updated),
                       sa.func.sum(r.failed), sa.func.sum(sa.func.coalesce(r.api_calls, 0)),
                       sa.func.sum(sa.func.coalesce(r.rate_limited, 0)),
                       sa.func.sum(sa.case((r.seen != bucketed, 1), else_=0)),
                       sa.func.sum(sa.case((sa.and_(r.status == RunStatus.FAILED.value,
                                                    r.error_message.startswith(STOPPED, autoescape=True)), 1), else_=0)))
             .where(r.dry_run.is_(False), r.status.in_(list(STATUS_COLUMN))).group_by(r.connection_id, hour))
    rows = db.session.execute(query).all()
    db.session.execute(sa.update(h).values(dict.fromkeys(COUNTS, 0)))
    _upsert_many([{"connection_id": connection_id, "hour": parse_hour(text),
                   **{k: int(v or 0) for k, v in zip(COUNTS, values, strict=True)}} for connection_id, text, *values in rows],
                 list(COUNTS), add=False)
    return len(rows)
