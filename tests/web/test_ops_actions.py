"""Ops actions on failures: sync errors retried, resolved and ignored; webhook events ignored and
resolved; reasons required where they must be, and every action audited."""
from __future__ import annotations

import sqlalchemy as sa

from console.extensions import db
from console.models import EventAdminAction, EventWebhookEvent, IntegrationSyncError

from .. import factories


def _error(conn, status="dead_letter", attempts=5) -> IntegrationSyncError:
    err = IntegrationSyncError(connection_id=conn.id, object_type="contacts", external_id="42", stage="validate",
                               code="invalid_email", message="email: not a valid email address",
                               attempts=attempts, status=status)
    db.session.add(err)
    db.session.commit()
    return err


def _actions() -> set[str]:
    return set(db.session.scalars(sa.select(EventAdminAction.action)))


def test_sync_error_retry_resolve_and_ignore(login):
    conn = factories.connection(factories.client("Harbour Physio"))
    dead, open_one, other = _error(conn), _error(conn, "open", 1), _error(conn, "open", 1)
    ops = login("ops")
    resp = ops.hx_post("/ops/errors/retry", {"ids": [str(dead.id)]})
    assert resp.status_code == 200 and "1 record(s) will be read again" in resp.get_data(as_text=True)
    db.session.refresh(dead)
    assert dead.status == "retrying" and dead.attempts == 1 and dead.next_retry_at is not None
    refused = ops.hx_post(f"/ops/errors/{open_one.id}/ignore", {"reason": " "})
    assert refused.status_code == 422 and "Say why" in refused.get_data(as_text=True)
    assert ops.hx_post(f"/ops/errors/{open_one.id}/ignore", {"reason": "test contact"}).status_code == 200
    assert ops.hx_post(f"/ops/errors/{other.id}/resolve", {"reason": "fixed in the CRM"}).status_code == 200
    db.session.expire_all()
    assert (open_one.status, open_one.resolution_reason) == ("ignored", "test contact")
    assert other.status == "resolved" and other.resolved_by_user_id == ops.user.id
    assert ops.hx_post(f"/ops/errors/{other.id}/ignore", {"reason": "again"}).status_code == 422
    assert {"sync_error.retried", "sync_error.ignored", "sync_error.resolved"} <= _actions()
    filtered = ops.hx_get("/ops/errors?status=ignored").get_data(as_text=True)
    assert f'id="error-{open_one.id}"' in filtered and f'id="error-{other.id}"' not in filtered
    assert login("owner").hx_post(f"/ops/errors/{dead.id}/resolve", {"reason": "x"}).status_code == 403


def test_webhook_event_ignore_and_resolve(login):
    rows = [EventWebhookEvent(provider="hubspot", source_event_id=str(i), event_type="contact.creation",
                              status="dead_letter", attempts=5, raw_payload={"eventId": i, "objectId": 7})
            for i in (1, 2)]
    db.session.add_all(rows)
    db.session.commit()
    ops = login("ops")
    assert ops.hx_post(f"/ops/webhooks/{rows[0].id}/ignore", {"reason": ""}).status_code == 422
    assert ops.hx_post(f"/ops/webhooks/{rows[0].id}/ignore", {"reason": "test portal"}).status_code == 200
    assert ops.hx_post(f"/ops/webhooks/{rows[1].id}/resolve", {"reason": "re-synced"}).status_code == 200
    db.session.expire_all()
    assert rows[0].status == "ignored" and "test portal" in rows[0].last_error
    assert rows[1].status == "normalized" and rows[1].processed_at is not None
    assert ops.hx_post(f"/ops/webhooks/{rows[1].id}/ignore", {"reason": "late"}).status_code == 422
    assert {"webhook.ignored", "webhook.resolved"} <= _actions()
    detail = ops.get(f"/ops/webhooks/{rows[0].id}").get_data(as_text=True)
    assert "raw-payload" not in detail  # raw events are for admins only
    assert 'id="raw-payload"' in login("admin").get(f"/ops/webhooks/{rows[0].id}").get_data(as_text=True)
