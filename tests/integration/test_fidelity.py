"""Sync fidelity over real HTTP against the sandbox: the stored copy equals the provider's after changes
land between and during runs (shared instants, a window over 10,000, edits and archives while the run
pages, search lag), checked by reconciliation and independently against the sandbox's own records;
search lag with and without the lookback; `--limit` resuming exactly; reconciliation finding and
repairing planted differences; the accounting check and the sweep failing what they must."""
from __future__ import annotations

import re
import threading
import time
from datetime import UTC, timedelta

import requests
import sqlalchemy as sa

from console.choices import ErrorStatus, RunStatus
from console.extensions import db
from console.models import (
    CrmLead,
    CrmLeadEvent,
    IntegrationReconciliation,
    IntegrationSyncError,
    IntegrationSyncJob,
    IntegrationSyncRun,
)
from console.models.base import utcnow
from console.sandbox import SandboxConfig, SandboxServer
from console.sync.inbound.runner import ensure_job, execute, start_run
from console.sync.proof import reconcile
from console.sync.runs.lifecycle import sweep

from .. import factories

FAST = {"backoff_base": 0.01, "timeout": 5.0}



def sync(job, **kw) -> IntegrationSyncRun:
    run = start_run(job, kw.pop("kind", "manual"), limit=kw.pop("limit", None))
    execute(run, client_options=FAST, **kw)
    db.session.refresh(run)
    assert run.buckets_balance and run.status in ("succeeded", "partial"), (run.status, run.error_message)
    return run


def check(conn, object_type: str = "contacts", repair: bool = False) -> IntegrationReconciliation:
    row = reconcile.queue(conn, object_type, "cli", repair=repair)
    row = reconcile.execute(row.id, "test", client_options=FAST)
    assert row.status == "succeeded", row.error_message
    return row


def ms(dt) -> int:
    return int(round(dt.replace(tzinfo=UTC).timestamp() * 1000))


def independent_differences(conn, portal, object_type: str = "contacts") -> list[str]:
    """Compare with the sandbox's own records (not through our client): every active record is stored
    at its current version or held by an open error; nothing else is stored as active."""
    db.session.commit()
    stored = {l.external_id: l for l in db.session.scalars(sa.select(CrmLead).where(
        CrmLead.connection_id == conn.id, CrmLead.object_type == object_type))}
    failing = set(db.session.scalars(sa.select(IntegrationSyncError.external_id).where(
        IntegrationSyncError.connection_id == conn.id,
        IntegrationSyncError.status.in_([ErrorStatus.OPEN.value, ErrorStatus.RETRYING.value]))))
    wrong = []
    active = {str(r.id): r for r in portal.all_active(object_type)}
    for rid, rec in active.items():
        lead = stored.get(rid)
        ok = lead is not None and not lead.archived and ms(lead.provider_updated_at) == rec.updated
        if not ok and rid not in failing:
            wrong.append(rid)
    wrong += [rid for rid, lead in stored.items() if not lead.archived and rid not in active]
    return sorted(wrong)


def churn(url: str, stop: threading.Event, every: float = 0.05) -> threading.Thread:
    """Edit, create and archive contacts until told to stop, as users do while a sync pages."""
    def loop() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            requests.post(f"{url}/_sandbox/changes", timeout=30, json={
                "update": 25, "create": 3, "archive": 2 if n % 3 == 0 else 0, "same_timestamp": n % 4 == 0,
                "seed": 1000 + n})
            stop.wait(every)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    return thread


def test_changes_between_and_during_runs_reconcile_to_zero(app):
    with SandboxServer(SandboxConfig(contacts=20_000, deals=0, companies=50, seed=31, limits=False)) as sb:
        conn = factories.hubspot_connection(sb.url, sb.token)
        job = ensure_job(conn, "contacts")
        job.depends_on = None
        db.session.commit()
        stop = threading.Event()
        worker = churn(sb.url, stop)  # edits while the backfill lists
        sync(job, kind="backfill")
        stop.set()
        worker.join()

        # Between runs: a shared instant, then more than one search window's worth of changes.
        requests.post(f"{sb.url}/_sandbox/changes", timeout=60, json={"update": 400, "same_timestamp": True, "seed": 2})
        requests.post(f"{sb.url}/_sandbox/changes", timeout=120, json={"update": 10_500, "archive": 40, "seed": 3})
        # During the next run: edits, creations and archives while it pages, with search lagging 1.5 s.
        requests.put(f"{sb.url}/_sandbox/search", json={"lag_ms": 1500}, timeout=5)
        stop = threading.Event()
        worker = churn(sb.url, stop)
        first = sync(job)
        stop.set()
        worker.join()
        assert first.seen >= 10_540  # the window past 10,000 changes, read in one run
        requests.post(f"{sb.url}/_sandbox/search/flush", timeout=5)  # the index catches up
        last = sync(job)  # the next run: the lookback takes whatever search had not shown yet
        assert last.created + last.updated > 0  # the changes made during the first run arrive now

        found = check(conn)
        assert found.differences == 0 and found.in_flight == 0, (found.examples, found.missing, found.stale)
        assert found.provider_active == len(sb.state.portal.all_active("contacts"))
        assert independent_differences(conn, sb.state.portal) == []


def test_search_lag_loses_a_change_without_the_lookback_and_the_lookback_finds_it(app):
    with SandboxServer(SandboxConfig(contacts=300, deals=0, seed=32, limits=False)) as sb:
        auth = {"Authorization": f"Bearer {sb.token}"}
        conn = factories.hubspot_connection(sb.url, sb.token)
        job = ensure_job(conn, "contacts")
        db.session.commit()
        sync(job)
        ids = [str(r.id) for r in sb.state.portal.all_active("contacts")]
        hidden, shown = ids[10], ids[20]
        requests.put(f"{sb.url}/_sandbox/search", json={"lag_ms": 3_600_000}, timeout=5)
        requests.patch(f"{sb.url}/crm/v3/objects/contacts/{hidden}", headers=auth, timeout=5,
                       json={"properties": {"hs_lead_status": "CONNECTED", "phone": "+1 415 555 0101"}})
        time.sleep(0.01)
        requests.put(f"{sb.url}/_sandbox/search", json={"lag_ms": 0}, timeout=5)
        requests.patch(f"{sb.url}/crm/v3/objects/contacts/{shown}", headers=auth, timeout=5,
                       json={"properties": {"hs_lead_status": "CONNECTED"}})

        app.config["SYNC_LOOKBACK_SECONDS"] = 0
        time.sleep(0.01)
        sync(job)  # search shows the later change only: the cursor moves past the hidden one
        requests.post(f"{sb.url}/_sandbox/search/flush", timeout=5)
        sync(job)
        assert independent_differences(conn, sb.state.portal) == [hidden]  # lost for good without a lookback
        found = check(conn)
        assert found.stale == 1 and found.examples["stale"] == [hidden]

        app.config["SYNC_LOOKBACK_SECONDS"] = 300
        run = sync(job)
        assert run.updated == 1 and run.unchanged >= 1  # the hidden change, and the one already held
        assert independent_differences(conn, sb.state.portal) == []
        assert check(conn).differences == 0


def test_a_record_limit_resumes_exactly_where_it_cut(app, runner):
    with SandboxServer(SandboxConfig(contacts=60, deals=500, seed=33, limits=False)) as sb:
        conn = factories.hubspot_connection(sb.url, sb.token)
        job = ensure_job(conn, "deals")
        db.session.commit()
        out = runner.invoke(args=["sync", "run", str(conn.id), "--object", "deals", "--limit", "480"])
        assert out.exit_code == 0, out.output
        db.session.commit()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(CrmLead)) == 480
        assert db.session.get(IntegrationSyncJob, job.id).cursor["mode"] == "backfill"  # the rest of the page waits
        out = runner.invoke(args=["sync", "run", str(conn.id), "--object", "deals"])
        assert out.exit_code == 0, out.output
        db.session.commit()
        rest = db.session.scalar(sa.select(IntegrationSyncRun).order_by(IntegrationSyncRun.id.desc()))
        assert rest.created == 20 and rest.duplicate == 0
        assert independent_differences(conn, sb.state.portal, "deals") == []
        out = runner.invoke(args=["sync", "reconcile", str(conn.id), "--object", "deals"])
        assert out.exit_code == 0 and re.search(r"differences\s+0\b", out.output), out.output


def test_reconcile_finds_and_repairs_planted_differences(app, runner):
    with SandboxServer(SandboxConfig(contacts=400, deals=0, seed=34, limits=False)) as sb:
        conn = factories.hubspot_connection(sb.url, sb.token)
        job = ensure_job(conn, "contacts")
        db.session.commit()
        sync(job)
        assert check(conn).differences == 0
        leads = db.session.scalars(sa.select(CrmLead).where(CrmLead.connection_id == conn.id)
                                   .order_by(CrmLead.id)).all()
        missing, stale, wrongly = leads[0:5], leads[5:12], leads[12:15]
        missing_ids = sorted(l.external_id for l in missing)
        db.session.execute(sa.delete(CrmLeadEvent).where(CrmLeadEvent.lead_id.in_([l.id for l in missing])))
        for lead in missing:
            db.session.delete(lead)
        for lead in stale:
            lead.provider_updated_at -= timedelta(days=3)
            lead.first_name = "Planted"
        for lead in wrongly:
            lead.archived, lead.archived_at = True, utcnow()
        db.session.add(CrmLead(client_id=conn.client_id, connection_id=conn.id, object_type="contacts",
                               external_id="987654321", source_label="CRM", email="ghost@example.com"))
        archived_at_source = leads[20]
        requests.delete(f"{sb.url}/crm/v3/objects/contacts/{archived_at_source.external_id}", timeout=5,
                        headers={"Authorization": f"Bearer {sb.token}"})
        db.session.commit()
        # The archive happened after the last sync started: in flight until a sync has run past it.
        assert check(conn).in_flight == 1
        job.cursor = dict(job.cursor, archived_ms=job.cursor["archived_ms"] + 10**9)  # a run that misses it
        db.session.commit()
        sync(job)

        found = check(conn)
        assert (found.missing, found.stale, found.wrongly_archived, found.extra) == (5, 7, 3, 2)
        assert found.examples["missing"] == missing_ids
        assert "987654321" in found.examples["extra"]
        from console.monitoring.conditions import Facts, reconcile_differences
        (alert,) = reconcile_differences(conn, utcnow(), Facts.read([conn], utcnow()))
        assert alert.kind == "reconcile_differences:contacts" and "17 records" in alert.message

        out = runner.invoke(args=["sync", "reconcile", str(conn.id), "--repair"])
        assert out.exit_code == 0, out.output
        assert re.search(r"missing\s+5\b", out.output) and "repaired 17" in out.output, out.output
        assert re.search(r"after the repair:.*differences\s+0\b", out.output, re.S), out.output
        after = check(conn)
        assert after.differences == 0
        assert independent_differences(conn, sb.state.portal) == []
        db.session.commit()
        assert db.session.scalar(sa.select(CrmLead.first_name).where(CrmLead.id == stale[0].id)) != "Planted"
        ghost = db.session.scalar(sa.select(CrmLead).where(CrmLead.external_id == "987654321"))
        assert ghost.archived
        repair_run = db.session.scalar(sa.select(IntegrationSyncRun).where(IntegrationSyncRun.kind == "reconcile"))
        assert repair_run.status == "succeeded" and repair_run.seen == 17

        now = utcnow()  # the alert follows the newest reconciliation
        assert reconcile_differences(conn, now, Facts.read([conn], now)) == []


def test_an_unbalanced_run_fails_and_is_alerted(app, monkeypatch):
    from console.monitoring.conditions import Facts, accounting
    from console.sync.inbound import pipeline

    with SandboxServer(SandboxConfig(contacts=150, deals=0, seed=35, limits=False)) as sb:
        conn = factories.hubspot_connection(sb.url, sb.token)
        job = ensure_job(conn, "contacts")
        db.session.commit()
        real = pipeline.PageWriter.decide
        monkeypatch.setattr(pipeline.PageWriter, "decide", lambda self, records: real(self, records)[:-1])
        run = start_run(job, "manual")
        execute(run, client_options=FAST)
        db.session.refresh(run)
        assert run.status == RunStatus.FAILED.value and "Accounting check failed" in run.error_message
        assert run.seen == 150 and not run.buckets_balance
        assert [f.kind for f in accounting(conn, utcnow(), Facts.read([conn], utcnow()))] == ["accounting"]
        run.seen = run.created + run.updated + run.unchanged + run.duplicate + run.failed  # for the suite's own check
        db.session.commit()


def test_the_sweep_closes_dead_runs_of_every_kind_and_spares_live_ones(app):
    conn = factories.hubspot_connection("http://127.0.0.1:9", "pat-x")
    job = ensure_job(conn, "contacts")
    db.session.commit()
    old = utcnow() - timedelta(minutes=10)
    dead = [IntegrationSyncRun(job_id=job.id, connection_id=conn.id, object_type="contacts", kind=kind,
                               status="running", started_at=old, heartbeat_at=old, seen=0)
            for kind in ("scheduled", "webhook", "test_batch", "csv_import")]
    alive = IntegrationSyncRun(job_id=job.id, connection_id=conn.id, object_type="contacts", kind="test_batch",
                               status="running", started_at=old, heartbeat_at=utcnow(), dry_run=True)
    db.session.add_all(dead + [alive])
    db.session.commit()
    closed = sweep()
    assert sorted(closed) == sorted(r.id for r in dead)
    db.session.expire_all()
    assert all(r.status == "failed" and "stopped" in r.error_message for r in dead)
    assert alive.status == "running"
    alive.status = "succeeded"
    db.session.commit()


def test_the_daily_reconcile_is_queued_once_per_live_job(app):
    conn = factories.hubspot_connection("http://127.0.0.1:9", "pat-x")
    conn.status = "live"
    draft = factories.hubspot_connection("http://127.0.0.1:9", "pat-y", portal_id="2")
    jobs = [ensure_job(conn, t, enabled=True) for t in ("contacts", "deals")] + [ensure_job(draft, "contacts", enabled=True)]
    ensure_job(conn, "companies", enabled=False)
    db.session.commit()
    now = utcnow()
    assert reconcile.schedule_due(timedelta(hours=24), now) == 2  # the live connection's enabled jobs only
    assert reconcile.schedule_due(timedelta(hours=24), now) == 0  # claimed until tomorrow
    queued = db.session.scalars(sa.select(IntegrationReconciliation)).all()
    assert sorted(r.object_type for r in queued) == ["contacts", "deals"] and {r.trigger for r in queued} == {"scheduled"}
    assert reconcile.schedule_due(timedelta(hours=24), now + timedelta(hours=25)) == 2
    assert jobs[2].reconcile_next_at is None


def test_a_page_that_loses_an_insert_race_is_decided_again(app, monkeypatch):
    """The first backfill and the webhook normalizer may insert the same lead at once: the loser's page
    is decided again from the rows as they now are, and the run still accounts for every record."""
    from console.sync.inbound import pipeline

    with SandboxServer(SandboxConfig(contacts=300, deals=0, seed=36, limits=False)) as sb:
        conn = factories.hubspot_connection(sb.url, sb.token)
        job = ensure_job(conn, "contacts")
        db.session.commit()
        real, raced = pipeline.PageWriter._insert_leads, []

        def another_writer_first(self, conn_, created):
            if created and not raced:  # another process inserts the page's first new lead a moment earlier
                d = created[0]
                with db.engines[None].begin() as other:
                    other.execute(sa.insert(CrmLead.__table__).values(
                        client_id=conn.client_id, connection_id=conn.id, object_type="contacts",
                        external_id=d.record.external_id, source_label="CRM", content_hash="other-writer",
                        created_at=utcnow(), updated_at=utcnow()))
                raced.append(d.record.external_id)
            return real(self, conn_, created)

        monkeypatch.setattr(pipeline.PageWriter, "_insert_leads", another_writer_first)
        run = sync(job)
        assert raced and run.status in ("succeeded", "partial") and run.seen == 300
        assert independent_differences(conn, sb.state.portal) == []
        lead = db.session.scalar(sa.select(CrmLead).where(CrmLead.external_id == raced[0]))
        assert lead.content_hash != "other-writer"  # decided again: the provider's version was applied


def test_a_run_that_waits_keeps_beating_and_is_not_swept(app):
    from console.sync.runs.lifecycle import heartbeat

    conn = factories.hubspot_connection("http://127.0.0.1:9", "pat-x")
    job = ensure_job(conn, "contacts")
    db.session.commit()
    run = start_run(job, "manual")
    started = run.heartbeat_at
    with heartbeat(run, every=0.05):  # a run waiting out a 429 storm commits nothing, but beats
        time.sleep(0.4)
        db.session.commit()
        db.session.refresh(run)
        assert run.heartbeat_at > started
        assert sweep(run.heartbeat_at + timedelta(minutes=1)) == []
    assert sweep(run.lease_expires_at + timedelta(seconds=1)) == [run.id]  # the beats stopped: closed
    db.session.refresh(run)
    assert run.status == "failed" and "stopped" in run.error_message
