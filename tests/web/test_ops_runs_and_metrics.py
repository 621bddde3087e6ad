"""Run history and detail for staff, and /metrics in Prometheus format behind a bearer token."""
from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from console.extensions import db
from console.models import EventWebhookEvent

from .. import factories
from ..reporting import synced_connection


@pytest.fixture
def synced(app, sandbox):
    conn, runs = synced_connection(sandbox, factories.client("Harbour Physio"))
    db.session.commit()
    return conn, runs


def test_run_history_filters_and_detail(login, synced):
    conn, runs = synced
    ops = login("ops")
    page = ops.get("/ops/runs").get_data(as_text=True)
    assert f'id="run-{runs["contacts"].id}"' in page and f'id="run-{runs["deals"].id}"' in page
    only_deals = ops.hx_get("/ops/runs?object_type=deals").get_data(as_text=True)
    assert only_deals.lstrip().startswith('<div id="run-table">')
    assert f'id="run-{runs["deals"].id}"' in only_deals and f'id="run-{runs["contacts"].id}"' not in only_deals
    detail = ops.get(f"/ops/runs/{runs['contacts'].id}").get_data(as_text=True)
    assert "balanced" in detail and "Cursor after" in detail
    assert "email: not a valid email address" in detail  # the run's own record errors
    assert 'id="run-yielded"' not in detail
    runs["contacts"].yielded = True  # it stopped between pages for other clients' jobs
    db.session.commit()
    assert 'id="run-yielded"' in ops.get(f"/ops/runs/{runs['contacts'].id}").get_data(as_text=True)
    assert login("client", conn.client).get("/ops/runs").status_code == 404


def test_metrics_needs_the_bearer_token_and_reports_from_the_database(app, client, synced):
    assert client.get("/metrics").status_code == 404  # no token configured: the endpoint is off
    app.config["METRICS_TOKEN"] = "scrape-token-123"
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    db.session.add(EventWebhookEvent(provider="hubspot", source_event_id="1", event_type="contact.creation",
                                     status="dead_letter"))
    db.session.commit()
    resp = client.get("/metrics", headers={"Authorization": "Bearer scrape-token-123"})
    assert resp.status_code == 200 and resp.mimetype == "text/plain"
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(resp.get_data(as_text=True)) for s in family.samples}
    _, runs = synced
    seen = runs["contacts"].seen + runs["deals"].seen
    buckets = sum(v for (name, _), v in samples.items() if name == "connector_console_records_total")
    assert buckets == seen
    assert samples[("connector_console_webhook_events", (("status", "dead_letter"),))] == 1
    assert samples[("connector_console_open_alerts", ())] == 0
    assert ("connector_console_dispatcher_lag_seconds", ()) in samples
    assert samples[("connector_console_provider_api_calls_total", ())] > 0
    assert not [name for name, _ in samples if name == "connector_console_freshness_attainment_ratio"]  # no live one


def test_metrics_report_freshness_and_the_daily_budget_per_connection(app, client, synced):
    from console.models import IntegrationNormalizedEvent
    from console.models.base import utcnow

    conn, _ = synced
    conn.status = "live"
    conn.account.rate_limit_daily, conn.account.rate_limit_daily_remaining = 250_000, 50_000
    db.session.add_all(IntegrationNormalizedEvent(connection_id=conn.id, source_kind="webhook", object_type="contacts",
                                                  event_type="updated", created_at=utcnow(), lag_ms=lag)
                       for lag in (1_000, 2_000, 400_000, 9_000))  # the target is 300 s: 3 of 4 within
    db.session.commit()
    app.config["METRICS_TOKEN"] = "scrape-token-123"
    text = client.get("/metrics", headers={"Authorization": "Bearer scrape-token-123"}).get_data(as_text=True)
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(text) for s in family.samples}
    label = (("connection", str(conn.id)),)
    assert samples[("connector_console_freshness_attainment_ratio", label)] == 0.75
    assert samples[("connector_console_daily_budget_remaining_ratio", label)] == 0.2
