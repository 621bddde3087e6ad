"""Hourly rollups (issue 20, item 3): every finished run is summed into its connection's hour in the
transaction that finishes it, settled hours' freshness is summed once from the traffic database, and
what the dashboard and the alert pass read from them equals what the runs and events themselves say,
checked against sums computed here, in Python, from the stored rows."""
from __future__ import annotations

import random
import threading
from collections import defaultdict
from datetime import datetime, timedelta
from types import SimpleNamespace

import sqlalchemy as sa
from sqlalchemy.orm import Session

from console.extensions import db
from console.models import (
    ConnectionHour,
    IntegrationConnection,
    IntegrationNormalizedEvent,
    IntegrationSyncJob,
    IntegrationSyncRun,
)
from console.models.base import utcnow
from console.monitoring import dashboard, freshness
from console.sandbox import SandboxConfig, SandboxServer
from console.sync.inbound.runner import ensure_job
from console.sync.runs import hourly
from console.sync.runs import lifecycle as runs
from console.sync.runs.accounting import Tally

from .. import factories
from ..conftest import sign_in
from ..reporting import sync


def _expected_hours(connection_id: int) -> dict[datetime, dict[str, int]]:
    """Each hour's figures, summed here from the runs table (not by the code under test)."""
    out: dict[datetime, dict[str, int]] = defaultdict(lambda: dict.fromkeys(hourly.COUNTS, 0))
    for run in db.session.scalars(sa.select(IntegrationSyncRun).where(IntegrationSyncRun.connection_id == connection_id)):
        if run.dry_run or run.status not in hourly.STATUS_COLUMN:
            continue
        h = out[run.created_at.replace(minute=0, second=0, microsecond=0)]
        h[f"runs_{run.status}"] += 1
        h["seen"] += run.seen
        h["written"] += run.created + run.updated
        h["failed"] += run.failed
        h["api_calls"] += run.api_calls or 0
        h["rate_limited"] += run.rate_limited or 0
        h["unbalanced"] += 0 if run.buckets_balance else 1
        h["stopped"] += 1 if (run.error_message or "").startswith(runs.STOPPED) else 0
    return dict(out)


def _stored_hours(connection_id: int) -> dict[datetime, dict[str, int]]:
    db.session.commit()  # a new snapshot (MariaDB): what other sessions committed is seen
    return {row.hour: {k: getattr(row, k) for k in hourly.COUNTS}
            for row in db.session.scalars(sa.select(ConnectionHour).where(ConnectionHour.connection_id == connection_id))}


def _finished(job, created_at: datetime, seen: int, failed: int = 0, error: str | None = None) -> IntegrationSyncRun:
    run = runs.open_run(job.connection_id, job.object_type, "scheduled", job=job)
    run.created_at = created_at
    tally = Tally()
    tally.read(seen)
    for n in range(seen):
        tally.add(str(n), "failed" if n < failed else "created")
    runs.finish(run, tally, error)
    db.session.commit()
    return run


def test_finished_runs_sum_into_their_hours_as_the_runs_say(app):
    """Real syncs (with API calls), a dry run (left out), runs in earlier hours, a failed one, a partial
    one, one refused before it ran, and one the sweep stopped: the stored hours equal sums of the runs."""
    with SandboxServer(SandboxConfig(contacts=120, deals=0, seed=8, limits=False)) as sb:
        conn = factories.hubspot_connection(sb.url, sb.token)
        job = ensure_job(conn, "contacts")
        job.depends_on = None
        db.session.commit()
        real = sync(job)
        sync(job, dry_run=True)
        assert real.api_calls > 0 and real.seen == 120
    now = utcnow()
    _finished(job, now - timedelta(hours=3), seen=40)
    _finished(job, now - timedelta(hours=3), seen=10, failed=2)
    _finished(job, now - timedelta(hours=26), seen=5, error="the provider refused")
    refused = runs.open_run(conn.id, "contacts", "scheduled", job=job, queued=True)
    db.session.commit()
    runs.fail(refused, "the job was busy")
    stalled = runs.open_run(conn.id, "contacts", "scheduled", job=job)
    stalled.seen, stalled.created, stalled.lease_expires_at = 7, 7, now - timedelta(minutes=1)
    db.session.commit()
    assert runs.sweep() == [stalled.id]

    expected = _expected_hours(conn.id)
    assert _stored_hours(conn.id) == expected
    real_ok = real.status == "succeeded"  # the sandbox's few malformed emails make it partial
    assert sum(h["runs_succeeded"] for h in expected.values()) == 1 + real_ok
    assert sum(h["runs_partial"] for h in expected.values()) == 2 - real_ok
    assert sum(h["runs_failed"] for h in expected.values()) == 3  # refused by the provider, busy, stopped
    assert sum(h["stopped"] for h in expected.values()) == 1 and sum(h["api_calls"] for h in expected.values()) > 0
    # (every stored run balances: the suite checks it after each test; a run that does not counts one)
    assert hourly.figures(IntegrationSyncRun(seen=3, created=1, updated=0, unchanged=0, duplicate=0, failed=0, skipped=0,
                                             api_calls=0, rate_limited=0), "failed")["unbalanced"] == 1

    # Rebuilt from the runs (after a restore), the counts are the same; a settled freshness is kept.
    hour = max(expected)
    hourly.put(conn.id, hour, {"fresh_target_seconds": 60, "fresh_measured": 3, "fresh_within": 2, "fresh_worst_ms": 9})
    db.session.execute(sa.update(ConnectionHour).values(seen=999_999))
    hourly.rebuild()
    db.session.commit()
    assert _stored_hours(conn.id) == expected
    row = db.session.scalar(sa.select(ConnectionHour).where(ConnectionHour.connection_id == conn.id,
                                                            ConnectionHour.hour == hour))
    assert (row.fresh_measured, row.fresh_within) == (3, 2)

    # The dashboard's day: the runs created since the start of the hour 24 hours ago.
    day = dashboard._days([conn.id], now)[conn.id]
    start = freshness.window_start(now)
    recent = [h for at, h in expected.items() if at >= start]
    assert day.runs == sum(h[c] for h in recent for c in hourly.STATUS_COLUMN.values())
    assert (day.seen, day.written, day.failed) == (sum(h["seen"] for h in recent), sum(h["written"] for h in recent),
                                                   sum(h["failed"] for h in recent))
    assert day.runs == 5  # the run of 26 hours ago is outside the day, the dry run is left out


def test_two_processes_finishing_runs_at_once_both_count(app):
    """Each thread has its own session and connection, as a dispatcher process would; every run counts."""
    conn = factories.connection(factories.client(), live=True)
    job = ensure_job(conn, "contacts")
    db.session.commit()
    at, errors, job_id = utcnow(), [], job.id

    def finish_many() -> None:
        with app.app_context():
            try:
                mine = db.session.get(IntegrationSyncJob, job_id)  # loaded by this thread's own session
                for _ in range(15):
                    _finished(mine, at, seen=3)
            except Exception as exc:  # handed to the test
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=finish_many) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    [hour] = _stored_hours(conn.id).values()
    assert hour["runs_succeeded"] == 30 and hour["seen"] == 90


def _events(conn_id: int, now: datetime, rng: random.Random) -> list[tuple[datetime, int]]:
    """Measured changes over the last 30 hours, some exactly on hour boundaries; stored in the traffic database."""
    base = now.replace(minute=0, second=0, microsecond=0)
    times = [now - timedelta(seconds=rng.randint(0, 30 * 3600)) for _ in range(600)]
    times += [base - timedelta(hours=k) for k in range(0, 28, 3)]  # on the hour
    events = [(at, int(rng.expovariate(1 / 40_000))) for at in times]
    with Session(db.engines["traffic"]) as traffic:
        traffic.execute(sa.insert(IntegrationNormalizedEvent.__table__), [
            {"connection_id": conn_id, "source_kind": "webhook", "source_ref": f"{conn_id}:{i}", "object_type": "contacts",
             "external_id": str(i), "event_type": "updated", "created_at": at, "lag_ms": lag}
            for i, (at, lag) in enumerate(events)])
        traffic.commit()
    return events


def _brute(events: list[tuple[datetime, int]], now: datetime, target_seconds: int) -> tuple[int, int, int]:
    start = freshness.window_start(now)
    day = [lag for at, lag in events if start <= at <= now]
    return len(day), sum(1 for lag in day if lag <= target_seconds * 1000), max(day)


def _measured(conn, now) -> tuple[int, int, int]:
    db.session.expire_all()
    f = freshness.attainment([conn], now)[conn.id]
    return f.measured, f.within, f.worst_ms


def test_settled_freshness_reads_as_the_events_say(app):
    conn = factories.connection(factories.client(), live=True)
    conn.freshness_target_seconds = 60
    db.session.commit()
    now = utcnow().replace(minute=5)  # within SETTLE of the hour: the hour before is not settled yet
    events = _events(conn.id, now, random.Random(3))
    assert _measured(conn, now) == _brute(events, now, 60)  # nothing settled: all from the events

    stored = freshness.settle([conn], now)
    db.session.commit()
    settled = {row.hour for row in db.session.scalars(sa.select(ConnectionHour).where(
        ConnectionHour.connection_id == conn.id, ConnectionHour.fresh_target_seconds.isnot(None)))}
    start, this_hour = freshness.window_start(now), hourly.hour_of(now)
    assert settled == {start + timedelta(hours=k) for k in range(23)} and stored == 23
    assert this_hour - timedelta(hours=1) not in settled and this_hour not in settled
    assert _measured(conn, now) == _brute(events, now, 60)
    assert freshness.settle([conn], now) == 0  # nothing more to settle until time passes

    conn.freshness_target_seconds = 20  # the settled hours were summed at 60 s: read from the events again
    db.session.commit()
    assert _measured(conn, now) == _brute(events, now, 20)
    assert freshness.settle([conn], now) == 23
    db.session.commit()
    assert _measured(conn, now) == _brute(events, now, 20)

    # A gap in the settled hours (a row lost): that hour is read from the events, the others from the rollups.
    db.session.execute(sa.delete(ConnectionHour).where(ConnectionHour.connection_id == conn.id,
                                                       ConnectionHour.hour == start + timedelta(hours=5)))
    db.session.commit()
    assert _measured(conn, now) == _brute(events, now, 20)

    later = now + timedelta(minutes=20)  # the hour before has settled now
    assert freshness.settle([conn], later) == 2  # the lost hour and the one that settled
    db.session.commit()
    assert _measured(conn, later) == _brute(events, later, 20)


def test_the_rows_are_cached_briefly_and_an_action_reads_them_again(app, client):
    app.config["DASHBOARD_CACHE_SECONDS"] = 300
    factories.user("ops", email="ops@example.com")
    conn = factories.connection(factories.client(), live=True)
    job = ensure_job(conn, "contacts")
    db.session.commit()
    assert sign_in(client, "ops@example.com", factories.PASSWORD).status_code == 303
    first = _finished(job, utcnow(), seen=4)
    assert f"#{first.id}" in client.get("/ops/", headers={"HX-Request": "true"}).get_data(as_text=True)
    second = _finished(job, utcnow(), seen=4)
    polled = client.get("/ops/", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert f"#{first.id}" in polled and f"#{second.id}" not in polled  # served from the cache, rendered anew
    page = client.get("/ops/").get_data(as_text=True)
    assert f"#{first.id}" in page and 'name="csrf_token"' in page
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    answer = client.post(f"/ops/connections/{conn.id}/pause", data={"csrf_token": token},
                         headers={"HX-Request": "true"}).get_data(as_text=True)
    assert f"#{second.id}" in answer  # an action in this process reads the rows again
    app.config["DASHBOARD_CACHE_SECONDS"] = 0
    third = _finished(job, utcnow(), seen=4)
    assert f"#{third.id}" in client.get("/ops/", headers={"HX-Request": "true"}).get_data(as_text=True)


def test_a_poll_after_the_rows_expire_gets_them_at_once_while_a_thread_reads_them_again(app, client, monkeypatch):
    """Stale-while-revalidate: within the stale window a poll is answered from the kept rows and one
    background thread reads them again; past it, the poll reads them itself."""
    import time

    from console import kept

    app.config.update(DASHBOARD_CACHE_SECONDS=3, DASHBOARD_STALE_SECONDS=30)
    at = [1000.0]
    monkeypatch.setattr(kept, "clock", lambda: at[0])  # a poller's seconds, without waiting for them
    factories.user("ops", email="ops@example.com")
    conn = factories.connection(factories.client(), live=True)
    job = ensure_job(conn, "contacts")
    db.session.commit()
    assert sign_in(client, "ops@example.com", factories.PASSWORD).status_code == 303

    def poll() -> str:
        return client.get("/ops/", headers={"HX-Request": "true"}).get_data(as_text=True)

    first = _finished(job, utcnow(), seen=4)
    assert f"#{first.id}" in poll()
    second = _finished(job, utcnow(), seen=4)
    at[0] += 5  # expired, inside the stale window
    stale = poll()
    assert f"#{first.id}" in stale and f"#{second.id}" not in stale
    deadline = time.monotonic() + 10
    while kept.refreshing() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not kept.refreshing()
    assert f"#{second.id}" in poll()  # what the background thread read, with no read of this poll's own
    third = _finished(job, utcnow(), seen=4)
    at[0] += 60  # past the stale window: the poll reads the rows itself
    assert f"#{third.id}" in poll()


def _at_0012(model, rows: list[dict]) -> tuple[sa.TableClause, list[dict]]:
    """The rows as the schema the database is at holds them: each column the table has there, from the row
    or the model's Python default; columns added since (with defaults of their own) are left out."""
    present = {c["name"] for c in sa.inspect(db.session.connection()).get_columns(model.__tablename__)}
    columns = [c for c in model.__table__.columns if c.key in present]
    out = []
    for row in rows:
        full = dict(row)
        for c in columns:
            if c.key not in full and c.default is not None and (c.default.is_scalar or c.default.is_callable):
                full[c.key] = c.default.arg if c.default.is_scalar else c.default.arg(None)
        out.append(full)
    return sa.table(model.__tablename__, *(sa.column(c.key, c.type) for c in columns)), out


def test_the_migration_sums_the_runs_already_stored(tmp_path):
    """Upgrading a database that holds runs fills the rollups from them (SQLite here; MariaDB runs the
    same statement on CI's empty database)."""
    from console.extensions import upgrade

    from ..conftest import build_app

    app = build_app(tmp_path, f"sqlite:///{tmp_path}/p.db", f"sqlite:///{tmp_path}/t.db")
    with app.app_context():
        upgrade("0012")
        # A connection as the schema at 0012 holds it (Core: the model has columns added since).
        from console.reference import ensure_providers

        client = factories.client()
        table, (values,) = _at_0012(IntegrationConnection, [dict(
            client_id=client.id, provider_id=ensure_providers()["hubspot"].id, name="At 0012", environment="sandbox",
            status="live", went_live_at=utcnow(), client_visible=True)])
        db.session.execute(sa.insert(table).values(values))
        conn_id = db.session.scalar(sa.select(sa.func.max(IntegrationConnection.id)))
        db.session.commit()
        conn = SimpleNamespace(id=conn_id)
        now, rows = utcnow(), []
        for k in range(40):
            status = ("succeeded", "partial", "failed", "cancelled", "running")[k % 5]
            seen = k + 3
            rows.append({"connection_id": conn.id, "object_type": "contacts", "kind": "scheduled", "status": status,
                         "dry_run": k % 7 == 0, "created_at": now - timedelta(minutes=37 * k), "seen": seen,
                         "created": seen - 1 - (k % 3 == 0), "updated": 1, "unchanged": 0, "duplicate": 0, "failed": 0,
                         "skipped": 0, "api_calls": k, "rate_limited": k % 2,
                         "error_message": runs.STOPPED + " (…)" if k % 10 == 2 else None})
        table, rows = _at_0012(IntegrationSyncRun, rows)
        db.session.execute(sa.insert(table), rows)
        db.session.commit()
        upgrade()
        expected = _expected_hours(conn.id)
        assert sum(h["unbalanced"] for h in expected.values()) > 0 and sum(h["stopped"] for h in expected.values()) > 0
        assert _stored_hours(conn.id) == expected
        for engine in db.engines.values():
            engine.dispose()


def test_rebuild_hours_from_the_command_line(app):
    conn = factories.connection(factories.client(), live=True)
    job = ensure_job(conn, "contacts")
    db.session.commit()
    _finished(job, utcnow(), seen=6)
    db.session.execute(sa.delete(ConnectionHour))
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["monitoring", "rebuild-hours"])
    assert result.exit_code == 0 and "1 connection hours summed again" in result.output
    assert _stored_hours(conn.id) == _expected_hours(conn.id)
