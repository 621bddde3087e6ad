"""Repeated and concurrent clicks do one thing once (issue 32): 25 "Reconcile and repair" clicks queue one
reconcile; eight tabs clicking "Run import" at once queue one run; eight "apply the other value" at once
apply once, and never to a field that no longer writes; corrections refuse control and text-direction
characters; a spent invitation link answers without writing; a wrong master key gives the webhook
receiver a 503 with a recorded rejection and the live check a clear message."""
from __future__ import annotations

import io
import threading

import requests
import sqlalchemy as sa
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from console.extensions import db
from console.models import (
    CrmLeadChange,
    CrmSyncConflict,
    CsvImport,
    EventAdminAction,
    IntegrationFieldMapping,
    IntegrationReconciliation,
    IntegrationSyncRun,
    WebhookRejection,
)
from console.sync.inbound.runner import ensure_job

from .. import factories
from ..conftest import count
from ..web.test_leads import two_way
from .test_uploads_and_files import browser_session


def _all_at_once(calls) -> list[int]:
    """Run each call on its own thread, started together; their HTTP statuses."""
    statuses, lock, gate = [], threading.Lock(), threading.Barrier(len(calls))

    def go(call):
        gate.wait()
        status = call()
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=go, args=(c,)) for c in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return statuses


def test_many_reconcile_clicks_queue_one_per_object(login):
    conn = factories.connection(factories.client(), live=True)
    ensure_job(conn, "contacts", enabled=True)
    ensure_job(conn, "deals", enabled=True)
    db.session.commit()
    ops = login("ops")
    for i in range(25):
        resp = ops.hx_post(f"/ops/connections/{conn.id}/reconcile", {"object_type": "contacts", "repair": "1" if i else ""})
        assert resp.status_code == 200
    assert "already queued" in resp.get_data(as_text=True)
    ops.hx_post(f"/ops/connections/{conn.id}/reconcile", {"object_type": "deals"})
    rows = db.session.execute(sa.select(IntegrationReconciliation.object_type, IntegrationReconciliation.repair)).all()
    assert sorted(rows) == [("contacts", True), ("deals", False)]  # the later repair made the waiting one repair


def test_eight_tabs_run_one_import_once(app, live_server):
    ops = factories.user("ops")
    conn = factories.connection(factories.client(), live=True)
    db.session.commit()
    tabs = [browser_session(live_server, ops.email, factories.PASSWORD) for _ in range(8)]
    http, token = tabs[0]
    data = b"Record ID,Email\n" + b"".join(b"%d,p%d@example.com\n" % (i, i) for i in range(20))
    boundary, body = encode_multipart({"file": FileStorage(io.BytesIO(data), "p.csv"), "object_type": "contacts",
                                       "csrf_token": token})
    assert http.post(f"{live_server}/connections/{conn.id}/imports/", data=body, timeout=30,
                     headers={"HX-Request": "true", "X-CSRFToken": token,
                              "Content-Type": f"multipart/form-data; boundary={boundary}"}).status_code == 204
    db.session.commit()  # a fresh snapshot (MariaDB's REPEATABLE READ): the server wrote on its own connection
    imp_id = db.session.scalar(sa.select(CsvImport.id))
    assert http.post(f"{live_server}/connections/{conn.id}/imports/{imp_id}/mapping", timeout=30,
                     headers={"HX-Request": "true", "X-CSRFToken": token},
                     data={"id_column": "Record ID", "field::email": "Email"}).status_code == 200

    def click(session: requests.Session, csrf: str):
        return lambda: session.post(f"{live_server}/connections/{conn.id}/imports/{imp_id}/run", timeout=30,
                                    headers={"HX-Request": "true", "X-CSRFToken": csrf}).status_code

    statuses = _all_at_once([click(s, t) for s, t in tabs])
    assert sorted(statuses) == [200] + [422] * 7, statuses
    db.session.commit()  # a fresh snapshot
    assert count(IntegrationSyncRun) == 1  # no orphan run left to trip a stopped-runs alert
    assert db.session.get(CsvImport, imp_id).run_id == db.session.scalar(sa.select(IntegrationSyncRun.id))


def test_apply_the_other_value_once_and_only_where_the_field_still_writes(app, live_server):
    conn, lead = two_way()
    conflict = CrmSyncConflict(connection_id=conn.id, object_type="contacts", lead_id=lead.id, field="lead_status",
                               console_value="New", provider_value="Connected", winner="console")
    db.session.add(conflict)
    ops = factories.user("ops")
    db.session.commit()
    tabs = [browser_session(live_server, ops.email, factories.PASSWORD) for _ in range(8)]
    url = f"{live_server}/leads/conflicts/{conflict.id}/apply-other"

    def click(session: requests.Session, csrf: str):
        return lambda: session.post(url, timeout=30,
                                    headers={"HX-Request": "true", "X-CSRFToken": csrf}).status_code

    statuses = _all_at_once([click(s, t) for s, t in tabs])
    assert sorted(statuses) == [200] + [422] * 7, statuses
    db.session.commit()  # a fresh snapshot
    assert count(CrmLeadChange) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(EventAdminAction).where(
        EventAdminAction.action == "conflict.other_applied")) == 1

    # A field made inbound-only since the conflict: nothing is applied to it.
    later = CrmSyncConflict(connection_id=conn.id, object_type="contacts", lead_id=lead.id, field="lead_status",
                            console_value="Connected", provider_value="New", winner="console")
    db.session.add(later)
    db.session.execute(sa.update(IntegrationFieldMapping).where(IntegrationFieldMapping.target_field == "lead_status")
                       .values(direction="in"))
    db.session.commit()
    http, token = tabs[0]
    resp = http.post(f"{live_server}/leads/conflicts/{later.id}/apply-other", timeout=30,
                     headers={"HX-Request": "true", "X-CSRFToken": token})
    assert resp.status_code == 422 and "no longer writes" in resp.text
    db.session.commit()
    assert count(CrmLeadChange) == 1 and later.overridden_at is None


def test_corrections_refuse_control_and_direction_characters(login):
    conn, lead = two_way()
    ops = login("ops")
    for value in ("Conn\x00ected", "\u202eNew", "New\u2066", "New\x1b[31m"):
        resp = ops.hx_post(f"/leads/{lead.id}/correct", {"field": "email", "value": f"a{value}@example.org"})
        assert resp.status_code == 422 and "control or text-direction character" in resp.get_data(as_text=True), value
    assert count(CrmLeadChange) == 0


def test_a_spent_invitation_link_answers_without_writing(app, client):
    from console.auth import invitations

    user = factories.user("owner")
    token, _ = invitations.issue(user, None)
    db.session.commit()
    invitations.accept(invitations.find(token), "a long enough password here")
    db.session.commit()
    before = count(EventAdminAction)
    for _ in range(100):
        assert client.get(f"/invite/{token}").status_code == 410
    assert count(EventAdminAction) == before


def test_a_wrong_master_key_is_a_503_with_a_rejection_and_a_clear_live_check(app, login, sandbox):
    from console.security.vault import build_vault
    from console.webhooks.ingest import forget_secrets

    owner = login("owner")
    conn = factories.hubspot_connection(sandbox.url, sandbox.token)
    conn.owner_user_id = owner.user.id
    conn.account.set_secret("webhook_secret", "a-signing-secret-0000")
    db.session.commit()
    forget_secrets()
    kept = app.extensions["vault"]
    app.extensions["vault"] = build_vault("kwrong:" + "B" * 43)  # restarted with another key
    try:
        body = b'[{"eventId": 1, "portalId": %s, "subscriptionType": "contact.creation", "objectId": 5}]' % \
            conn.account.external_account_id.encode()
        resp = app.test_client().post("/webhooks/hubspot", data=body, content_type="application/json",
                                      headers={"X-HubSpot-Signature-v3": "x", "X-HubSpot-Request-Timestamp": "1"})
        assert resp.status_code == 503 and resp.get_json()["error"] == "secret_unreadable"
        assert db.session.scalar(sa.select(WebhookRejection.reason)) == "secret_unreadable"
        check = owner.hx_post(f"/connections/{conn.id}/wizard/connection/check")
        assert check.status_code == 422
        assert "cannot be decrypted with this server&#39;s CONSOLE_MASTER_KEY" in check.get_data(as_text=True)
    finally:
        app.extensions["vault"] = kept
        forget_secrets()
