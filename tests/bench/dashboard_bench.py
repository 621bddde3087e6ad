"""Ops dashboard and alert evaluation at agency scale (run by hand; prints its figures).

  .venv/bin/python tests/bench/dashboard_bench.py [connections]

Builds N live connections (default 200) with two jobs each and a week of runs every 15 minutes
(N x 1,344 runs, a data-quality check after each), 2,000 measured changes per connection in the last day
(traffic database) and some open alerts, in SQLite. Then times what the dashboard does: the full page,
the rows partial every open browser polls every 5 s (its figures read, and served from the 3-second
per-process cache), the week chart, and one alert pass over every connection (the dispatcher runs it
every 60 s; one pass runs first, as the dispatcher would have, summing the settled hours' freshness).
Runs go in around the console, so they are summed into their hours as finishing them would have.
Targets with 200 connections (issue 20): page under 150 ms, polled partial under 50 ms, one alert
pass under 300 ms (medians).
"""
from __future__ import annotations

import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.bench.sync_throughput import make_app, rss_mb
from tests.bench.verdict import judged

PASSWORD = "bench-password-123"


def seed(connections: int) -> None:
    import sqlalchemy as sa
    from sqlalchemy.orm import Session

    from console.extensions import db
    from console.models import (
        Client,
        DataQualityCheck,
        IntegrationConnection,
        IntegrationNormalizedEvent,
        IntegrationSyncJob,
        IntegrationSyncRun,
        MonitorAlert,
        User,
    )
    from console.models.base import utcnow
    from console.reference import ensure_providers
    from console.sync.runs import hourly

    rng, now = random.Random(7), utcnow()
    provider = ensure_providers()["hubspot"]
    ops = User(email="ops@example.com", name="Ops", role="ops")
    ops.set_password(PASSWORD)
    db.session.add(ops)
    conns = []
    for i in range(connections):
        client = Client(name=f"Client {i:03d}", slug=f"client-{i:03d}")
        db.session.add(client)
        db.session.flush()
        conns.append(IntegrationConnection(client_id=client.id, provider_id=provider.id, name=f"Client {i:03d} CRM",
                                           environment="production", status="live"))
    db.session.add_all(conns)
    db.session.flush()
    jobs = [IntegrationSyncJob(connection_id=c.id, object_type=t, schedule_seconds=900, enabled=True,
                               next_run_at=now + timedelta(minutes=rng.randint(1, 15)), last_success_at=now)
            for c in conns for t in ("contacts", "deals")]
    db.session.add_all(jobs)
    db.session.flush()
    runs, checks = [], []
    for job in jobs:
        for k in range(7 * 96):
            at = now - timedelta(minutes=15 * k)
            seen = rng.randint(0, 40)
            failed = 1 if rng.random() < 0.05 else 0
            runs.append({"job_id": job.id, "connection_id": job.connection_id, "object_type": job.object_type,
                         "kind": "scheduled", "status": "partial" if failed else "succeeded", "dry_run": False,
                         "started_at": at, "finished_at": at + timedelta(seconds=3), "created_at": at,
                         "seen": seen, "created": 0, "updated": seen - failed, "unchanged": 0, "duplicate": 0,
                         "failed": failed, "api_calls": 2, "rate_limited": 0})
            checks.append({"connection_id": job.connection_id, "object_type": job.object_type, "created_at": at,
                           "records": 5000, "incomplete": rng.randint(0, 60), "duplicates": rng.randint(0, 80),
                           "unresolved": rng.randint(0, 20)})
    db.session.execute(sa.insert(IntegrationSyncRun.__table__), runs)
    db.session.execute(sa.insert(DataQualityCheck.__table__), checks)
    hourly.rebuild()  # the runs went in around the console: sum them into their hours as finishing would have
    db.session.add_all(MonitorAlert(connection_id=c.id, kind="stale_sync:deals", open_key=f"{c.id}:stale_sync:deals",
                                    severity="warning", status="open", message="bench", opened_at=now,
                                    last_seen_at=now) for c in conns[::10])
    db.session.commit()
    with Session(db.engines["traffic"]) as traffic:
        traffic.execute(sa.insert(IntegrationNormalizedEvent.__table__), [
            {"connection_id": c.id, "source_kind": "webhook", "source_ref": f"{c.id}:{n}", "object_type": "contacts",
             "external_id": str(n), "event_type": "updated", "created_at": now - timedelta(seconds=40 * n),
             "lag_ms": int(rng.expovariate(1 / 20_000))} for c in conns for n in range(2000)])
        traffic.commit()
    print(f"seeded {connections} connections, {len(runs):,} runs, {len(checks):,} quality checks, "
          f"{connections * 2000:,} measured changes")


def timed(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def summary(name: str, seconds: list[float]) -> str:
    return f"{name}: median {statistics.median(seconds) * 1000:,.0f} ms, max {max(seconds) * 1000:,.0f} ms"


def poller(app, get, polls: int = 20) -> list[float]:
    """One open dashboard: a poll every 5 s, on the kept clock rather than the wall's (the background read
    each poll starts is let finish before the next, as 5 real seconds would)."""
    from console import kept

    app.config.update(DASHBOARD_CACHE_SECONDS=3, DASHBOARD_STALE_SECONDS=30)
    at, real = [time.monotonic()], kept.clock
    kept.clock = lambda: at[0]
    try:
        out = []
        for _ in range(polls):
            at[0] += 5
            out += timed(lambda: get("/ops/", headers={"HX-Request": "true"}), 1)
            while kept.refreshing():
                time.sleep(0.005)
        return out
    finally:
        kept.clock = real


def main(connections: int) -> bool:
    from console.monitoring.alerts import evaluate
    from tests.conftest import sign_in

    with tempfile.TemporaryDirectory() as folder:
        app = make_app(folder)
        app.config["WTF_CSRF_ENABLED"] = True
        t0 = time.perf_counter()
        seed(connections)
        print(f"seeding took {time.perf_counter() - t0:.1f} s; RSS {rss_mb():.0f} MB")
        http = app.test_client()
        assert sign_in(http, "ops@example.com", PASSWORD).status_code == 303

        def get(path: str, **kw) -> None:
            resp = http.get(path, **kw)
            assert resp.status_code == 200, resp.status_code

        t0 = time.perf_counter()
        evaluate()  # the dispatcher's alert pass, as every minute: it also sums the settled hours' freshness
        first_pass = time.perf_counter() - t0
        app.config["DASHBOARD_CACHE_SECONDS"] = 0  # every request reads the figures
        page = timed(lambda: get("/ops/"), 10)
        partial = timed(lambda: get("/ops/", headers={"HX-Request": "true"}), 20)
        app.config["DASHBOARD_CACHE_SECONDS"] = 3  # the default: polls within 3 s of a read share it
        get("/ops/", headers={"HX-Request": "true"})
        cached = timed(lambda: get("/ops/", headers={"HX-Request": "true"}), 20)
        polled = poller(app, get)
        chart = timed(lambda: get("/ops/dashboard/chart"), 10)
        passes = timed(evaluate, 5)
        for line in (summary("dashboard page (figures read)", page), summary("rows partial (figures read)", partial),
                     summary("rows partial (figures cached, polled within 3 s)", cached),
                     summary("rows partial as one open dashboard polls it (every 5 s; defaults: kept 3 s, "
                             "then served 30 s more while a thread reads them again)", polled),
                     summary("week chart", chart), summary(f"alert pass over {connections} connections", passes),
                     f"first alert pass (sums the day's settled hours of freshness once): {first_pass * 1000:,.0f} ms"):
            print(line)
        print(f"RSS after: {rss_mb():.0f} MB")
        met = (statistics.median(page) < 0.15 and statistics.median(polled) < 0.05 and statistics.median(cached) < 0.05
               and statistics.median(passes) < 0.3)
        return judged(True, met, "(targets: page under 150 ms, polled partial under 50 ms, alert pass under 300 ms; "
                      "the partial with figures read on every request is shown, not a target)")


if __name__ == "__main__":
    sys.exit(0 if main(int(sys.argv[1]) if len(sys.argv) > 1 else 200) else 1)
