"""The ops dashboard: a row per running connection with its figures from real syncs, the rows partial the
page polls, the week chart, and "run now" / "pause" with their refusals, role checks and audit rows."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from console.extensions import db
from console.models import EventAdminAction, IntegrationSyncJob
from console.models.base import utcnow

from .. import factories
from ..reporting import synced_connection


@pytest.fixture
def live(app, sandbox):
    owner = factories.user("owner")
    conn, runs = synced_connection(sandbox, factories.client("Harbour Physio"), owner=owner)
    conn.status = "live"
    for job in _jobs(conn):
        job.enabled, job.next_run_at = True, utcnow().replace(year=2100)
    db.session.commit()
    return conn, runs, owner


def _jobs(conn) -> list[IntegrationSyncJob]:
    return list(db.session.scalars(sa.select(IntegrationSyncJob).where(IntegrationSyncJob.connection_id == conn.id)))


def _actions() -> list[str]:
    return list(db.session.scalars(sa.select(EventAdminAction.action)))


def test_rows_show_the_last_run_and_the_day_from_real_syncs(login, live):
    conn, runs, _ = live
    ops = login("ops")
    html = ops.get("/ops/").get_data(as_text=True)
    row = re.search(rf'<tr id="dashboard-row-{conn.id}">(.*?)</tr>', html, re.S).group(1)
    # each object's own last run (issue 32: one "deals Succeeded" hid the contacts runs that were partial)
    for object_type, run in runs.items():
        line = re.search(rf'id="object-run-{conn.id}-{object_type}">(.*?)</div>', row, re.S).group(1)
        assert f"#{run.id}" in line and f"{run.seen:,} seen" in line and run.status.title() in line, (object_type, line)
    seen = sum(r.seen for r in runs.values())
    assert f"{seen:,}" in row and "2 runs" in row
    failed = sum(r.failed for r in runs.values())
    assert f"{100 * failed / seen:.1f}%" in row  # the error rate over the day
    assert "contacts:" in row and "deals:" in row and "% complete" in row  # data-quality checks after each run
    assert "no changes measured" in row  # a backfill measures no freshness
    assert 'hx-trigger="every 5s"' in html and "Runs per day" in html and "Records per day" in html


def test_the_polled_partial_is_only_the_rows(login, live):
    conn, _, _ = live
    resp = login("owner").hx_get("/ops/")
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200 and body.lstrip().startswith('<div id="dashboard-rows"')
    assert "<html" not in body and f'id="dashboard-row-{conn.id}"' in body
    assert "HX-Request" in resp.headers.get("Vary", "")


def test_week_chart_counts_runs_and_records(login, live):
    _, runs, _ = live
    svg = login("ops").get("/ops/dashboard/chart").get_data(as_text=True)
    assert svg.count("<svg") == 2
    day = utcnow().strftime("%a %d")
    assert f"{day}: 2 succeeded" in svg or f"{day}: 1 succeeded" in svg
    written = sum(r.created + r.updated for r in runs.values())
    assert f"{day}: {written:,} written" in svg


def test_run_now_makes_the_jobs_due_and_is_audited(login, live):
    conn, _, owner = live
    ops = login("ops")
    resp = ops.hx_post(f"/ops/connections/{conn.id}/run-now")
    assert resp.status_code == 200 and "2 jobs due now" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert all(job.next_run_at <= utcnow() for job in _jobs(conn))
    assert "connection.run_now" in _actions()
    assert "due now" in ops.hx_get("/ops/").get_data(as_text=True)


def test_run_now_refuses_a_running_or_paused_connection(login, live):
    conn, _, _ = live
    ops = login("ops")
    for job in _jobs(conn):
        job.lease_owner, job.lease_expires_at = "elsewhere", utcnow().replace(year=2100)
    db.session.commit()
    resp = ops.hx_post(f"/ops/connections/{conn.id}/run-now")
    assert resp.status_code == 422 and "already running" in resp.get_data(as_text=True)
    conn.status = "paused"
    db.session.commit()
    resp = ops.hx_post(f"/ops/connections/{conn.id}/run-now")
    assert resp.status_code == 422 and "Resume it first" in resp.get_data(as_text=True)
    conn.status = "testing"  # before go-live nothing runs on schedule: not even "run now"
    db.session.commit()
    resp = ops.hx_post(f"/ops/connections/{conn.id}/run-now")
    assert resp.status_code == 422 and "not live yet" in resp.get_data(as_text=True)
    assert 'class="small-button run-now"' not in ops.get("/ops/").get_data(as_text=True)
    db.session.expire_all()
    assert all(job.next_run_at.year == 2100 for job in _jobs(conn))  # nothing changed
    assert "connection.run_now" not in _actions()


def test_pause_from_the_dashboard(login, live):
    conn, _, _ = live
    ops = login("ops")
    resp = ops.post(f"/ops/connections/{conn.id}/pause")  # a plain form post: flash and 303
    assert resp.status_code == 303
    db.session.expire_all()
    assert conn.status == "paused" and "connection.paused" in _actions()
    resp = ops.hx_post(f"/ops/connections/{conn.id}/pause")
    assert resp.status_code == 422 and "Only a live or testing connection can be paused" in resp.get_data(as_text=True)


def test_roles_owner_acts_only_on_their_own_and_clients_get_404(login, live, client):
    conn, _, owner = live
    other_owner = login("owner")
    assert other_owner.get("/ops/").status_code == 200  # owners may look
    assert 'class="small-button run-now"' not in other_owner.get("/ops/").get_data(as_text=True)
    assert other_owner.hx_post(f"/ops/connections/{conn.id}/run-now").status_code == 403
    from tests.conftest import Browser, sign_in

    http = client
    assert sign_in(http, owner.email, factories.PASSWORD).status_code == 303
    assert Browser(http, owner).hx_post(f"/ops/connections/{conn.id}/run-now").status_code == 200
    customer = login("client", conn.client)
    for path in ("/ops/", "/ops/dashboard/chart"):
        assert customer.get(path).status_code == 404
    assert customer.hx_post(f"/ops/connections/{conn.id}/pause").status_code == 404
    assert login("ops").client.post(f"/ops/connections/{conn.id}/run-now").status_code == 400  # no CSRF token
    db.session.expire_all()
    assert conn.status == "live"


def test_reconcile_page_queues_runs_in_the_pool_and_guards_roles(login, live, app):
    from console.models import IntegrationReconciliation
    from console.sync.proof import reconcile

    conn, _, owner = live
    ops = login("ops")
    page = ops.get(f"/ops/connections/{conn.id}/reconcile")
    assert page.status_code == 200 and "Reconcile and repair" in page.get_data(as_text=True)
    assert f"/ops/connections/{conn.id}/reconcile" in ops.get("/ops/").get_data(as_text=True)
    assert ops.hx_post(f"/ops/connections/{conn.id}/reconcile", {"object_type": "tickets"}).status_code == 422
    resp = ops.hx_post(f"/ops/connections/{conn.id}/reconcile", {"object_type": "contacts", "repair": "1"})
    assert resp.status_code == 200 and "queued" in resp.get_data(as_text=True)
    assert 'hx-trigger="every 3s"' in resp.get_data(as_text=True)  # polls while it works
    other_owner = login("owner")
    assert other_owner.post(f"/ops/connections/{conn.id}/reconcile", {"object_type": "contacts"}).status_code in (403, 404)
    client_user = login("client", conn.client)
    assert client_user.get(f"/ops/connections/{conn.id}/reconcile").status_code == 404
    # The dispatcher's pool claims and runs it (one claim per row).
    (rid,) = reconcile.claim_queued("test-worker", 5)
    assert reconcile.claim_queued("other-worker", 5) == []
    row = reconcile.execute(rid, "test-worker", client_options={"timeout": 5.0})
    assert row.status == "succeeded" and row.differences == 0 and row.provider_active > 0, row.error_message
    assert row.repair and row.repaired is None  # nothing differed, so nothing was rewritten
    html = ops.get(f"/ops/connections/{conn.id}/reconcile").get_data(as_text=True)
    assert f'id="reconcile-{row.id}"' in html and "every 3s" not in html
    assert db.session.get(IntegrationReconciliation, rid).trigger == "manual"
