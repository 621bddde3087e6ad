"""Fidelity for a custom object as for contacts: bookings edited, created and archived while runs page (shared
instants included, more than one page), and a sync killed with SIGKILL mid-run and resumed; each ends with
0 differences by the reconciliation and by an independent comparison with the sandbox portal's records."""
from __future__ import annotations

import os
import signal
import subprocess
import threading
import time

import requests
import sqlalchemy as sa

from console.connectors.budget import _registry
from console.extensions import db
from console.mapping import objects
from console.models import CrmLead, CrmLeadEvent, IntegrationSyncJob
from console.sandbox import SandboxConfig, SandboxServer
from console.sandbox.faults import FaultRule
from console.sync import catalogue
from console.sync.inbound.runner import ensure_job, execute, start_run
from console.sync.proof import reconcile

from .. import factories
from ..reporting import FAST
from .test_more_objects import BOOKINGS, expected_bookings, expected_links, stored_attributes, stored_links
from .test_processes import ROOT, child_env, flask_cmd


def bookings_job(sb, portal_id: str = "62515") -> tuple:
    conn = factories.hubspot_connection(sb.url, sb.token, portal_id=portal_id)
    db.session.commit()
    objects.remember(conn.id, next(s for s in catalogue.object_schemas(conn) if s["object_type"] == BOOKINGS))
    job = ensure_job(conn, BOOKINGS)
    ensure_job(conn, "contacts")  # synced too (not run here): the bookings' guests are read with each page
    db.session.commit()
    return conn, job


def run(job, kind: str = "manual"):
    row = start_run(job, kind)
    execute(row, client_options=FAST)
    db.session.refresh(row)
    assert row.buckets_balance and row.status == "succeeded", (row.status, row.error_message)
    return row


def churn(url: str, stop: threading.Event) -> threading.Thread:
    def loop() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            requests.post(f"{url}/_sandbox/changes", timeout=30, json={
                "object_type": "bookings", "update": 20, "create": 3, "archive": 2 if n % 3 == 0 else 0,
                "same_timestamp": n % 4 == 0, "seed": 500 + n})
            stop.wait(0.05)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    return thread


def settled(conn, portal) -> None:
    """0 differences both ways: the console's reconciliation, and every active booking's every field."""
    row = reconcile.execute(reconcile.queue(conn, BOOKINGS, "test", own=True).id, "test", client_options=FAST)
    assert row.differences == 0 and row.in_flight == 0, row.ids
    assert row.provider_active == len(portal.all_active("bookings"))
    assert stored_attributes(conn.id, BOOKINGS) == expected_bookings(portal)


def test_bookings_changed_while_runs_page_reconcile_to_zero(app):
    with SandboxServer(SandboxConfig(contacts=50, companies=3, deals=3, seed=23, limits=False, bookings=4_000)) as sb:
        conn, job = bookings_job(sb)
        stop = threading.Event()
        worker = churn(sb.url, stop)
        run(job, "backfill")
        stop.set()
        worker.join()
        requests.post(f"{sb.url}/_sandbox/changes", timeout=60, json={
            "object_type": "bookings", "update": 600, "same_timestamp": True, "seed": 7})
        requests.put(f"{sb.url}/_sandbox/search", json={"lag_ms": 800}, timeout=5)
        stop = threading.Event()
        worker = churn(sb.url, stop)
        first = run(job)
        stop.set()
        worker.join()
        assert first.seen >= 600  # the shared instant, wider than a search page (200), read in full
        requests.post(f"{sb.url}/_sandbox/search/flush", timeout=5)
        run(job)  # the lookback takes what search had not shown yet
        settled(conn, sb.state.portal)


def test_a_killed_bookings_sync_resumes_to_the_same_rows(app, tmp_path):
    _registry.clear()
    slow = (FaultRule("slow", rate=1.0, delay=0.15, endpoint=f"/crm/v3/objects/{BOOKINGS}"),)
    with SandboxServer(SandboxConfig(contacts=50, companies=3, deals=3, seed=29, limits=False, bookings=3_000,
                                     faults=slow)) as sb:
        killed, killed_job = bookings_job(sb, "1")
        clean, clean_job = bookings_job(sb, "2")
        with open(tmp_path / "sync.log", "w") as log:
            proc = subprocess.Popen(flask_cmd("sync", "run", str(killed.id), "--object", BOOKINGS), cwd=ROOT,
                                    env=child_env(app), stdout=log, stderr=subprocess.STDOUT)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and stored(killed.id) < 700:  # some pages committed, then kill
                time.sleep(0.05)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        assert 0 < stored(killed.id) < 2_900, (tmp_path / "sync.log").read_text()[-2000:]
        sb.state.faults.set_rules([])
        run(db.session.get(IntegrationSyncJob, killed_job.id))
        run(clean_job)
        assert stored_attributes(killed.id, BOOKINGS) == stored_attributes(clean.id, BOOKINGS) \
            == expected_bookings(sb.state.portal)
        created = db.session.scalar(sa.select(sa.func.count()).select_from(CrmLeadEvent).where(
            CrmLeadEvent.connection_id == killed.id, CrmLeadEvent.kind == "created"))
        assert created == 3_000  # nothing doubled
        labels = {7: "Primary booker", 8: "Guest"}
        assert stored_links(killed.id, BOOKINGS) == stored_links(clean.id, BOOKINGS) \
            == expected_links(sb.state.portal, "bookings", labels, 1001)
        settled(killed, sb.state.portal)


def stored(connection_id: int) -> int:
    db.session.commit()  # see the other process's commits
    return db.session.scalar(sa.select(sa.func.count()).select_from(CrmLead).where(
        CrmLead.connection_id == connection_id)) or 0
