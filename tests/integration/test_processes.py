"""Real processes: a sync killed with SIGKILL resumes with nothing lost or doubled, and two
dispatcher processes on one database never run a job at the same time."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from console.choices import ConnectionStatus
from console.connectors.budget import _registry
from console.extensions import db
from console.models import CrmLead, IntegrationSyncJob, IntegrationSyncRun
from console.models.base import utcnow
from console.sandbox import SandboxConfig, SandboxServer
from console.sandbox.faults import FaultRule
from console.sync.inbound.runner import ensure_job, execute, start_run
from console.sync.runs.lifecycle import sweep

from .. import factories
from ..conftest import TEST_MASTER_KEY

ROOT = Path(__file__).resolve().parents[2]


def child_env(app) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
                "TRAFFIC_DATABASE_URL": app.config["SQLALCHEMY_BINDS"]["traffic"],
                "SECRET_KEY": "test-secret", "CONSOLE_MASTER_KEY": TEST_MASTER_KEY, "CONSOLE_SCHEDULER": "off",
                "CONSOLE_PROVIDER_HOSTS": "127.0.0.1",
                "FLASK_APP": "wsgi"})
    return env


def flask_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "flask", "--app", "wsgi", *args]


def lead_rows(connection_id: int) -> dict[str, str]:
    db.session.commit()  # end our snapshot (MariaDB's REPEATABLE READ) to see the other process's writes
    return {l.external_id: l.content_hash for l in db.session.scalars(
        sa.select(CrmLead).where(CrmLead.connection_id == connection_id))}


def test_sigkilled_run_resumes_to_the_same_rows(app, tmp_path):
    _registry.clear()
    slow = (FaultRule("slow", rate=1.0, delay=0.15, endpoint="/crm/v3/objects/contacts"),)
    with SandboxServer(SandboxConfig(contacts=3000, deals=0, seed=12, limits=False, faults=slow)) as sb:
        killed = factories.hubspot_connection(sb.url, sb.token, portal_id="1")
        clean = factories.hubspot_connection(sb.url, sb.token, portal_id="2")
        killed_job, clean_job = ensure_job(killed, "contacts"), ensure_job(clean, "contacts")
        db.session.commit()
        log = open(tmp_path / "sync.log", "w")
        proc = subprocess.Popen(flask_cmd("sync", "run", str(killed.id)), cwd=ROOT, env=child_env(app),
                                stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # wait until some pages are committed, then kill mid-run
            if len(lead_rows(killed.id)) >= 700:
                break
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        log.close()
        partial = lead_rows(killed.id)
        assert 0 < len(partial) < 2940, (tmp_path / "sync.log").read_text()[-2000:]
        sb.state.faults.set_rules([])
        execute(start_run(db.session.get(IntegrationSyncJob, killed_job.id), "manual"))
        execute(start_run(clean_job, "manual"))
        resumed, reference = lead_rows(killed.id), lead_rows(clean.id)
        assert resumed == reference and len(reference) > 2900
        # Nothing doubled: one lead per external id, one "created" event per lead.
        from console.models import CrmLeadEvent
        created = db.session.scalar(sa.select(sa.func.count()).select_from(CrmLeadEvent).where(
            CrmLeadEvent.connection_id == killed.id, CrmLeadEvent.kind == "created"))
        assert created == len(resumed)

        # An incremental run killed mid-way resumes to the same rows too.
        import requests

        requests.post(f"{sb.url}/_sandbox/changes", json={"update": 2000, "seed": 9}, timeout=60)
        newest = db.session.scalar(sa.select(sa.func.max(IntegrationSyncRun.id)))
        # The killed command's lease on the job lapses after a minute; spare the test the wait.
        db.session.execute(sa.update(IntegrationSyncJob).values(lease_expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
        sb.state.faults.set_rules([FaultRule("slow", rate=1.0, delay=0.3, endpoint="/crm/v3/objects/contacts/search")])
        log = open(tmp_path / "incremental.log", "w")
        proc = subprocess.Popen(flask_cmd("sync", "run", str(killed.id)), cwd=ROOT, env=child_env(app),
                                stdout=log, stderr=subprocess.STDOUT)
        deadline, run = time.monotonic() + 60, None
        while time.monotonic() < deadline:  # some incremental pages committed, then kill
            db.session.commit()
            run = db.session.scalar(sa.select(IntegrationSyncRun).where(
                IntegrationSyncRun.connection_id == killed.id, IntegrationSyncRun.id > newest))
            if run is not None and run.seen >= 400:
                break
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        log.close()
        assert run is not None and 400 <= run.seen < 2000, (tmp_path / "incremental.log").read_text()[-2000:]
        sb.state.faults.set_rules([])
        assert run.id in sweep(utcnow() + timedelta(minutes=3))  # its process is gone: closed, counts kept
        db.session.refresh(run)
        assert run.status == "failed" and run.seen >= 400 and run.buckets_balance
        execute(start_run(db.session.get(IntegrationSyncJob, killed_job.id), "manual"))
        execute(start_run(db.session.get(IntegrationSyncJob, clean_job.id), "manual"))
        assert lead_rows(killed.id) == lead_rows(clean.id)


def test_two_dispatchers_never_run_one_job_at_once(app, tmp_path):
    """Two `flask jobs run` processes for 30 s: every due job of a live connection runs, never two runs of
    one job at once; the due jobs of a testing connection (before go-live) are never claimed."""
    _registry.clear()
    slow = (FaultRule("slow", rate=1.0, delay=0.1),)
    with SandboxServer(SandboxConfig(contacts=400, deals=100, seed=13, limits=False, faults=slow)) as sb:
        jobs = []
        staged = factories.hubspot_connection(sb.url, sb.token, portal_id="staged")
        staged.status = ConnectionStatus.TESTING.value
        for object_type in ("contacts", "deals"):
            ensure_job(staged, object_type, schedule_seconds=1, enabled=True).depends_on = None
        for i in range(3):
            conn = factories.hubspot_connection(sb.url, sb.token, portal_id=f"p{i}")
            conn.status = ConnectionStatus.LIVE.value
            for object_type in ("contacts", "deals"):
                job = ensure_job(conn, object_type, schedule_seconds=1, enabled=True)
                job.depends_on = None
                jobs.append(job)
        db.session.commit()
        logs = [open(tmp_path / f"dispatcher{i}.log", "w") for i in range(2)]
        procs = [subprocess.Popen(flask_cmd("jobs", "run", "--interval", "0.3", "--workers", "2"), cwd=ROOT,
                                  env=child_env(app), stdout=log, stderr=subprocess.STDOUT) for log in logs]
        time.sleep(30)
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            p.wait(timeout=60)
        for log in logs:
            log.close()
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(IntegrationSyncRun).where(
        IntegrationSyncRun.connection_id == staged.id)) == 0, "a testing connection's jobs ran before go-live"
    runs = db.session.scalars(sa.select(IntegrationSyncRun).order_by(IntegrationSyncRun.started_at)).all()
    assert len(runs) >= 8, f"only {len(runs)} runs: " + (tmp_path / "dispatcher0.log").read_text()[-2000:]
    workers = {r.worker.rsplit(":", 1)[0] for r in runs}
    assert len(workers) == 2, "both processes should have claimed work"
    by_job: dict[int, list] = {}
    for r in runs:
        assert r.finished_at is not None and r.status in ("succeeded", "partial"), (r.id, r.status, r.error_message)
        by_job.setdefault(r.job_id, []).append(r)
    for job_runs in by_job.values():
        for a, b in zip(job_runs, job_runs[1:]):
            assert a.finished_at <= b.started_at, f"job {a.job_id}: runs {a.id} and {b.id} overlapped"


def test_a_push_killed_after_hubspot_created_records_resumes_without_a_duplicate(app, tmp_path):
    """SIGKILL lands inside the sandbox's handling of the first upsert batch: HubSpot holds the new
    contacts, the console never heard back. The resumed push upserts on email: the same contacts."""
    from console.models import CrmLeadChange, IntegrationFieldMapping
    from console.sync.outbound.changes import placeholder_id, record_change
    from console.sync.outbound.push import execute_push, start_push

    _registry.clear()
    n = 250
    with SandboxServer(SandboxConfig(contacts=20, deals=0, seed=13, limits=False)) as sb:
        conn = factories.hubspot_connection(sb.url, sb.token)
        job = ensure_job(conn, "contacts")
        job.depends_on, job.direction = None, "out"
        db.session.commit()
        execute(start_run(job, "backfill"))
        db.session.scalar(sa.select(IntegrationFieldMapping).where(
            IntegrationFieldMapping.connection_id == conn.id, IntegrationFieldMapping.target_field == "first_name")
        ).direction = "out"
        for i in range(n):
            lead = CrmLead(client_id=conn.client_id, connection_id=conn.id, object_type="contacts",
                           external_id=placeholder_id(), source_label="Sign-ups", email=f"kill.{i}@example.org")
            db.session.add(lead)
            db.session.flush()
            record_change(lead, "first_name", f"Person {i}", "csv_import")
        db.session.commit()

        created, create = [], sb.state.portal.create
        proc: subprocess.Popen | None = None

        def create_then_kill(object_type, props, at=None):
            rec = create(object_type, props, at)
            created.append(rec.id)
            if len(created) == 150 and proc is not None:  # mid-batch: its answer never reaches the console
                os.kill(proc.pid, signal.SIGKILL)
            return rec

        sb.state.portal.create = create_then_kill
        log = open(tmp_path / "push.log", "w")
        proc = subprocess.Popen(flask_cmd("sync", "push", str(conn.id)), cwd=ROOT, env=child_env(app), stdout=log,
                                stderr=subprocess.STDOUT)
        proc.wait(timeout=60)
        log.close()
        assert proc.returncode == -signal.SIGKILL, (tmp_path / "push.log").read_text()[-2000:]
        sb.state.portal.create = create
        db.session.commit()
        held = db.session.scalar(sa.select(sa.func.count()).select_from(CrmLead).where(
            CrmLead.connection_id == conn.id, ~CrmLead.external_id.like("console:%"), CrmLead.email.like("kill.%")))
        # HubSpot finished the killed push's second batch (200 created); only the first group's write-back landed
        assert len(created) == 200 and held == 100

        db.session.execute(sa.update(IntegrationSyncJob).values(lease_expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
        run = start_push(db.session.get(IntegrationSyncJob, job.id))
        execute_push(run)
        db.session.refresh(run)
        assert (run.status, run.seen, run.failed) == ("succeeded", n - 100, 0)
        assert run.created == n - 200 and run.updated == 100  # the 100 the killed push created: matched, not made twice
        emails = [r.props.get("email") for r in sb.state.portal.all_active("contacts")
                  if str(r.props.get("email", "")).startswith("kill.")]
        assert len(emails) == n and len(set(emails)) == n
        db.session.commit()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(CrmLead).where(
            CrmLead.connection_id == conn.id, CrmLead.external_id.like("console:%"))) == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(CrmLeadChange).where(
            CrmLeadChange.status != "written")) == 0
