"""One claim for every kind of background work (sync/runs/claims.py): a process killed while holding each kind
leaves it to the sweep or to the next claim once its lease runs out, never to a second process before."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta

import requests
import sqlalchemy as sa

from console.choices import CredentialStatus
from console.connectors.budget import _registry
from console.extensions import db
from console.imports import service as imports
from console.models import CrmLead, CsvImport, EventWebhookEvent, IntegrationNormalizedEvent, IntegrationSyncRun, MonitorAlert
from console.models.base import utcnow
from console.monitoring.alerts import evaluate
from console.monitoring.notify import notify_pending
from console.sandbox import SandboxConfig, SandboxServer
from console.sandbox.faults import FaultRule
from console.sync.inbound.runner import ensure_job, execute, start_run
from console.sync.proof import testbatch
from console.sync.runs.lifecycle import open_run, sweep
from console.webhooks import normalize

from .. import factories
from ..conftest import count
from ..sinks import HttpSink
from .test_processes import ROOT, child_env, flask_cmd


def _env(app) -> dict[str, str]:
    return {**child_env(app), "CONSOLE_UPLOAD_DIR": str(imports.upload_dir()),
            "CONSOLE_NOTIFY_HOSTS": "127.0.0.1"}


def _fresh(model, *where):
    db.session.commit()  # a new snapshot: the child process wrote on its own connections
    return db.session.scalars(sa.select(model).where(*where)).all()


def test_a_killed_dispatcher_leaves_every_kind_of_queued_work_to_the_sweep_or_the_next_claim(app, tmp_path):
    """One `flask jobs run` holds a test batch, a first complete sync, a CSV import and a webhook batch at
    once and is SIGKILLed. Until the leases run out nothing is swept or claimed again; then every run is
    failed with what it had committed, the import says how far it got, and the webhook batch is claimed
    again and applied once."""
    _registry.clear()
    owner = factories.user("owner")
    with SandboxServer(SandboxConfig(contacts=2000, deals=0, seed=21, limits=False)) as sb:
        staged = factories.hubspot_connection(sb.url, sb.token, portal_id="staged")
        staged.status, staged.account.credentials_status = "testing", CredentialStatus.VALID.value
        staged_job = ensure_job(staged, "contacts", enabled=True)
        live = factories.hubspot_connection(sb.url, sb.token, portal_id="live")
        live.status = "live"
        live_job = ensure_job(live, "contacts", enabled=True)
        live_job.depends_on, staged_job.depends_on = None, None
        live_job.next_run_at = utcnow() + timedelta(days=1)  # no scheduled run: only the queued work
        db.session.commit()
        execute(start_run(live_job, "backfill"), full=True)  # the live connection's leads and mapping
        changed = sorted(l.external_id for l in _fresh(CrmLead, CrmLead.connection_id == live.id))[:20]
        for i, ext in enumerate(changed):  # changed at the provider; the webhooks below announce it
            requests.patch(f"{sb.url}/crm/v3/objects/contacts/{ext}", json={"properties": {"firstname": f"Moved{i}"}},
                           headers={"Authorization": f"Bearer {sb.token}"}, timeout=5).raise_for_status()
        for i, ext in enumerate(changed):
            db.session.add(EventWebhookEvent(provider="hubspot", source_event_id=f"k{i}", connection_id=live.id,
                                             event_type="contact.propertyChange", object_id=ext, status="received",
                                             occurred_at=utcnow()))
        csv_conn = factories.connection(factories.client("Import Co"))
        rows = "".join(f"{900_000 + i},p{i}@example.com,P{i}\n" for i in range(40_000))
        imp = imports.upload(csv_conn, "big.csv", ("Record ID,Email,First Name\n" + rows).encode(), "contacts", owner)
        imports.queue(csv_conn, imp, owner)
        testbatch.queue(staged, [staged_job], 200, owner)
        testbatch.queue_first_sync(staged, [staged_job], owner)
        # every read is slow, the webhook batch's read slower still: each piece of work is mid-way at the kill
        sb.state.faults.set_rules([FaultRule("slow", rate=1.0, delay=0.6, endpoint="/crm/v3/objects/contacts"),
                                   FaultRule("slow", rate=1.0, delay=20, endpoint="/crm/v3/objects/contacts/batch/read")])
        log = open(tmp_path / "dispatcher.log", "w")
        proc = subprocess.Popen(flask_cmd("jobs", "run", "--interval", "0.3", "--workers", "4"), cwd=ROOT,
                                env=_env(app), stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline, busy = time.monotonic() + 60, {}
            while time.monotonic() < deadline:
                running = _fresh(IntegrationSyncRun, IntegrationSyncRun.status == "running")
                busy = {r.kind: r for r in running if r.seen > 0 or r.kind == "webhook"}
                if set(busy) >= {"test_batch", "backfill", "csv_import", "webhook"}:
                    break
                time.sleep(0.05)
        finally:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
            log.close()
        assert set(busy) >= {"test_batch", "backfill", "csv_import", "webhook"}, \
            (busy, (tmp_path / "dispatcher.log").read_text()[-3000:])
        sb.state.faults.set_rules([])

        held = _fresh(IntegrationSyncRun, IntegrationSyncRun.status == "running")
        assert {r.kind for r in held} >= {"test_batch", "backfill", "csv_import", "webhook"}
        assert sweep() == []  # the leases still run: a slow process is not a dead one
        assert normalize.process_due(200, "another-process") == 0  # the batch is still the dead process's
        assert all(e.claimed_by and e.claimed_by != "another-process" for e in _fresh(EventWebhookEvent))

        last_lease = max(r.lease_expires_at for r in held)
        swept = sweep(last_lease + timedelta(seconds=1))
        assert sorted(swept) == sorted(r.id for r in held)
        assert count(IntegrationSyncRun, IntegrationSyncRun.status == "running") == 0
        for run in _fresh(IntegrationSyncRun, IntegrationSyncRun.id.in_(swept)):
            assert run.status == "failed" and run.buckets_balance, run.kind
            assert f"It had committed {run.seen:,} records read" in run.error_message
        imported = _fresh(CsvImport)[0]
        assert imported.status == "failed" and "The import stopped after" in imported.error

        # The webhook batch: due again once its lease runs out (here: moved to now), applied exactly once.
        db.session.execute(sa.update(EventWebhookEvent).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
        while normalize.process_due(200, "another-process"):
            pass
        events = _fresh(EventWebhookEvent)
        assert {e.status for e in events} == {"normalized"} and {e.attempts for e in events} == {2}
        leads = {l.external_id: l for l in _fresh(CrmLead, CrmLead.connection_id == live.id,
                                                   CrmLead.external_id.in_(changed))}
        assert [leads[ext].first_name for ext in changed] == [f"Moved{i}" for i in range(20)]
        webhook_runs = _fresh(IntegrationSyncRun, IntegrationSyncRun.kind == "webhook")
        assert sum(r.updated for r in webhook_runs) == 20  # each change applied once, by one run
        assert count(IntegrationNormalizedEvent, IntegrationNormalizedEvent.connection_id == live.id,
                     IntegrationNormalizedEvent.source_kind == "webhook") == 20


def test_an_in_flight_test_batch_is_not_failed_with_its_jobs_dead_run(app):
    """The old `fail_abandoned_runs` failed every running run of a job whose scheduled run had died,
    a test batch of the same job in flight included. The sweep judges each run by its own lease."""
    conn = factories.hubspot_connection("http://127.0.0.1:9", "pat-x")
    job = ensure_job(conn, "contacts")
    db.session.commit()
    dead = start_run(job, "scheduled", worker="gone")
    batch = open_run(conn.id, "contacts", "test_batch", job=job, worker="alive", dry_run=True, record_limit=25)
    dead.lease_expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert sweep() == [dead.id]
    db.session.refresh(batch)
    assert batch.status == "running" and batch.finished_at is None
    # the existing alert path: the connection's stopped run raises an alert (and its notification)
    conn.status = "live"
    db.session.commit()
    evaluate()
    alert = db.session.scalar(sa.select(MonitorAlert).where(MonitorAlert.kind == "stopped_runs"))
    assert alert is not None and f"run {dead.id}" in alert.message and "Scheduled of contacts" in alert.message


def test_webhook_events_are_claimed_in_one_statement_per_batch_and_never_twice(app):
    """Two processes claim at once: the batches are disjoint and cover every event, and each claim is one
    UPDATE (none when it finds nothing left: how the claims interleave decides that, per database)."""
    statements: list[tuple[int, str]] = []

    def seen(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("UPDATE EVENT_WEBHOOK_EVENTS"):
            statements.append((threading.get_ident(), statement))

    for i in range(300):
        db.session.add(EventWebhookEvent(provider="hubspot", source_event_id=f"e{i}", connection_id=1,
                                         event_type="contact.propertyChange", object_id=str(i), status="received"))
    db.session.commit()
    engine = db.engines["traffic"]
    sa.event.listen(engine, "before_cursor_execute", seen)
    won: dict[str, list[int]] = {}
    calls: list[tuple[int, int]] = []  # (rows won, UPDATE statements issued) per claim call
    barrier = threading.Barrier(2)

    def take(owner: str) -> None:
        with app.app_context():
            barrier.wait()
            won[owner] = []
            for _ in range(2):
                before = sum(1 for t, _ in statements if t == threading.get_ident())
                got = normalize.claim(owner, 200)
                calls.append((len(got), sum(1 for t, _ in statements if t == threading.get_ident()) - before))
                won[owner] += got
            db.session.remove()

    try:
        threads = [threading.Thread(target=take, args=(o,)) for o in ("a", "b")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sa.event.remove(engine, "before_cursor_execute", seen)
    assert not set(won["a"]) & set(won["b"])
    assert len(won["a"]) + len(won["b"]) == 300
    assert all(updates == 1 for rows, updates in calls if rows) and all(updates <= 1 for _, updates in calls)
    assert sum(rows for rows, _ in calls) == 300 and len(calls) == 4


def test_a_notification_is_sent_once_by_two_processes_and_again_only_after_a_dead_senders_lease(app, tmp_path):
    conn = factories.connection(factories.client("Alerted"), live=True, notify_channel="slack")
    slow = HttpSink(delay=30)
    try:
        conn.notify_target = slow.url
        db.session.add(MonitorAlert(connection_id=conn.id, kind="stale", severity="warning", status="open",
                                    message="Contacts last synced 20 minutes ago.", opened_at=utcnow(),
                                    last_seen_at=utcnow()))
        db.session.commit()
        script = ("from wsgi import app\nfrom console.monitoring.notify import notify_pending\n"
                  "with app.app_context():\n    print(notify_pending(owner='child'))\n")
        proc = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, env=_env(app),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        slow.wait_for(1, timeout=30)  # the child is mid-send: the channel holds its request
        assert notify_pending(owner="parent") == {"sent": 0, "failed": 0}  # claimed by the child
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        alert = _fresh(MonitorAlert)[0]
        assert alert.notify_claimed_by == "child" and alert.notified_state is None
        slow.delay = 0
        # the dead sender never confirmed; once its lease is over the message goes again, once
        lease_end = alert.notify_next_at
        assert notify_pending(lease_end - timedelta(seconds=1), owner="parent") == {"sent": 0, "failed": 0}
        assert notify_pending(lease_end + timedelta(seconds=1), owner="parent") == {"sent": 1, "failed": 0}
        assert notify_pending(lease_end + timedelta(seconds=2), owner="parent")["sent"] == 0
        assert len(slow.received) == 2
    finally:
        slow.close()
