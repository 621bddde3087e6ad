"""Alert conditions driven by real runs and requests against the sandbox: each opens once, escalates when
it worsens, resolves itself when the cause clears; ops acknowledge with a note."""
from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
import requests
import sqlalchemy as sa

from console.extensions import db
from console.models import IntegrationSyncJob, MonitorAlert
from console.models.base import utcnow
from console.monitoring.alerts import evaluate
from console.sandbox import SandboxConfig, SandboxServer
from console.sync.inbound.runner import ensure_job
from console.webhooks.ingest import forget_secrets

from .. import factories
from ..reporting import sync, synced_connection


def _alerts(conn, kind=None) -> list[MonitorAlert]:
    db.session.expire_all()
    q = sa.select(MonitorAlert).where(MonitorAlert.connection_id == conn.id).order_by(MonitorAlert.id)
    if kind:
        q = q.where(MonitorAlert.kind == kind)
    return list(db.session.scalars(q))


@pytest.fixture
def live(app, sandbox):
    conn, runs = synced_connection(sandbox, factories.client("Harbour Physio"))
    conn.status = "live"
    for job in db.session.scalars(sa.select(IntegrationSyncJob).where(IntegrationSyncJob.connection_id == conn.id)):
        job.enabled, job.schedule_seconds = True, 300
    db.session.commit()
    return conn, runs


def test_stale_sync_opens_once_escalates_and_resolves_after_a_real_run(live):
    conn, _ = live
    job = db.session.scalar(sa.select(IntegrationSyncJob).where(IntegrationSyncJob.connection_id == conn.id,
                                                                IntegrationSyncJob.object_type == "deals"))
    job.last_success_at = utcnow() - timedelta(minutes=16)  # schedule 5 min x stale multiple 3 = 15 min
    db.session.commit()
    assert evaluate()["opened"] >= 1
    assert evaluate()["opened"] == 0  # no duplicate while it stays open
    [alert] = _alerts(conn, "stale_sync:deals")
    assert alert.severity == "warning" and alert.status == "open"
    assert evaluate(utcnow() + timedelta(minutes=20))["escalated"] >= 1  # the clock moves: twice the limit
    [alert] = _alerts(conn, "stale_sync:deals")
    assert alert.severity == "critical" and alert.escalated_at is not None
    sync(job)  # a successful run clears the cause
    evaluate()
    [alert] = _alerts(conn, "stale_sync:deals")
    assert alert.status == "resolved" and alert.resolved_at is not None


def test_live_without_a_baseline_and_acknowledge(live, login):
    conn, _ = live
    evaluate()
    [alert] = _alerts(conn, "no_baseline")
    ops = login("ops")
    resp = ops.hx_post(f"/ops/alerts/{alert.id}/acknowledge", {"note": "owner captures it Monday"})
    assert resp.status_code == 200 and "owner captures it Monday" in resp.get_data(as_text=True)
    evaluate()
    [alert] = _alerts(conn, "no_baseline")
    assert alert.status == "acknowledged" and alert.acknowledged_by_user_id == ops.user.id
    assert login("client", conn.client).get("/ops/alerts").status_code == 404


def test_invalid_credentials_alert_follows_the_real_provider_answer(live, sandbox):
    conn, _ = live
    account = conn.account
    account.set_secret("credentials", json.dumps({"token": "pat-revoked-token-000"}))
    db.session.commit()
    job = db.session.scalar(sa.select(IntegrationSyncJob).where(IntegrationSyncJob.connection_id == conn.id))
    sync(job)  # HubSpot answers 401: the run marks the credentials invalid
    evaluate()
    [alert] = _alerts(conn, "credentials_invalid")
    assert alert.severity == "critical" and alert.status == "open"
    account.set_secret("credentials", json.dumps({"token": sandbox.token}))
    db.session.commit()
    sync(job)
    evaluate()
    assert _alerts(conn, "credentials_invalid")[0].status == "resolved"


def test_forged_webhooks_over_the_threshold_open_an_alert(live, live_server):
    conn, _ = live
    conn.failed_webhook_threshold = 3
    conn.account.set_secret("webhook_secret", "the-real-secret-123456")
    db.session.commit()
    forget_secrets()
    body = json.dumps([{"eventId": 1, "portalId": 62515, "subscriptionType": "contact.creation", "objectId": 1}])
    for _ in range(3):
        resp = requests.post(f"{live_server}/webhooks/hubspot", data=body, timeout=5, headers={
            "Content-Type": "application/json", "X-HubSpot-Signature-v3": "forged",
            "X-HubSpot-Request-Timestamp": str(int(time.time() * 1000))})
        assert resp.status_code == 401
    db.session.commit()
    evaluate()
    [alert] = _alerts(conn, "failed_webhooks")
    assert alert.severity == "warning" and "3 refused signatures" in alert.message
    forget_secrets()


def test_429s_in_the_last_hour_raise_rate_limit_pressure(app):
    with SandboxServer(SandboxConfig(contacts=30, deals=0, seed=4, limits=False)) as sb:
        conn = factories.hubspot_connection(sb.url, sb.token)
        conn.status = "live"
        job = ensure_job(conn, "contacts")
        job.enabled, job.depends_on = True, None
        db.session.commit()
        requests.put(f"{sb.url}/_sandbox/faults", json={"rules": [{"kind": "429", "rate": 1.0, "count": 2,
                                                                   "endpoint": "/crm/v3/objects/contacts"}]},
                     timeout=5).raise_for_status()
        run = sync(job)
        assert run.rate_limited == 2 and run.seen == 30
        evaluate()
        [alert] = _alerts(conn, "rate_limited")
        assert "429 2 times" in alert.message
