"""Dispatcher rules: leases, blackout windows in a named timezone, dependency order, live-only."""
from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from console.choices import ConnectionStatus
from console.extensions import db
from console.models import IntegrationSyncJob
from console.models.base import utcnow
from console.sync.inbound.runner import ensure_job
from console.sync.runs.lease import JOB_LEASE
from jobs.dispatcher import release
from jobs.due import claim_due, in_blackout

from .. import factories

NIGHTLY = {"start": "23:00", "end": "02:00", "timezone": "America/Toronto"}


def test_blackout_window_crossing_midnight_in_a_named_zone():
    # 2026-11-23 04:30 UTC is 23:30 in Toronto (EST, UTC-5): inside; ends 02:00 local = 07:00 UTC.
    assert in_blackout(NIGHTLY, datetime(2026, 11, 23, 4, 30)) == datetime(2026, 11, 23, 7, 0)
    assert in_blackout(NIGHTLY, datetime(2026, 11, 23, 6, 59)) == datetime(2026, 11, 23, 7, 0)
    assert in_blackout(NIGHTLY, datetime(2026, 11, 23, 7, 0)) is None
    assert in_blackout(NIGHTLY, datetime(2026, 11, 23, 15, 0)) is None
    # Summer time moves the window in UTC: 23:30 EDT is 03:30 UTC.
    assert in_blackout(NIGHTLY, datetime(2026, 7, 1, 3, 30)) == datetime(2026, 7, 1, 6, 0)
    assert in_blackout(None, datetime(2026, 7, 1, 3, 30)) is None


def _jobs(status=ConnectionStatus.LIVE.value):
    conn = factories.connection(factories.client(), status=status)
    jobs = {t: ensure_job(conn, t, schedule_seconds=60, enabled=True) for t in ("companies", "contacts")}
    db.session.commit()
    return conn, jobs


def test_lease_is_exclusive_and_renewable(app):
    _, jobs = _jobs()
    jobs["contacts"].depends_on = None
    db.session.commit()
    first = claim_due("worker-a")
    assert set(first) == {jobs["companies"].id, jobs["contacts"].id}
    assert claim_due("worker-b") == []  # both leased
    assert JOB_LEASE.renew(jobs["contacts"].id, "worker-a") and not JOB_LEASE.renew(jobs["contacts"].id, "worker-b")
    release(jobs["contacts"].id, "worker-a")
    db.session.expire_all()
    job = db.session.get(IntegrationSyncJob, jobs["contacts"].id)
    assert job.lease_owner is None and job.next_run_at > utcnow() + timedelta(seconds=50)


def test_expired_lease_is_recovered(app):
    _, jobs = _jobs()
    db.session.execute(sa.update(IntegrationSyncJob).values(
        lease_owner="dead-worker", lease_expires_at=utcnow() - timedelta(seconds=1), depends_on=None))
    db.session.commit()
    assert len(claim_due("worker-b")) == 2


def test_companies_run_before_contacts(app):
    _, jobs = _jobs()
    assert claim_due("w") == [jobs["companies"].id]  # contacts wait for a companies success
    release(jobs["companies"].id, "w")
    db.session.execute(sa.update(IntegrationSyncJob).where(IntegrationSyncJob.id == jobs["companies"].id)
                       .values(last_success_at=utcnow()))
    db.session.commit()
    assert claim_due("w") == [jobs["contacts"].id]


def test_blackout_postpones_instead_of_running(app, monkeypatch):
    _, jobs = _jobs()
    always = {"start": "00:00", "end": "23:59", "timezone": "UTC"}
    for job in jobs.values():
        job.blackout, job.depends_on = always, None
    db.session.commit()
    assert claim_due("w") == []
    db.session.expire_all()
    assert all(db.session.get(IntegrationSyncJob, j.id).next_run_at > utcnow() for j in jobs.values())


def test_only_live_connections_are_scheduled(app):
    """Draft, testing (before go-live: nothing flows), paused and revoked connections are never claimed,
    however due their enabled jobs are."""
    for status in ("draft", "testing", "paused", "revoked", "failed"):
        _jobs(status=status)
    assert claim_due("w") == []
    live, jobs = _jobs()
    assert set(claim_due("w")) == {jobs["companies"].id}


def test_sync_cli_prints_a_summary(app, runner, sandbox):
    conn = factories.hubspot_connection(sandbox.url, sandbox.token)
    db.session.commit()
    result = runner.invoke(args=["sync", "run", str(conn.id), "--object", "contacts", "--limit", "50"])
    assert result.exit_code == 0, result.output
    assert "contacts" in result.output and "seen" in result.output
    summary = result.output.strip().splitlines()[-1].split()
    assert summary[0] == "contacts" and summary[2] == "50"
    missing = runner.invoke(args=["sync", "run", "99999"])
    assert missing.exit_code != 0 and "No connection 99999" in missing.output


def test_a_free_worker_claims_the_next_due_job_without_waiting_for_a_tick(app, sandbox):
    """One worker, one tick, four due jobs: the worker runs them one after another (before, each waited
    for a tick of its own: at most workers x 12 runs a minute). Shutting down stops the chain."""
    import time

    from jobs.dispatcher import Dispatcher

    jobs = []
    for _ in range(4):
        conn = factories.hubspot_connection(sandbox.url, sandbox.token)
        conn.status = ConnectionStatus.LIVE.value
        job = ensure_job(conn, "deals", schedule_seconds=3600, enabled=True)
        job.depends_on = None
        jobs.append(job.id)
    db.session.commit()
    dispatcher = Dispatcher(app, max_workers=1)
    try:
        dispatcher.tick()
        deadline = time.monotonic() + 60
        done = 0
        while time.monotonic() < deadline:
            db.session.rollback()
            done = db.session.scalar(sa.select(sa.func.count()).select_from(IntegrationSyncJob).where(
                IntegrationSyncJob.id.in_(jobs), IntegrationSyncJob.last_success_at.isnot(None)))
            if done == 4:
                break
            time.sleep(0.1)
        assert done == 4
    finally:
        dispatcher.shutdown(wait=True)
    assert dispatcher.busy == set()
    db.session.rollback()
    assert all(j.lease_owner is None and j.next_run_at > utcnow() for j in db.session.scalars(
        sa.select(IntegrationSyncJob).where(IntegrationSyncJob.id.in_(jobs))))


def _due_jobs(client, connections: int, per_connection: int) -> list[IntegrationSyncJob]:
    """Due jobs of a client's live connections (distinct object types are not needed: a job is a row)."""
    out = []
    for _ in range(connections):
        conn = factories.connection(client, live=True)
        db.session.flush()
        for k in range(per_connection):
            job = IntegrationSyncJob(connection_id=conn.id, object_type=f"objects_{k}", enabled=True,
                                     schedule_seconds=60, next_run_at=utcnow() - timedelta(minutes=30 - k))
            db.session.add(job)
            out.append(job)
    db.session.commit()
    return out


def test_one_client_with_sixty_due_jobs_never_starves_nine_others(app):
    """The big client's jobs are all older, but a claim takes every other client's job first (round-robin,
    the client waiting longest first) and at most two of the big client's: the cap holds across claims
    and processes until a run of it ends."""
    big = _due_jobs(factories.client("Big Retail"), 6, 10)  # 60 jobs, each due half an hour ago
    others = [_due_jobs(factories.client(f"Clinic {i}"), 1, 1)[0] for i in range(9)]
    for job in others:
        job.next_run_at = utcnow() - timedelta(seconds=5)  # due a moment ago
    db.session.commit()
    first = claim_due("worker-a", limit=11)
    assert {j.id for j in others} <= set(first)  # every other client's job starts in this one tick
    assert len(set(first) & {j.id for j in big}) == 2  # the cap: two of the big client's at once
    taken = {db.session.get(IntegrationSyncJob, i).connection_id for i in set(first) & {j.id for j in big}}
    assert len(taken) == 2  # ... from two of its connections (round-robin within the client too)
    assert claim_due("worker-b", limit=10) == []  # another dispatcher: the big client is at its cap
    release(next(i for i in first if i in {j.id for j in big}), "worker-a")
    assert len(claim_due("worker-b", limit=10)) == 1  # one run ended: one more of the big client's


def test_the_per_client_cap_is_a_setting(app):
    big = _due_jobs(factories.client("Big Retail"), 3, 2)
    assert len(claim_due("w", limit=10, per_client=5)) == 5
    assert len(claim_due("w2", limit=10, per_client=5)) == 0 and len(big) == 6


def test_a_long_first_sync_yields_between_pages_to_other_clients_waiting(app):
    """One thread, one client's 2,000-contact first sync (slow pages) and three other clients' jobs due
    behind it: the long run stops after a committed page once they have waited a tick, they run, and its
    job's next run goes on from the cursor to the same records, none read twice into a lead."""
    import time

    from console.models import CrmLead, CrmLeadEvent, IntegrationSyncError, IntegrationSyncRun
    from console.sandbox import SandboxConfig, SandboxServer
    from console.sandbox.faults import FaultRule
    from jobs.dispatcher import Dispatcher

    app.config.update(SYNC_YIELD_AFTER_SECONDS=0.5, SCHEDULER_INTERVAL_SECONDS=0.2)
    slow = (FaultRule("slow", rate=1.0, delay=0.2, endpoint="/crm/v3/objects/contacts"),)  # 4 s of pages at least
    with SandboxServer(SandboxConfig(contacts=2000, deals=30, companies=0, seed=31, limits=False, faults=slow)) as sb:
        big = factories.hubspot_connection(sb.url, sb.token, portal_id="big")
        big.status = ConnectionStatus.LIVE.value
        long_job = ensure_job(big, "contacts", schedule_seconds=3600, enabled=True)
        long_job.depends_on, long_job.next_run_at = None, utcnow() - timedelta(minutes=1)
        others = []
        for i in range(3):
            conn = factories.hubspot_connection(sb.url, sb.token, portal_id=f"small{i}")
            conn.status = ConnectionStatus.LIVE.value
            job = ensure_job(conn, "deals", schedule_seconds=3600, enabled=True)
            job.depends_on, job.next_run_at = None, utcnow() + timedelta(seconds=0.5)  # due while it runs
            others.append(job.id)
        db.session.commit()
        dispatcher = Dispatcher(app, max_workers=1)
        try:
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                dispatcher.tick()
                db.session.rollback()
                jobs = db.session.scalars(sa.select(IntegrationSyncJob)).all()
                if all(j.last_success_at for j in jobs):
                    break
                time.sleep(0.2)
        finally:
            dispatcher.shutdown(wait=True)
        db.session.rollback()
        runs = db.session.scalars(sa.select(IntegrationSyncRun).where(IntegrationSyncRun.job_id == long_job.id)
                                  .order_by(IntegrationSyncRun.id)).all()
        assert len(runs) >= 2 and runs[0].yielded and not runs[-1].yielded, [(r.id, r.yielded, r.seen) for r in runs]
        assert 0 < runs[0].seen < 2000 and runs[0].status in ("succeeded", "partial")
        finished = {j.id: j.last_success_at for j in db.session.scalars(sa.select(IntegrationSyncJob))}
        others_started = db.session.scalars(sa.select(IntegrationSyncRun.started_at).where(
            IntegrationSyncRun.job_id.in_(others))).all()
        assert len(others_started) == 3 and all(runs[0].finished_at <= s <= runs[1].started_at for s in others_started)
        assert all(finished[j] < finished[long_job.id] for j in others)
        leads = set(db.session.scalars(sa.select(CrmLead.external_id).where(CrmLead.connection_id == big.id)))
        failing = set(db.session.scalars(sa.select(IntegrationSyncError.external_id).where(
            IntegrationSyncError.connection_id == big.id)))
        created = db.session.scalar(sa.select(sa.func.count()).select_from(CrmLeadEvent).where(
            CrmLeadEvent.connection_id == big.id, CrmLeadEvent.kind == "created"))
        assert leads | failing == {str(r.id) for r in sb.state.portal.all_active("contacts")} and not leads & failing
        assert created == len(leads) > 1900
        assert sum(r.seen for r in runs) < 2000 + 100  # the yielded run's pages were not read again
