"""The sync engine against the sandbox over real HTTP: backfill, incremental, faults, the search
cap, archived records, OAuth refresh and revocation, and the accounting invariant on every run."""
from __future__ import annotations

import json
import time

import pytest
import requests
import sqlalchemy as sa

from console.choices import CredentialStatus, ErrorStatus, RunStatus
from console.extensions import db
from console.models import (
    CrmLead,
    CrmLeadEvent,
    IntegrationNormalizedEvent,
    IntegrationRawEvent,
    IntegrationSyncError,
    IntegrationSyncJob,
)
from console.sandbox import SandboxConfig, SandboxServer
from console.sandbox.faults import FaultRule
from console.sync.inbound.runner import ensure_job, execute, start_run

from .. import factories

FAST = {"backoff_base": 0.01, "timeout": 2.0}



def sync(job, **kw):
    run = start_run(job, kw.pop("kind", "manual"), limit=kw.pop("limit", None), dry_run=kw.pop("dry_run", False))
    execute(run, client_options=kw.pop("client_options", FAST), **kw)
    db.session.refresh(run)
    assert run.buckets_balance, f"accounting broken on run {run.id}"
    return run


def leads(connection_id, object_type="contacts") -> dict[str, CrmLead]:
    return {lead.external_id: lead for lead in db.session.scalars(sa.select(CrmLead).where(
        CrmLead.connection_id == connection_id, CrmLead.object_type == object_type))}


def open_errors(connection_id) -> set[str]:
    return set(db.session.scalars(sa.select(IntegrationSyncError.external_id).where(
        IntegrationSyncError.connection_id == connection_id,
        IntegrationSyncError.status.in_([ErrorStatus.OPEN.value, ErrorStatus.RETRYING.value]))))


@pytest.fixture(scope="module")
def big_sandbox():
    with SandboxServer(SandboxConfig(contacts=2500, deals=300, seed=21, limits=False)) as sb:
        yield sb


def test_backfill_then_incremental(app, big_sandbox):
    sb = big_sandbox
    conn = factories.hubspot_connection(sb.url, sb.token)
    job = ensure_job(conn, "contacts")
    db.session.commit()
    run = sync(job, kind="backfill")
    portal = sb.state.portal
    active = {str(r.id): r for r in portal.all_active("contacts")}
    stored, failed = leads(conn.id), open_errors(conn.id)
    assert run.seen == len(active) == 2500 and run.status == RunStatus.PARTIAL.value
    # Every sandbox record is either a lead or an open error with a reason, never both, never lost.
    assert set(stored) | failed == set(active) and not set(stored) & failed
    assert run.created == len(stored) and run.failed == len(failed) > 0
    sample = active[next(iter(stored))]
    lead = stored[str(sample.id)]
    assert lead.email == sample.props["email"].strip().lower()
    assert lead.source_label == "CRM" and lead.client_id == conn.client_id
    with_phone = next(l for l in stored.values() if l.phone)
    assert with_phone.phone.startswith("+") and with_phone.phone[1:].isdigit()
    labelled = next(l for l in stored.values() if l.lifecycle_stage)
    assert labelled.lifecycle_stage[0].isupper()  # the option's label, not the internal value
    owned = next(l for l in stored.values() if l.owner_external_id)
    assert owned.owner_name and owned.owner_name != owned.owner_external_id
    err = db.session.scalar(sa.select(IntegrationSyncError).where(IntegrationSyncError.connection_id == conn.id))
    assert err.stage == "validate" and err.code == "invalid_email" and "@" not in err.message

    # Nothing changed: the next run reads nothing.
    quiet = sync(job)
    assert quiet.seen == 0 and quiet.status == RunStatus.SUCCEEDED.value

    changed = requests.post(f"{sb.url}/_sandbox/changes", json={"update": 150, "archive": 20, "seed": 5}).json()
    before_events = db.session.scalar(sa.select(sa.func.count()).select_from(CrmLeadEvent))
    inc = sync(job)
    touched = set(changed["updated"]) | set(changed["archived"])
    assert inc.seen == 170
    assert inc.created == 0 and inc.duplicate == 0
    db.session.expire_all()
    stored = leads(conn.id)
    for rid in changed["archived"]:
        if rid in stored:
            assert stored[rid].archived and stored[rid].archived_at is not None
    archived_events = db.session.scalars(sa.select(CrmLeadEvent.lead_id).where(
        CrmLeadEvent.kind == "archived", CrmLeadEvent.run_id == inc.id)).all()
    assert len(archived_events) == len([r for r in changed["archived"] if r in stored])
    new_events = db.session.scalars(sa.select(CrmLeadEvent).where(CrmLeadEvent.run_id == inc.id)).all()
    assert {e.kind for e in new_events} <= {"archived", "status_changed", "owner_changed", "lifecycle_changed", "restored"}
    assert len(new_events) == db.session.scalar(sa.select(sa.func.count()).select_from(CrmLeadEvent)) - before_events
    by_id = {l.id: l.external_id for l in stored.values()}
    assert {by_id[e.lead_id] for e in new_events} <= touched
    # Mapped values follow the source after the incremental run.
    for rid in changed["updated"]:
        if rid in stored:
            source = portal.records["contacts"][int(rid)]
            assert stored[rid].owner_external_id == source.props.get("hubspot_owner_id")
    # Raw events in the traffic database, without the sensitive phone field.
    raw = db.session.scalar(sa.select(IntegrationRawEvent).where(IntegrationRawEvent.connection_id == conn.id))
    assert "phone" not in raw.payload and "email" in raw.payload
    assert db.session.scalar(sa.select(sa.func.count()).select_from(IntegrationNormalizedEvent)) >= len(stored)


def test_runs_survive_429s_5xx_resets_and_timeouts(app):
    faults = (FaultRule("429", rate=0.2), FaultRule("503", rate=0.08), FaultRule("500", rate=0.05),
              FaultRule("reset", rate=0.03), FaultRule("timeout", rate=0.03, delay=2.5),
              FaultRule("truncated", rate=0.03))
    with SandboxServer(SandboxConfig(contacts=2000, deals=0, seed=8, limits=False)) as clean_sb, \
            SandboxServer(SandboxConfig(contacts=2000, deals=0, seed=8, limits=False, faults=faults)) as faulty_sb:
        clean = factories.hubspot_connection(clean_sb.url, clean_sb.token)
        faulty = factories.hubspot_connection(faulty_sb.url, faulty_sb.token, portal_id="99")
        clean_job, faulty_job = ensure_job(clean, "contacts"), ensure_job(faulty, "contacts")
        db.session.commit()
        sync(clean_job)
        run = sync(faulty_job, client_options={"backoff_base": 0.01, "timeout": 1.0, "max_attempts": 12})
        assert run.status in (RunStatus.SUCCEEDED.value, RunStatus.PARTIAL.value), run.error_message
        assert run.rate_limited > 0 and run.api_calls > 8
        a, b = leads(clean.id), leads(faulty.id)
        assert set(a) == set(b)
        assert all(a[k].content_hash == b[k].content_hash for k in a)
        assert faulty_sb.state.faults.describe()["injected"].get("429", 0) == run.rate_limited


def test_crossing_the_search_cap_with_one_shared_instant(app):
    with SandboxServer(SandboxConfig(contacts=25_000, deals=0, companies=5, seed=4, limits=False)) as sb:
        conn = factories.hubspot_connection(sb.url, sb.token)
        job = ensure_job(conn, "contacts")
        start_ms = int(time.time() * 1000)
        job.cursor = {"mode": "incremental", "ms": start_ms, "ids": [], "strict": False, "phase": "range",
                      "after_id": "0", "archived_ms": start_ms}
        db.session.commit()
        changed = requests.post(f"{sb.url}/_sandbox/changes", timeout=120,
                                json={"update": 25_000, "same_timestamp": True, "seed": 1}).json()
        run = sync(job)
        assert run.seen == 25_000 and run.duplicate == 0
        assert set(leads(conn.id)) | open_errors(conn.id) == set(changed["updated"])
        app.config["SYNC_LOOKBACK_SECONDS"] = 0  # without the lookback, the next run starts after the instant
        assert sync(job).seen == 0


def test_oauth_refresh_before_expiry_rotation_and_revocation(app):
    with SandboxServer(SandboxConfig(contacts=30, deals=0, seed=2, limits=False)) as sb:
        auth = sb.state.auth
        auth.rotate_refresh_tokens = True
        oauth_app = auth.oauth_app
        location = requests.get(f"{sb.url}/oauth/authorize", allow_redirects=False, params={
            "client_id": oauth_app.client_id, "redirect_uri": "http://127.0.0.1/cb",
            "scope": "crm.objects.contacts.read crm.schemas.contacts.read crm.objects.owners.read "
                     "crm.objects.deals.read"}).headers["Location"]
        code = location.split("code=")[1]
        tokens = requests.post(f"{sb.url}/oauth/v1/token", data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": "http://127.0.0.1/cb",
            "client_id": oauth_app.client_id, "client_secret": oauth_app.client_secret}).json()
        client = factories.client()
        account = factories.account(client, base_url=sb.url, external_account_id="62515", auth_type="oauth",
                                    oauth_client_id=oauth_app.client_id)
        account.set_secret("client_secret", oauth_app.client_secret)
        # Expires in 2 minutes: inside the 5-minute margin, so the first call refreshes.
        account.set_secret("credentials", json.dumps({**tokens, "expires_at": time.time() + 120}))
        conn = factories.connection(client, account_id=account.id)
        job = ensure_job(conn, "contacts")
        db.session.commit()
        run = sync(job)
        assert run.status in ("succeeded", "partial"), run.error_message
        db.session.commit()  # end our snapshot: the refresh was written on its own connection
        db.session.refresh(account)
        stored = json.loads(account.get_secret("credentials"))
        assert stored["access_token"] != tokens["access_token"]
        assert stored["refresh_token"] != tokens["refresh_token"]  # the rotated one, kept encrypted
        assert tokens["refresh_token"] not in account.credentials_enc
        assert account.credentials_status == CredentialStatus.VALID.value

        # Short-lived tokens: refreshes happen mid-run on the prefetching thread and are stored at once.
        requests.put(f"{sb.url}/_sandbox/oauth", json={"access_ttl": 301})
        requests.post(f"{sb.url}/_sandbox/changes", json={"create": 500})
        requests.post(f"{sb.url}/_sandbox/tokens/expire")  # the next call gets a 401, refreshes, then
        before = stored["refresh_token"]                    # 301 s tokens need refreshing again within 1 s
        sb.state.faults.set_rules([FaultRule("slow", delay=0.4, endpoint="/crm/v3/objects/contacts")])
        db.session.execute(sa.update(IntegrationSyncJob).where(IntegrationSyncJob.id == job.id).values(cursor=None))
        db.session.commit()
        again = sync(job)
        sb.state.faults.set_rules([])
        assert again.status in ("succeeded", "partial"), again.error_message
        db.session.commit()
        db.session.refresh(account)
        stored = json.loads(account.get_secret("credentials"))
        assert stored["refresh_token"] != before
        assert requests.get(f"{sb.url}/oauth/v1/refresh-tokens/{stored['refresh_token']}").status_code == 200
        requests.put(f"{sb.url}/_sandbox/oauth", json={"access_ttl": 1800})

        # Revoked: the refresh fails, the run fails with a clear message, the credentials are marked.
        requests.delete(f"{sb.url}/oauth/v1/refresh-tokens/{stored['refresh_token']}")
        requests.post(f"{sb.url}/_sandbox/tokens/expire")
        failed = sync(job)
        assert failed.status == RunStatus.FAILED.value
        assert "reconnect" in failed.error_message.lower() or "credentials" in failed.error_message.lower()
        db.session.refresh(account)
        assert account.credentials_status == CredentialStatus.INVALID.value


def test_wrong_private_token_fails_clearly(app):
    with SandboxServer(SandboxConfig(contacts=5, deals=0, limits=False)) as sb:
        conn = factories.hubspot_connection(sb.url, "pat-wrong-token-0000")
        job = ensure_job(conn, "contacts")
        db.session.commit()
        run = sync(job)
        assert run.status == "failed" and "401" in run.error_message and "pat-wrong" not in run.error_message
        assert conn.account.credentials_status == CredentialStatus.INVALID.value
        assert db.session.scalar(sa.select(sa.func.count()).select_from(CrmLead)) == 0


def test_test_batch_is_a_dry_run(app, big_sandbox):
    conn = factories.hubspot_connection(big_sandbox.url, big_sandbox.token)
    job = ensure_job(conn, "contacts")
    db.session.commit()
    run = sync(job, kind="test_batch", dry_run=True, limit=25)
    assert run.seen == 25 and run.created + run.failed == 25
    assert leads(conn.id) == {} and job.cursor is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(IntegrationRawEvent).where(
        IntegrationRawEvent.connection_id == conn.id)) == 0


def test_eligibility_conditions_ignore_with_reason(app, big_sandbox):
    conn = factories.hubspot_connection(big_sandbox.url, big_sandbox.token)
    job = ensure_job(conn, "contacts")
    job.eligibility = [{"field": "hs_lead_status", "op": "eq", "value": "OPEN"}]
    db.session.commit()
    run = sync(job, limit=300)
    opened = list(leads(conn.id).values())
    assert run.unchanged > 0 and all(l.lead_status == "Open" for l in opened)


def test_failed_records_retry_and_dead_letter(app):
    with SandboxServer(SandboxConfig(contacts=200, deals=0, seed=21, limits=False)) as sb:
        conn = factories.hubspot_connection(sb.url, sb.token)
        job = ensure_job(conn, "contacts")
        db.session.commit()
        sync(job)
        bad = sorted(open_errors(conn.id))
        assert bad
        # Fix one record at the source; make every error due now.
        requests.patch(f"{sb.url}/crm/v3/objects/contacts/{bad[0]}", headers={"Authorization": f"Bearer {sb.token}"},
                       json={"properties": {"email": "fixed.person@example.com"}})
        for _ in range(5):
            db.session.execute(sa.update(IntegrationSyncError).values(next_retry_at=sa.func.now()))
            db.session.execute(sa.update(IntegrationSyncError).values(
                next_retry_at=IntegrationSyncError.created_at))
            db.session.commit()
            sync(job)
        db.session.expire_all()
        statuses = {e.external_id: e.status for e in db.session.scalars(sa.select(IntegrationSyncError))}
        assert statuses[bad[0]] == ErrorStatus.RESOLVED.value
        assert leads(conn.id)[bad[0]].email == "fixed.person@example.com"
        assert all(statuses[b] == ErrorStatus.DEAD_LETTER.value for b in bad[1:])


def test_deals_map_stage_labels_currency_and_events(app, big_sandbox):
    sb = big_sandbox
    conn = factories.hubspot_connection(sb.url, sb.token)
    job = ensure_job(conn, "deals")
    db.session.commit()
    run = sync(job)
    assert run.created == 300 and run.failed == 0
    deals = leads(conn.id, "deals")
    sample = next(iter(deals.values()))
    assert sample.deal_stage and sample.pipeline in ("Sales Pipeline", "Renewals")
    usd = next(d for d in deals.values() if d.currency == "USD" and d.amount)
    assert usd.amount_base == (usd.amount * __import__("decimal").Decimal("1.37")).quantize(usd.amount)
    rid = next(iter(deals))
    requests.patch(f"{sb.url}/crm/v3/objects/deals/{rid}", headers={"Authorization": f"Bearer {sb.token}"},
                   json={"properties": {"pipeline": "default",
                                        "dealstage": "closedlost" if deals[rid].deal_stage != "Closed Lost" else "closedwon"}})
    inc = sync(job)
    assert inc.updated == 1
    kinds = set(db.session.scalars(sa.select(CrmLeadEvent.kind).where(CrmLeadEvent.run_id == inc.id)))
    assert "stage_changed" in kinds


def test_a_page_that_fails_to_write_is_not_counted(app, big_sandbox, monkeypatch):
    from console.sync.inbound import pipeline

    conn = factories.hubspot_connection(big_sandbox.url, big_sandbox.token)
    job = ensure_job(conn, "contacts")
    db.session.commit()
    calls = {"n": 0, "read": 0, "created": 0}
    real = pipeline.PageWriter._insert_leads

    def fail_third_page(self, conn_, created):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("database went away")
        calls["read"], calls["created"] = self.tally.seen, calls["created"] + len(created)
        return real(self, conn_, created)

    monkeypatch.setattr(pipeline.PageWriter, "_insert_leads", fail_third_page)
    run = sync(job)
    assert run.status == RunStatus.FAILED.value and "RuntimeError" in run.error_message
    stored = leads(conn.id)
    # exactly the two committed writes (pages already fetched merge into one write), nothing of the failed one
    assert calls["n"] == 3 and 200 <= calls["read"] < 2500
    assert run.seen == calls["read"] and run.created == calls["created"] == len(stored)
    assert job.cursor is not None and job.cursor["mode"] == "backfill"


def test_two_connections_to_one_portal_each_keep_their_normalized_events(app, sandbox):
    """Both read the same records at the same versions (the same event keys): each connection's changes
    are its own. (The check for an event already written looked across connections, so the second
    connection's changes were silently not recorded.)"""
    from sqlalchemy.orm import Session

    from console.models import IntegrationNormalizedEvent

    counts = []
    for _ in range(2):
        conn = factories.hubspot_connection(sandbox.url, sandbox.token)
        job = ensure_job(conn, "deals")
        job.depends_on = None
        db.session.commit()
        run = sync(job)
        with Session(db.engines["traffic"]) as traffic:
            counts.append((run.created + run.updated, traffic.scalar(sa.select(sa.func.count()).select_from(
                IntegrationNormalizedEvent).where(IntegrationNormalizedEvent.connection_id == conn.id))))
    assert counts[0] == counts[1] and counts[0][0] == counts[0][1] > 0


def test_a_run_stalled_past_its_lease_and_taken_over_writes_nothing_more(app):
    """Process A holds the job, commits a page, then stalls (SIGSTOP, a long pause) past its lease; B claims
    the job and syncs to the end. When A wakes, its next page finds the job held by B: A stops without
    writing it, and the job's position, last run and leads stay B's."""
    import threading
    from datetime import timedelta

    from console.models import IntegrationSyncRun
    from console.models.base import utcnow
    from console.sync.runs.lease import JOB_LEASE

    with SandboxServer(SandboxConfig(contacts=1500, deals=0, seed=5, limits=False)) as sb:
        conn = factories.hubspot_connection(sb.url, sb.token)
        job = ensure_job(conn, "contacts")
        job.depends_on = None
        db.session.commit()
        job_id, conn_id = job.id, conn.id
        assert JOB_LEASE.claim([job_id], "process-a") == [job_id]
        stalled, wake = threading.Event(), threading.Event()
        seen: dict = {}

        def process_a() -> None:
            with app.app_context():
                def progress(run) -> None:
                    if not stalled.is_set():  # after its first committed page, A sleeps
                        seen.update(run_id=run.id, at_stall=run.seen)
                        db.session.commit()
                        stalled.set()
                        wake.wait(60)
                execute(start_run(db.session.get(IntegrationSyncJob, job_id), "backfill"), progress=progress,
                        client_options=FAST, lease_owner="process-a")
                db.session.remove()

        a = threading.Thread(target=process_a)
        a.start()
        assert stalled.wait(60)
        db.session.execute(sa.update(IntegrationSyncJob).where(IntegrationSyncJob.id == job_id)  # A's lease ran out
                           .values(lease_expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
        assert JOB_LEASE.claim([job_id], "process-b") == [job_id]
        taken = start_run(db.session.get(IntegrationSyncJob, job_id), "manual")
        execute(taken, client_options=FAST, lease_owner="process-b")
        db.session.expire_all()
        after_b = db.session.get(IntegrationSyncJob, job_id).cursor
        held = {k: v.content_hash for k, v in leads(conn_id).items()}
        assert db.session.get(IntegrationSyncRun, taken.id).status in ("succeeded", "partial")
        assert after_b["mode"] == "incremental" and len(held) > 1400

        wake.set()
        a.join(60)
        assert not a.is_alive()
        db.session.rollback()  # a new transaction (MariaDB's REPEATABLE READ) sees what A committed
        run_a = db.session.get(IntegrationSyncRun, seen["run_id"])
        assert run_a.status == "failed" and "took this job over" in run_a.error_message
        assert 0 < run_a.seen == seen["at_stall"] < 1500 and run_a.buckets_balance  # the page after the stall: not counted
        job = db.session.get(IntegrationSyncJob, job_id)
        assert job.cursor == after_b and job.lease_owner == "process-b" and job.last_run_id == taken.id
        assert {k: v.content_hash for k, v in leads(conn_id).items()} == held
