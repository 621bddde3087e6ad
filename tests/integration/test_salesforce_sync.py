"""A Salesforce org synced through the same engine as HubSpot (issue 38): keyset pages over (SystemModstamp,
Id) past ties wider than a page, records edited, created and deleted while the run pages, the recycle bin
read as archives, the daily limit learned from Sforce-Limit-Info, a 401 answered by a refreshed token; then
a reconciliation at 0, and an independent comparison with the org's own memory that fails on one planted
difference."""
from __future__ import annotations

import json
import threading
from datetime import UTC, datetime

import requests
import sqlalchemy as sa

from console.extensions import db
from console.models import CrmLead, IntegrationProviderAccount, IntegrationSyncRun
from console.sandbox.salesforce import OrgConfig, SalesforceSandbox
from console.sync.inbound.runner import ensure_job, execute, start_run
from console.sync.proof import reconcile

from .. import factories

FAST = {"backoff_base": 0.01, "timeout": 10.0}


def sync(job, **kw) -> IntegrationSyncRun:
    run = start_run(job, kw.pop("kind", "manual"))
    execute(run, client_options=FAST, **kw)
    db.session.refresh(run)
    assert run.buckets_balance and run.status in ("succeeded", "partial"), (run.status, run.error_message)
    return run


def stamp_of(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("+0000", "+00:00")).astimezone(UTC).replace(tzinfo=None)


def differences(conn, org) -> list[str]:
    """The org's own records against the stored leads, value by value (not through the connector)."""
    db.session.commit()
    stored = {lead.external_id: lead for lead in db.session.scalars(sa.select(CrmLead).where(
        CrmLead.connection_id == conn.id, CrmLead.object_type == "contacts"))}
    wrong = []
    with org.lock:
        active = dict(org.records["Contact"])
        for rid, rec in active.items():
            lead = stored.get(rid)
            want = (rec["Email"].lower(), rec.get("FirstName"), rec.get("LastName"), rec.get("OwnerId"),
                    stamp_of(rec["SystemModstamp"]), False)
            have = None if lead is None else (lead.email, lead.first_name, lead.last_name, lead.owner_external_id,
                                              lead.provider_updated_at, lead.archived)
            if have != want:
                wrong.append(f"{rid}: stored {have} != org {want}")
        wrong += [f"{rid}: active here, gone there" for rid, lead in stored.items()
                  if not lead.archived and rid not in active]
    return wrong


def churn(url: str, stop: threading.Event) -> threading.Thread:
    def loop() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            requests.post(f"{url}/_sandbox/changes", timeout=30, json={
                "object": "Contact", "update": 40, "create": 3, "delete": 2 if n % 3 == 0 else 0,
                "same_timestamp": n % 4 == 0, "seed": 500 + n})
            stop.wait(0.02)
    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    return thread


def test_a_salesforce_org_syncs_exactly_through_churn_deletions_and_a_refreshed_session(app):
    with SalesforceSandbox(OrgConfig(contacts=6_000, seed=5, daily_limit=50_000)) as sf:
        org = sf.org
        conn = factories.salesforce_connection(sf)
        job = ensure_job(conn, "contacts")
        job.depends_on = None
        db.session.commit()
        stop = threading.Event()
        worker = churn(sf.url, stop)  # other users edit, create and delete while the backfill pages
        first = sync(job, kind="backfill")
        stop.set()
        worker.join()
        assert first.seen >= 6_000 and first.failed == 0
        assert org.requests["GET /services/data/vXX.X/query/"] >= 4  # 2,000 a page: more than one page

        # Between runs: a bulk update wider than a page at one instant, deletions, and a revoked session.
        requests.post(f"{sf.url}/_sandbox/changes", timeout=60,
                      json={"object": "Contact", "update": 2_500, "same_timestamp": True, "delete": 30, "seed": 9})
        with org.lock:
            org.tokens.clear()  # every session ends: the next call gets a 401 and mints a new one
        stop = threading.Event()
        worker = churn(sf.url, stop)
        second = sync(job)
        stop.set()
        worker.join()
        assert second.updated >= 2_500
        archived = db.session.scalar(sa.select(sa.func.count()).select_from(CrmLead).where(
            CrmLead.connection_id == conn.id, CrmLead.archived.is_(True)))
        assert archived >= 30  # from the recycle bin
        last = sync(job)  # whatever landed during the second run
        assert last.buckets_balance
        used = org.api_used  # as the last answer of the last run reported it

        assert differences(conn, org) == []
        row = reconcile.execute(reconcile.queue(conn, "contacts", "cli").id, "test", client_options=FAST)
        assert row.status == "succeeded" and row.differences == 0, (row.examples, row.missing, row.stale)
        assert row.provider_active == len(org.records["Contact"])

        account = db.session.get(IntegrationProviderAccount, conn.account_id)
        assert account.rate_limit_daily == 50_000 and account.rate_limit_daily_remaining == 50_000 - used
        stored = json.loads(account.get_secret("credentials"))
        assert stored["access_token"] in org.tokens  # the minted session was stored, encrypted

        # The comparison can fail: one stored value planted wrong is found by both.
        lead = db.session.scalars(sa.select(CrmLead).where(CrmLead.connection_id == conn.id, CrmLead.archived.is_(False))).first()
        lead.first_name = "Planted"
        db.session.commit()
        assert [d for d in differences(conn, org) if d.startswith(lead.external_id)]
        again = reconcile.execute(reconcile.queue(conn, "contacts", "cli").id, "test", client_options=FAST)
        assert again.differences == 1


def test_a_jwt_bearer_connection_syncs_and_a_spent_day_stops_the_run(app):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    with SalesforceSandbox(OrgConfig(contacts=2_500, seed=6, jwt_public_key=public, daily_limit=8)) as sf:
        conn = factories.salesforce_connection(sf)
        account = db.session.get(IntegrationProviderAccount, conn.account_id)
        account.set_secret("credentials", json.dumps({"jwt_username": sf.org.config.username, "jwt_private_key": pem}))
        job = ensure_job(conn, "contacts")
        job.depends_on = None
        db.session.commit()
        first = sync(job, kind="backfill")
        assert first.seen == 2_500 and first.failed == 0
        assert json.loads(account.get_secret("credentials"))["jwt_private_key"] == pem  # nothing stored over it

        requests.post(f"{sf.url}/_sandbox/changes", timeout=30, json={"object": "Contact", "update": 5, "seed": 1})
        run = start_run(job, "manual")
        execute(run, client_options=FAST)  # 8 calls a day: this run finds the day spent
        db.session.refresh(run)
        assert run.status == "failed" and "daily API limit" in (run.error_message or "")
        assert run.buckets_balance


def test_a_salesforce_sync_killed_mid_run_resumes_to_the_same_rows(app, tmp_path):
    """SIGKILL between committed pages of 2,000: the next run goes on from the last committed page's
    (SystemModstamp, Id) and ends with the rows a clean run of the same org stores, nothing doubled."""
    import os
    import signal
    import subprocess
    import time

    from console.models import CrmLeadEvent, IntegrationSyncJob

    from .test_processes import ROOT, child_env, flask_cmd

    with SalesforceSandbox(OrgConfig(contacts=9_000, seed=13, slow_query_ms=400)) as sf:
        killed, clean = factories.salesforce_connection(sf), factories.salesforce_connection(sf)
        jobs = [ensure_job(c, "contacts") for c in (killed, clean)]
        for job in jobs:
            job.depends_on = None
        db.session.commit()

        def stored(conn_id: int) -> int:
            db.session.commit()  # see the other process's commits
            return db.session.scalar(sa.select(sa.func.count()).select_from(CrmLead).where(CrmLead.connection_id == conn_id))

        with open(tmp_path / "sync.log", "w") as log:
            proc = subprocess.Popen(flask_cmd("sync", "run", str(killed.id), "--object", "contacts"), cwd=ROOT,
                                    env=child_env(app), stdout=log, stderr=subprocess.STDOUT)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and stored(killed.id) < 2_000:
                time.sleep(0.05)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        assert 0 < stored(killed.id) < 9_000, (tmp_path / "sync.log").read_text()[-2000:]
        sf.org.config.slow_query_ms = 0
        resumed = sync(db.session.get(IntegrationSyncJob, jobs[0].id))
        assert resumed.seen < 9_000  # from the committed position, not from the start
        sync(jobs[1], kind="backfill")

        def rows(conn_id: int) -> dict:
            return {lead.external_id: (lead.email, lead.first_name, lead.last_name, lead.provider_updated_at)
                    for lead in db.session.scalars(sa.select(CrmLead).where(CrmLead.connection_id == conn_id))}
        assert rows(killed.id) == rows(clean.id) and len(rows(killed.id)) == 9_000
        created = db.session.scalar(sa.select(sa.func.count()).select_from(CrmLeadEvent).where(
            CrmLeadEvent.connection_id == killed.id, CrmLeadEvent.kind == "created"))
        assert created == 9_000  # nothing doubled
        assert differences(killed, sf.org) == []


def test_a_page_answered_in_smaller_batches_than_its_limit_is_read_whole(app):
    """Salesforce may answer `LIMIT 2000` in batches of fewer records (nextRecordsUrl names the rest): a
    page is every batch, so a short first batch never reads as the end of the org."""
    with SalesforceSandbox(OrgConfig(contacts=3_000, seed=14, max_batch=450)) as sf:
        conn = factories.salesforce_connection(sf)
        job = ensure_job(conn, "contacts")
        job.depends_on = None
        db.session.commit()
        run = sync(job, kind="backfill")
        assert run.seen == 3_000 and sf.org.requests["GET /services/data/vXX.X/query/{locator}"] >= 4
        assert differences(conn, sf.org) == []
