"""One call budget per portal across the fleet (console/sync/budget.py): three dispatcher processes
syncing the three objects of one portal, with HubSpot's limits on, draw no 429 and use the window; a
process that cannot reach the budget's database sends nothing."""
from __future__ import annotations

import signal
import subprocess
import time
from datetime import timedelta

import pytest
import requests
import sqlalchemy as sa

from console.choices import ConnectionStatus
from console.connectors.base import RetriableError
from console.connectors.budget import API, RateReading
from console.extensions import db
from console.models import IntegrationSyncJob, IntegrationSyncRun
from console.models.base import utcnow
from console.sandbox import SandboxConfig, SandboxServer
from console.sync import budget
from console.sync.inbound.runner import ensure_job
from console.sync.provider import open_session

from .. import factories
from .test_processes import ROOT, child_env, flask_cmd

OBJECTS = ("companies", "contacts", "deals")


def test_three_dispatchers_share_one_portals_window(app, tmp_path):
    """A 4 s window of 40 calls (the headers say so, as HubSpot's do): 2,000 records of each object are
    about a window's worth of pages per process alone, which one process would send in a second or two,
    so three at once want many times what the window allows, over more than two windows. Shared, they
    draw 0 answers of 429 and use at least 90 % of it."""
    limits = SandboxConfig(contacts=2000, deals=2000, companies=2000, seed=23, limits=True, tier="starter",
                           window_ms=4000, per_window=40)
    with SandboxServer(limits) as sb:
        conn = factories.hubspot_connection(sb.url, sb.token, portal_id="fleet")
        conn.status = ConnectionStatus.LIVE.value
        for object_type in OBJECTS:  # due once every process is up, so each claims one
            job = ensure_job(conn, object_type, schedule_seconds=3600, enabled=True)
            job.depends_on, job.next_run_at = None, utcnow() + timedelta(seconds=8)
        db.session.commit()
        env = {**child_env(app), "CONSOLE_CLIENT_CONCURRENCY": "3"}
        logs = [open(tmp_path / f"dispatcher{i}.log", "w") for i in range(3)]
        procs = [subprocess.Popen(flask_cmd("jobs", "run", "--interval", "0.3", "--workers", "1"), cwd=ROOT, env=env,
                                  stdout=log, stderr=subprocess.STDOUT) for log in logs]
        try:
            deadline = time.monotonic() + 180
            while time.monotonic() < deadline:
                db.session.commit()
                if all(j.last_success_at for j in db.session.scalars(sa.select(IntegrationSyncJob))):
                    break
                time.sleep(0.3)
        finally:
            for p in procs:
                p.send_signal(signal.SIGTERM)
            for p in procs:
                p.wait(timeout=60)
            for log in logs:
                log.close()
        said = "\n".join((tmp_path / f"dispatcher{i}.log").read_text()[-1500:] for i in range(3))
        runs = db.session.scalars(sa.select(IntegrationSyncRun)).all()
        assert len(runs) == 3, said
        assert all(r.status in ("succeeded", "partial") for r in runs), [(r.status, r.error_message) for r in runs]
        assert len({r.worker.rsplit(":", 1)[0] for r in runs}) == 3, "each process should have run one object"
        assert max(r.started_at for r in runs) < min(r.finished_at for r in runs), "the three should overlap"
        calls = requests.get(f"{sb.url}/_sandbox/info", timeout=5).json()["limits"]["apps"]["private_app"]
        assert calls["rejected"] == 0, calls
        assert calls["seconds"] > 2 * 4 and calls["window_share"] >= 0.90, calls


def test_a_process_that_cannot_reach_the_budget_sends_nothing(app, sandbox):
    conn = factories.hubspot_connection(sandbox.url, sandbox.token)
    db.session.commit()
    asked = requests.get(f"{sandbox.url}/_sandbox/info", timeout=5).json()["requests"]
    app.config["CALL_BUDGET_URL"] = "mysql+pymysql://nobody:x@127.0.0.1:9/none?connect_timeout=2"
    try:
        with pytest.raises(RetriableError, match="budget's database cannot be reached"):
            open_session(conn).properties("contacts")
    finally:
        budget.dispose()
    assert requests.get(f"{sandbox.url}/_sandbox/info", timeout=5).json()["requests"] == asked


def test_the_fleet_waits_out_a_429_together(app):
    """A 429 one process draws pushes the account's next slot back for every process."""
    engine = budget._engine(app.config["CALL_BUDGET_URL"])
    first, second = (budget.SharedBudget(engine, "9:portal", {}) for _ in range(2))
    first.acquire(API)  # the account's row
    first.hold(0.6)
    started = time.monotonic()
    second.acquire(API)
    assert 0.45 <= time.monotonic() - started < 3 and second.waited_s > 0.45


def test_processes_meeting_an_accounts_first_call_all_get_a_slot(app):
    """Eight threads (each its own connection, as processes are) take an account's first slots at once:
    the row is made once, nobody deadlocks (MariaDB's gap locks did, when the insert shared the update's
    transaction), and once the window is known a burst fills it and the rest wait for it to roll."""
    import threading

    engine = budget._engine(app.config["CALL_BUDGET_URL"])
    failures: list[BaseException] = []
    start = threading.Barrier(8)

    def first_calls() -> None:
        try:
            start.wait()
            for _ in range(3):
                budget.SharedBudget(engine, "9:first", {}).acquire(API)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=first_calls) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert failures == []
    with engine.connect() as c:
        assert c.scalar(sa.select(sa.func.count()).select_from(budget.budgets)) == 1
    paced = budget.SharedBudget(engine, "9:paced", {})
    started = time.monotonic()
    paced.acquire(API)  # the account's first call: its answer says 3 calls in each 0.3 s (2 allowed in 0.4 s)
    paced.observe(RateReading(per_window=3, window_s=0.3))
    times = [0.0]
    for _ in range(6):
        paced.acquire(API)
        times.append(time.monotonic() - started)
    assert times[1] < 0.15  # two at once...
    assert all(times[k + 2] - times[k] >= 0.38 for k in range(len(times) - 2)), times  # ...then two a window
