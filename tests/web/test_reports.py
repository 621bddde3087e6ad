"""Baselines, snapshots, report notes and "view as client" through the staff report routes."""
from __future__ import annotations

import pytest
import requests
import sqlalchemy as sa

from console.choices import RunKind
from console.extensions import db
from console.metrics import baselines
from console.models import AutomationRun, EventAdminAction, MetricBaseline, MetricSnapshot, ReportNote
from console.sandbox import SandboxConfig, SandboxServer
from console.sync.inbound.runner import ensure_job

from .. import factories
from ..reporting import complete_run, sync, synced_connection


@pytest.fixture(scope="module")
def own_sandbox():
    """This module edits provider data, so it has a sandbox of its own."""
    with SandboxServer(SandboxConfig(contacts=120, deals=40, seed=3, limits=False)) as server:
        yield server


@pytest.fixture
def world(app, login, own_sandbox):
    owner = login("owner")
    conn, runs = synced_connection(own_sandbox, factories.client("Gamma Clinic"), owner=owner.user)
    db.session.commit()
    return {"owner": owner, "conn": conn, "runs": runs}


def _capture(browser, conn, run, path="baselines", **extra):
    return browser.hx_post(f"/connections/{conn.id}/report/{path}", {"run_id": run.id, **extra})


def _active_values(conn) -> dict:
    return {k: b.value for k, b in baselines.active(conn.id).items()}


def test_every_finished_sync_records_snapshots_but_a_test_batch_does_not(world):
    conn, runs = world["conn"], world["runs"]
    for run in runs.values():
        automation = db.session.scalar(sa.select(AutomationRun).where(AutomationRun.trigger_run_id == run.id))
        assert automation is not None and automation.status == "succeeded"
    before = db.session.scalar(sa.select(sa.func.count()).select_from(MetricSnapshot))
    test_batch = sync(ensure_job(conn, "contacts"), kind=RunKind.TEST_BATCH.value, dry_run=True, limit=25, full=True)
    assert test_batch.seen == 25
    assert db.session.scalar(sa.select(sa.func.count()).select_from(MetricSnapshot)) == before


def test_partial_run_test_batch_and_limited_run_are_refused_with_the_reason(world):
    owner, conn, runs = world["owner"], world["conn"], world["runs"]
    partial = runs["contacts"]
    assert partial.status == "partial" and partial.failed > 0  # the sandbox seeds invalid emails
    resp = _capture(owner, conn, partial)
    assert resp.status_code == 422 and "The run is partial" in resp.get_data(as_text=True)
    job = ensure_job(conn, "deals")
    test_batch = sync(job, kind=RunKind.TEST_BATCH.value, dry_run=True, limit=10, full=True)
    resp = _capture(owner, conn, test_batch)
    assert resp.status_code == 422 and "test batch" in resp.get_data(as_text=True)
    limited = sync(job, limit=5)
    resp = _capture(owner, conn, limited)
    assert resp.status_code == 422 and "limited to 5 records" in resp.get_data(as_text=True)
    assert baselines.active(conn.id) == {}


def test_baseline_from_a_complete_run_is_never_overwritten_by_later_syncs(world, own_sandbox):
    owner, conn, runs = world["owner"], world["conn"], world["runs"]
    resp = _capture(owner, conn, runs["deals"])
    assert resp.status_code == 200, resp.get_data(as_text=True)
    contacts = complete_run(conn, "contacts")
    assert _capture(owner, conn, contacts).status_code == 200
    kept = _active_values(conn)
    assert set(kept) == {"open_pipeline", "lead_owner", "follow_up", "source_attribution"}
    requests.post(f"{own_sandbox.url}/_sandbox/changes", json={"update": 60, "archive": 10, "seed": 9}, timeout=30)
    requests.post(f"{own_sandbox.url}/_sandbox/changes", json={"object_type": "deals", "update": 20, "archive": 5,
                                                                "seed": 9}, timeout=30)
    for object_type in ("contacts", "deals"):
        sync(ensure_job(conn, object_type))
    assert _active_values(conn) == kept
    latest = {s.metric_key: s.value for s in db.session.scalars(sa.select(MetricSnapshot).order_by(MetricSnapshot.id))}
    assert latest != kept  # the data moved; the baseline did not
    resp = _capture(owner, conn, complete_run(conn, "deals"))
    assert resp.status_code == 422 and "A baseline already exists" in resp.get_data(as_text=True)


def test_rebaseline_is_admin_only_needs_a_reason_and_keeps_history(world, login):
    owner, conn, runs = world["owner"], world["conn"], world["runs"]
    assert _capture(owner, conn, runs["deals"]).status_code == 200
    later = complete_run(conn, "deals")
    assert _capture(owner, conn, later, "baselines/replace", reason="pipeline redesign").status_code == 403
    admin = login("admin")
    resp = _capture(admin, conn, later, "baselines/replace", reason="  ")
    assert resp.status_code == 422 and "Say why" in resp.get_data(as_text=True)
    resp = _capture(admin, conn, later, "baselines/replace", reason="The client merged two pipelines")
    assert resp.status_code == 200
    rows = db.session.scalars(sa.select(MetricBaseline).where(MetricBaseline.metric_key == "open_pipeline")
                              .order_by(MetricBaseline.id)).all()
    assert len(rows) == 2 and rows[0].superseded_at is not None and rows[1].superseded_at is None
    assert rows[1].captured_from_run_id == later.id and rows[1].reason == "The client merged two pipelines"
    audit = db.session.scalars(sa.select(EventAdminAction).where(EventAdminAction.action == "metrics.rebaselined")).all()
    assert len(audit) == 1 and audit[0].details["reason"] == "The client merged two pipelines"
    assert audit[0].actor_user_id == admin.user.id


def test_report_access(world, login):
    conn = world["conn"]
    assert world["owner"].get(f"/connections/{conn.id}/report/").status_code == 200
    assert login("owner").get(f"/connections/{conn.id}/report/").status_code == 403  # not their connection
    assert login("ops").get(f"/connections/{conn.id}/report/").status_code == 403
    assert login("client", conn.client).get(f"/connections/{conn.id}/report/").status_code == 404
    assert login("admin").get(f"/connections/{conn.id}/report/").status_code == 200


def test_notes_lifecycle_with_field_errors(world, login):
    owner, conn = world["owner"], world["conn"]
    resp = owner.hx_post(f"/connections/{conn.id}/report/notes", {"title": "", "body": "kept text"})
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "kept text" in html and "This field is required" in html
    assert owner.hx_post(f"/connections/{conn.id}/report/notes",
                         {"title": "November", "body": "Owners assigned."}).status_code == 200
    note = db.session.scalar(sa.select(ReportNote))
    client = login("client", conn.client)
    assert "November" not in client.get(f"/portal/connections/{conn.id}").get_data(as_text=True)
    assert owner.hx_post(f"/connections/{conn.id}/report/notes/{note.id}/publish").status_code == 200
    assert "November" in client.get(f"/portal/connections/{conn.id}").get_data(as_text=True)
    resp = owner.hx_post(f"/connections/{conn.id}/report/notes/{note.id}",
                         {f"note-{note.id}-title": "Edited", f"note-{note.id}-body": "x"})
    assert resp.status_code == 422 and "Only a draft can be edited" in resp.get_data(as_text=True)
    assert owner.hx_post(f"/connections/{conn.id}/report/notes/{note.id}/withdraw").status_code == 200
    assert "November" not in client.get(f"/portal/connections/{conn.id}").get_data(as_text=True)
    assert owner.hx_post(f"/connections/{conn.id}/report/notes/{note.id}/publish").status_code == 200
    assert owner.hx_post(f"/connections/{conn.id}/report/notes/{note.id}/explode").status_code == 404
    actions = set(db.session.scalars(sa.select(EventAdminAction.action).where(
        EventAdminAction.action.like("report_note.%"))))
    assert actions == {"report_note.created", "report_note.published", "report_note.withdrawn"}


def test_view_as_client_is_the_clients_page_read_only(world, login):
    owner, conn = world["owner"], world["conn"]
    client_page = login("client", conn.client).get(f"/portal/connections/{conn.id}").get_data(as_text=True)
    preview = owner.get(f"/clients/{conn.client_id}/as-client/connections/{conn.id}")
    assert preview.status_code == 200
    html = preview.get_data(as_text=True)
    assert "Viewing as Gamma Clinic" in html
    for card in ("metric-open_pipeline", "metric-lead_owner", "metric-follow_up", "metric-source_attribution"):
        assert card in html and card in client_page
    assert owner.get(f"/clients/{conn.client_id}/as-client/connections/{conn.id}/export.csv").status_code == 200
    assert owner.get(f"/clients/{conn.client_id}/as-client/connections/{conn.id}/charts/follow_up.svg"
                     ).mimetype == "image/svg+xml"
    other = factories.client("Delta Co")
    db.session.commit()
    assert owner.get(f"/clients/{other.id}/as-client/").status_code == 404  # an owner previews only their clients
    assert login("admin").get(f"/clients/{other.id}/as-client/").status_code == 200
    assert login("ops").get(f"/clients/{conn.client_id}/as-client/").status_code == 403


def test_recompute_on_demand(world):
    owner, conn = world["owner"], world["conn"]
    resp = owner.hx_post(f"/connections/{conn.id}/report/snapshots")
    assert resp.status_code == 200 and "recomputed" in resp.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AutomationRun).where(
        AutomationRun.kind == "metrics_on_demand", AutomationRun.status == "succeeded")) == 1


def test_a_trend_series_is_thinned_evenly_and_keeps_the_newest(app):
    """A month of readings after every run is thousands of rows; the chart and its words get 60 of them."""
    from datetime import timedelta
    from decimal import Decimal

    from console.metrics.snapshots import series
    from console.models.base import utcnow

    conn = factories.connection(factories.client("Thin Co"))
    db.session.flush()
    automation = AutomationRun(connection_id=conn.id, kind="snapshot", status="succeeded")
    db.session.add(automation)
    db.session.flush()
    start = utcnow() - timedelta(days=20)
    db.session.add_all([MetricSnapshot(connection_id=conn.id, automation_run_id=automation.id, metric_key="lead_owner",
                                       value=Decimal(i), unit="%", period="now", captured_at=start + timedelta(minutes=i))
                        for i in range(150)])
    db.session.commit()
    picked = series(conn.id, "lead_owner", start - timedelta(days=1))
    values = [int(s.value) for s in picked]
    assert len(values) == 60 and values[0] == 0 and values[-1] == 149 and values == sorted(values)
    assert values[:4] == [0, 2, 5, 7]  # every 2.5th reading
    assert len(series(conn.id, "lead_owner", start + timedelta(minutes=110))) == 40  # fewer than 60: all
