"""Webhook trust boundaries over real HTTP: a batch is stored only when every event verifies under the
secret of the connection its own (app, portal) routes to. Forged mixed batches, unknown portals,
pre-empted event ids and hostile bodies are refused and recorded with nothing stored; a genuine batch of
one app serving two portals routes each event to its own client's connection. Signatures are made with
HubSpot's SDK."""
from __future__ import annotations

import json
import resource
import time

import pytest
import requests
import sqlalchemy as sa
from hubspot.utils.signature import Signature

from console.extensions import db
from console.models import EventWebhookEvent, WebhookRejection
from console.webhooks.ingest import forget_secrets

from .. import factories

APP = 4242


def event(event_id: int, portal: int, app: int = APP, **extra) -> dict:
    return {"eventId": event_id, "subscriptionId": 1, "portalId": portal, "appId": app,
            "occurredAt": int(time.time() * 1000), "subscriptionType": "contact.propertyChange", "attemptNumber": 0,
            "objectId": 1001, "changeSource": "CRM", "propertyName": "firstname", "propertyValue": "X", **extra}


def post(url: str, secret: str, events, body: bytes | None = None, stamp: str | None = None):
    body = body if body is not None else json.dumps(events).encode()
    stamp = stamp or str(int(time.time() * 1000))
    signature = Signature.get_signature(secret, body.decode("latin-1"), "v3", url, "POST", stamp)
    return requests.post(url, data=body, timeout=10, headers={
        "Content-Type": "application/json", "X-HubSpot-Signature-v3": signature, "X-HubSpot-Request-Timestamp": stamp})


def stored() -> list[EventWebhookEvent]:
    db.session.commit()
    return db.session.scalars(sa.select(EventWebhookEvent).order_by(EventWebhookEvent.id)).all()


def rejections() -> list[str]:
    db.session.commit()
    return [r.reason for r in db.session.scalars(sa.select(WebhookRejection).order_by(WebhookRejection.id))]


@pytest.fixture
def portals(app, live_server):
    """Three clients: portals 100 and 200 installed app 4242 (one signing secret, as HubSpot does);
    portal 300 belongs to another app with its own secret."""
    forget_secrets()
    conns = {}
    for portal, secret, app_id in ((100, "shared-app-secret-4242", "4242"), (200, "shared-app-secret-4242", "4242"),
                                   (300, "other-app-secret-9999", "9999")):
        client = factories.client(f"Client of portal {portal}")
        account = factories.account(client, external_account_id=str(portal), app_id=app_id)
        account.set_secret("webhook_secret", secret)
        conns[portal] = factories.connection(client, account_id=account.id)
        conns[portal].status = "live"
    db.session.commit()
    yield {"url": f"{live_server}/webhooks/hubspot", "conns": conns}
    forget_secrets()


def test_one_app_serving_two_portals_routes_each_event_to_its_own_connection(portals):
    url, conns = portals["url"], portals["conns"]
    resp = post(url, "shared-app-secret-4242", [event(1, 100), event(2, 200)])
    assert resp.status_code == 200 and resp.json() == {"accepted": 2, "duplicates": 0}
    rows = stored()
    assert [(r.source_event_id, r.connection_id) for r in rows] == [
        ("4242:100:1", conns[100].id), ("4242:200:2", conns[200].id)]


def test_a_batch_mixing_another_apps_portal_is_refused_whole(portals):
    url = portals["url"]
    # Signed with portal 100's secret, smuggling an event into portal 300 (another client, another app).
    resp = post(url, "shared-app-secret-4242", [event(1, 100), event(2, 300, app=9999)])
    assert resp.status_code == 401 and resp.json()["error"] == "mixed_portals"
    # The same, claiming portal 300's events come from app 4242: no connection takes that pair.
    resp = post(url, "shared-app-secret-4242", [event(3, 100), event(4, 300)])
    assert resp.status_code == 401 and resp.json()["error"] == "unknown_portal"
    # Signed with portal 300's secret, naming portal 100 too.
    resp = post(url, "other-app-secret-9999", [event(5, 300, app=9999), event(6, 100)])
    assert resp.status_code == 401 and resp.json()["error"] == "mixed_portals"
    assert stored() == [] and rejections() == ["mixed_portals", "unknown_portal", "mixed_portals"]


def test_an_unknown_portal_in_a_batch_stores_nothing(portals):
    resp = post(portals["url"], "shared-app-secret-4242", [event(1, 100), event(2, 555)])
    assert resp.status_code == 401 and resp.json()["error"] == "unknown_portal"
    assert stored() == [] and rejections() == ["unknown_portal"]


def test_an_event_id_cannot_be_preempted_across_portals(portals):
    url, conns = portals["url"], portals["conns"]
    # A sender holding app 9999's secret sends event id 77 first, for its own portal...
    assert post(url, "other-app-secret-9999", [event(77, 300, app=9999)]).status_code == 200
    # ...the genuine event 77 of portal 100 is still stored, not dropped as a duplicate.
    resp = post(url, "shared-app-secret-4242", [event(77, 100)])
    assert resp.json() == {"accepted": 1, "duplicates": 0}
    assert {(r.source_event_id, r.connection_id) for r in stored()} == {
        ("9999:300:77", conns[300].id), ("4242:100:77", conns[100].id)}
    assert post(url, "shared-app-secret-4242", [event(77, 100)]).json() == {"accepted": 0, "duplicates": 1}


def test_hostile_bodies_and_headers_are_refused_not_crashed(portals):
    url = portals["url"]
    good = [event(1, 100)]
    cases = [
        ("malformed", 400, post(url, "shared-app-secret-4242", None, body=b"[" * 100_000)),
        ("malformed", 400, post(url, "shared-app-secret-4242", [event(1, 100, eventId="1" * 5000)])),
        ("malformed", 400, post(url, "shared-app-secret-4242", [event(10**30, 100)])),
        ("malformed", 400, post(url, "shared-app-secret-4242", [event(1, "１００")])),  # full-width digits
        ("missing_timestamp", 401, post(url, "shared-app-secret-4242", good, stamp="9" * 5000)),
        ("missing_timestamp", 401, post(url, "shared-app-secret-4242", good, stamp="17000000000²")),
        ("bad_signature", 401, requests.post(url, data=json.dumps(good), timeout=5, headers={
            "Content-Type": "application/json", "X-HubSpot-Signature-v3": "²" * 44,
            "X-HubSpot-Request-Timestamp": str(int(time.time() * 1000))})),
    ]
    for reason, status, resp in cases:
        assert (resp.status_code, resp.json()["error"]) == (status, reason), resp.text
    assert stored() == [] and rejections() == [c[0] for c in cases]


def test_unsigned_oversized_posts_naming_made_up_portals_cost_no_memory(portals):
    url = portals["url"]
    padding = "p" * 8_800  # 100 events of ~9 KB: a ~900 KB body

    def body(n: int) -> bytes:
        return json.dumps([event(i, 10_000_000 + n * 100 + i, propertyValue=padding) for i in range(100)]).encode()

    session = requests.Session()
    for n in range(50):  # warm up the server's buffers and allocator before measuring
        session.post(url, data=body(n), timeout=10, headers={"Content-Type": "application/json"})
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for n in range(50, 1050):
        resp = session.post(url, data=body(n), timeout=10, headers={"Content-Type": "application/json"})
        assert resp.status_code == 401
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 10, f"the process grew {grown_mb:.1f} MB over 1,000 unsigned posts"
    assert stored() == []


def test_the_owner_chooses_whether_v1_v2_signatures_are_accepted(login, sandbox):
    from ..wizard_flow import access, account, new_connection

    owner = login("owner")
    conn = new_connection(owner)
    access(owner, conn)
    account(owner, conn, sandbox)
    db.session.refresh(conn)
    assert conn.account.webhook_v3_only  # a new account takes v3 only
    url = f"/connections/{conn.id}/wizard/connection/webhook-secret"
    page = owner.hx_post(url, {"webhook_secret": "app-secret-0000", "app_id": "4242", "legacy_signatures": "y"})
    assert page.status_code == 200 and "v1/v2 for events under 26 hours old" in page.get_data(as_text=True)
    db.session.refresh(conn.account)
    assert not conn.account.webhook_v3_only and conn.account.app_id == "4242"
    owner.hx_post(url, {"webhook_secret": "app-secret-0000", "app_id": "4242"})
    db.session.refresh(conn.account)
    assert conn.account.webhook_v3_only
