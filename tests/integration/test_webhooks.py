"""The webhook receiver over real HTTP: signatures from HubSpot's SDK and from the sandbox's emitter,
every forgery refused and recorded, redeliveries deduplicated, background normalization through the
sync engine, out-of-order safety, retries, dead letters and replay from the console."""
from __future__ import annotations

import json
import time

import pytest
import requests
import sqlalchemy as sa
from hubspot.utils.signature import Signature

from console.extensions import db
from console.models import CrmLead, EventWebhookEvent, IntegrationNormalizedEvent, IntegrationSyncRun, WebhookRejection
from console.sandbox import SandboxConfig, SandboxServer
from console.sync.inbound.runner import ensure_job
from console.webhooks import normalize
from console.webhooks.ingest import forget_secrets

from .. import factories
from ..reporting import sync


@pytest.fixture
def world(app, live_server):
    forget_secrets()
    with SandboxServer(SandboxConfig(contacts=40, deals=10, seed=11, limits=False)) as sb:
        conn = factories.hubspot_connection(sb.url, sb.token)
        conn.status = "live"
        conn.account.set_secret("webhook_secret", sb.state.auth.oauth_app.client_secret)
        job = ensure_job(conn, "contacts")
        job.depends_on = None
        db.session.commit()
        sync(job)  # the mapping and the leads exist, as on a live connection
        yield {"sb": sb, "conn": conn, "url": f"{live_server}/webhooks/hubspot",
               "secret": sb.state.auth.oauth_app.client_secret}
    forget_secrets()


def _event(event_id: int, object_id: int, kind: str = "contact.propertyChange", **extra) -> dict:
    return {"eventId": event_id, "subscriptionId": 1, "portalId": 62515, "appId": 4242,
            "occurredAt": int(time.time() * 1000), "subscriptionType": kind, "attemptNumber": 0,
            "objectId": object_id, "changeSource": "CRM", "propertyName": "firstname", "propertyValue": "X", **extra}


def _post_v3(url: str, secret: str, events, timestamp: int | None = None, body: bytes | None = None,
             sign_body: bytes | None = None):
    body = body if body is not None else json.dumps(events).encode()
    stamp = str(timestamp or int(time.time() * 1000))
    signature = Signature.get_signature(secret, (sign_body or body).decode(), "v3", url, "POST", stamp)
    return requests.post(url, data=body, timeout=5, headers={
        "Content-Type": "application/json", "X-HubSpot-Signature-v3": signature, "X-HubSpot-Request-Timestamp": stamp})


def _count(model, *where) -> int:
    db.session.commit()  # a new snapshot: the server wrote on its own connections
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def _contact_ids(conn) -> list[str]:
    return list(db.session.scalars(sa.select(CrmLead.external_id).where(CrmLead.connection_id == conn.id)
                                   .order_by(CrmLead.id).limit(5)))


def test_sdk_signatures_v3_v2_v1_are_accepted_and_each_event_stored_once(world):
    url, secret = world["url"], world["secret"]
    ids = _contact_ids(world["conn"])
    resp = _post_v3(url, secret, [_event(1, ids[0]), _event(2, ids[1])])
    assert resp.status_code == 200 and resp.json() == {"accepted": 2, "duplicates": 0}

    def legacy(version: str, event_id: int, **extra):
        body = json.dumps([_event(event_id, ids[2], **extra)])
        signature = Signature.get_signature(secret, body, version, url, "POST")
        return requests.post(url, data=body, timeout=5, headers={
            "Content-Type": "application/json", "X-HubSpot-Signature": signature,
            "X-HubSpot-Signature-Version": version})

    # v1/v2 carry no timestamp: a connection takes them only when told to (v3 only is the default).
    assert legacy("v2", 3).json()["error"] == "signature_version"
    world["conn"].account.webhook_v3_only = False
    db.session.commit()
    forget_secrets()
    for version, event_id in (("v2", 3), ("v1", 4)):
        resp = legacy(version, event_id)
        assert resp.status_code == 200, (version, resp.text)
    week_old = int(time.time() * 1000) - 7 * 86_400_000
    assert legacy("v1", 5, occurredAt=week_old).json()["error"] == "stale_event"  # a replay of an old capture
    assert _count(EventWebhookEvent) == 4
    stored = db.session.scalar(sa.select(EventWebhookEvent).where(EventWebhookEvent.source_event_id == "4242:62515:1"))
    assert stored.connection_id == world["conn"].id and stored.status == "received"
    assert "propertyValue" not in stored.payload_summary and stored.raw_payload["propertyValue"] == "X"


def test_forgeries_replays_and_malformed_bodies_are_refused_and_recorded(world):
    url, secret = world["url"], world["secret"]
    events = [_event(10, 1)]
    good = json.dumps(events).encode()
    cases = [
        ("bad_signature", 401, _post_v3(url, secret, events, body=good.replace(b'"X"', b'"Y"'), sign_body=good)),
        ("bad_signature", 401, _post_v3(url, "not-the-secret-at-all", events)),
        ("stale_timestamp", 401, _post_v3(url, secret, events, timestamp=int(time.time() * 1000) - 6 * 60 * 1000)),
        ("missing_signature", 401, requests.post(url, data=good, timeout=5,
                                                 headers={"Content-Type": "application/json"})),
        ("malformed", 400, _post_v3(url, secret, None, body=b"[{not json")),
        ("malformed", 400, _post_v3(url, secret, {"eventId": 1})),
        ("unknown_portal", 401, _post_v3(url, secret, [_event(11, 1, portalId=999)])),
    ]
    for reason, status, resp in cases:
        assert resp.status_code == status, (reason, resp.status_code, resp.text)
        assert resp.json()["error"] == reason
    assert _count(EventWebhookEvent) == 0
    rows = db.session.scalars(sa.select(WebhookRejection).order_by(WebhookRejection.id)).all()
    assert [r.reason for r in rows] == [c[0] for c in cases]
    assert all(r.address == "127.0.0.1" and r.body_bytes > 0 for r in rows)
    assert not any('"X"' in (r.detail or "") for r in rows)  # the untrusted body is never kept
    huge = requests.post(url, data=b"[" + b" " * (1024 * 1024 + 10) + b"]", timeout=5,
                         headers={"Content-Type": "application/json"})
    assert huge.status_code == 413


def test_a_redelivered_batch_creates_no_second_event(world):
    url, secret = world["url"], world["secret"]
    batch = [_event(20 + i, 1) for i in range(5)]
    assert _post_v3(url, secret, batch).json() == {"accepted": 5, "duplicates": 0}
    again = _post_v3(url, secret, [dict(e, attemptNumber=1) for e in batch])
    assert again.status_code == 200 and again.json() == {"accepted": 0, "duplicates": 5}
    assert _count(EventWebhookEvent) == 5
    assert db.session.scalar(sa.select(sa.func.sum(EventWebhookEvent.duplicate_count))) == 5


def test_sandbox_deliveries_are_normalized_through_the_sync_engine(world):
    sb = world["sb"]
    requests.put(f"{sb.url}/_sandbox/webhooks", json={"url": world["url"], "version": "v3", "duplicates": True,
                                                      "out_of_order": True}, timeout=5).raise_for_status()
    requests.post(f"{sb.url}/_sandbox/changes", json={"update": 8, "seed": 3}, timeout=10).raise_for_status()
    deadline = time.time() + 15
    while time.time() < deadline and requests.get(f"{sb.url}/_sandbox/info", timeout=5).json().get(
            "webhooks", {}).get("pending", 1):
        time.sleep(0.1)
    time.sleep(0.3)
    stored = _count(EventWebhookEvent)
    assert stored >= 8
    assert db.session.scalar(sa.select(sa.func.sum(EventWebhookEvent.duplicate_count))) >= stored  # all sent twice
    while normalize.process_due(200):
        pass
    assert _count(EventWebhookEvent, EventWebhookEvent.status == "normalized") == stored
    run = db.session.scalar(sa.select(IntegrationSyncRun).where(IntegrationSyncRun.kind == "webhook"))
    assert run is not None and run.buckets_balance and run.updated >= 1
    assert _count(IntegrationNormalizedEvent, IntegrationNormalizedEvent.source_kind == "webhook") >= 1
    # the leads now hold what the provider holds
    for event in db.session.scalars(sa.select(EventWebhookEvent).limit(5)):
        remote = requests.get(f"{sb.url}/crm/v3/objects/contacts/{event.object_id}?properties=firstname",
                              headers={"Authorization": f"Bearer {sb.token}"}, timeout=5).json()
        lead = db.session.scalar(sa.select(CrmLead).where(CrmLead.external_id == event.object_id))
        assert lead.first_name == ((remote["properties"].get("firstname") or "").strip() or None)


def test_an_older_version_never_overwrites_a_newer_one(world):
    from console.connectors.base import Page, SourceRecord
    from console.mapping.service import load_spec
    from console.sync.inbound.pipeline import PageWriter
    from console.sync.runs.accounting import Tally

    conn = world["conn"]
    lead = db.session.scalar(sa.select(CrmLead).where(CrmLead.connection_id == conn.id, CrmLead.object_type == "contacts"))
    kept = (lead.first_name, lead.content_hash)
    stale_ms = int(lead.provider_updated_at.timestamp() * 1000) - 60_000
    run = IntegrationSyncRun(connection_id=conn.id, object_type="contacts", kind="webhook", status="running")
    db.session.add(run)
    db.session.commit()
    tally = Tally(keep_outcomes=True)
    writer = PageWriter(conn, "contacts", load_spec(conn.id, "contacts"), run, "CRM", None, False, tally)
    writer.apply(Page([SourceRecord(lead.external_id, {"firstname": "Older", "email": lead.email}, stale_ms)], {}), None)
    db.session.refresh(lead)
    assert (lead.first_name, lead.content_hash) == kept
    assert tally.outcomes == [(lead.external_id, "unchanged", "older than the stored version", "", "")]
    run.status = "succeeded"
    db.session.commit()


def test_failing_normalization_retries_dead_letters_and_replay_succeeds(world, login):
    sb, url, secret = world["sb"], world["url"], world["secret"]
    object_id = _contact_ids(world["conn"])[0]
    assert _post_v3(url, secret, [_event(500, object_id)]).status_code == 200
    requests.put(f"{sb.url}/_sandbox/faults", json={"rules": [{"kind": "500", "rate": 1.0,
                                                               "endpoint": "/crm/v3/objects/contacts/batch/read",
                                                               "count": 10_000}]}, timeout=5).raise_for_status()
    for attempt in range(1, normalize.MAX_ATTEMPTS + 1):
        assert normalize.process_due() == 1
        event = db.session.scalar(sa.select(EventWebhookEvent))
        db.session.refresh(event)
        assert event.attempts == attempt and "500" in (event.last_error or "")
        if attempt < normalize.MAX_ATTEMPTS:
            assert event.status == "retrying" and event.next_attempt_at is not None
            assert normalize.process_due() == 0  # not due yet: backoff
            event.next_attempt_at = event.created_at  # let the clock move on
            db.session.commit()
    assert event.status == "dead_letter"
    requests.put(f"{sb.url}/_sandbox/faults", json={"rules": []}, timeout=5).raise_for_status()

    ops = login("ops")
    resp = ops.hx_post("/ops/webhooks/replay", {"ids": [str(event.id)]})
    assert resp.status_code == 200 and "1 event(s) queued" in resp.get_data(as_text=True)
    assert normalize.process_due() == 1
    db.session.refresh(event)
    assert event.status == "normalized" and event.attempts == 1
    from console.models import EventAdminAction
    assert db.session.scalar(sa.select(EventAdminAction).where(EventAdminAction.action == "webhook.replayed"))


def test_a_deletion_is_applied_only_when_the_provider_confirms_it(world):
    sb, conn = world["sb"], world["conn"]
    auth = {"Authorization": f"Bearer {sb.token}"}
    lead = db.session.scalar(sa.select(CrmLead).where(CrmLead.connection_id == conn.id, CrmLead.object_type == "contacts",
                                                      CrmLead.archived.is_(False)).order_by(CrmLead.id))
    rid = lead.external_id
    sent_at = int(time.time() * 1000) - 60_000  # a deletion from a minute ago, delivered late
    assert requests.patch(f"{sb.url}/crm/v3/objects/contacts/{rid}", headers=auth, timeout=5,
                          json={"properties": {"firstname": "Restored"}}).status_code == 200
    assert _post_v3(world["url"], world["secret"], [_event(7001, int(rid), "contact.deletion",
                                                           occurredAt=sent_at)]).status_code in (200, 204)
    db.session.commit()  # a new snapshot (MariaDB's REPEATABLE READ): the receiver stored the event on its own connection
    while normalize.process_due(200):
        pass
    db.session.commit()
    db.session.refresh(lead)
    newest = sb.state.portal.records["contacts"][int(rid)]
    assert not lead.archived and lead.first_name == "Restored"  # the provider's active version won
    stored_ms = lead.provider_updated_at.replace(tzinfo=__import__("datetime").timezone.utc).timestamp() * 1000
    assert int(round(stored_ms)) == newest.updated
    event = db.session.scalar(sa.select(EventWebhookEvent).where(EventWebhookEvent.source_event_id.like("%7001%")))
    assert event.status == "normalized"

    # Deleted at the provider for real: the same kind of event now archives the lead.
    assert requests.delete(f"{sb.url}/crm/v3/objects/contacts/{rid}", headers=auth, timeout=5).status_code == 204
    assert _post_v3(world["url"], world["secret"], [_event(7002, int(rid), "contact.deletion")]).status_code in (200, 204)
    db.session.commit()  # a new snapshot (MariaDB's REPEATABLE READ): the receiver stored the event on its own connection
    while normalize.process_due(200):
        pass
    db.session.commit()
    db.session.refresh(lead)
    assert lead.archived and lead.archived_at is not None
    webhook_runs = db.session.scalars(sa.select(IntegrationSyncRun).where(IntegrationSyncRun.kind == "webhook")).all()
    assert webhook_runs and all(r.status in ("succeeded", "partial") and r.finished_at for r in webhook_runs)


def test_our_own_write_comes_back_by_webhook_as_an_echo_that_changes_nothing(world):
    from console.models import CrmLeadEvent, IntegrationFieldMapping, IntegrationSyncJob
    from console.sandbox.auth import PRIVATE_APP_ID
    from console.sync.outbound.changes import record_change
    from console.sync.outbound.push import execute_push, start_push

    sb, conn = world["sb"], world["conn"]
    job = db.session.scalar(sa.select(IntegrationSyncJob).where(IntegrationSyncJob.connection_id == conn.id))
    job.direction = "both"
    db.session.scalar(sa.select(IntegrationFieldMapping).where(
        IntegrationFieldMapping.connection_id == conn.id, IntegrationFieldMapping.target_field == "lead_status")
    ).direction = "both"
    lead = db.session.scalar(sa.select(CrmLead).where(CrmLead.connection_id == conn.id, CrmLead.email.is_not(None))
                             .order_by(CrmLead.id).limit(1))
    value = "Bad Timing" if lead.lead_status != "Bad Timing" else "Connected"
    record_change(lead, "lead_status", value, "lead_page")
    db.session.commit()
    events_before = _count(CrmLeadEvent, CrmLeadEvent.lead_id == lead.id)
    requests.put(f"{sb.url}/_sandbox/webhooks", json={"url": world["url"], "version": "v3"}, timeout=5).raise_for_status()

    run = start_push(job)
    execute_push(run)
    db.session.refresh(run)
    assert (run.status, run.updated) == ("succeeded", 1)
    deadline = time.time() + 15
    while time.time() < deadline and not _count(EventWebhookEvent, EventWebhookEvent.object_id == lead.external_id):
        time.sleep(0.1)
    event = db.session.scalar(sa.select(EventWebhookEvent).where(EventWebhookEvent.object_id == lead.external_id))
    assert event is not None, "the sandbox sent no webhook for our write"
    summary = event.payload_summary or {}
    assert (summary.get("changeSource"), summary.get("sourceId")) == ("INTEGRATION", str(PRIVATE_APP_ID))  # the writer
    while normalize.process_due(200):
        pass
    db.session.refresh(event)
    assert event.status == "normalized"
    echo = db.session.scalar(sa.select(IntegrationSyncRun).where(IntegrationSyncRun.kind == "webhook")
                             .order_by(IntegrationSyncRun.id.desc()).limit(1))
    assert (echo.seen, echo.unchanged, echo.updated) == (1, 1, 0), echo.outcomes
    assert _count(CrmLeadEvent, CrmLeadEvent.lead_id == lead.id) == events_before  # no lead event
    db.session.refresh(lead)
    assert lead.lead_status == value
