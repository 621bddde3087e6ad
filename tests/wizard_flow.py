"""Drive a connection through the wizard's routes, step by step, as an owner's browser would (HTMX)."""
from __future__ import annotations

import sqlalchemy as sa

from console.extensions import db
from console.models import IntegrationConnection, IntegrationSyncRun
from console.sync.runs.lifecycle import claim_queued
from jobs.executors import run_queued

from . import factories


def run_queued_test_batches() -> list[int]:
    """What the dispatcher does on its next tick, run here in the test's thread."""
    db.session.commit()  # a fresh snapshot (MariaDB's REPEATABLE READ): see the runs the request just queued
    ids = claim_queued("test-worker", 10)
    for run_id in ids:
        run_queued(run_id)
    db.session.commit()
    return ids


def new_connection(owner, client_obj=None) -> IntegrationConnection:
    client_obj = client_obj or factories.client()
    db.session.commit()
    resp = owner.hx_post("/connections/new", {"client_id": client_obj.id, "provider_id": _hubspot_id(),
                                               "name": f"{client_obj.name} CRM", "environment": "sandbox",
                                               "owner_id": owner.user.id, "reason": "Lead reporting"})
    assert resp.status_code == 204 and "/wizard/access" in resp.headers["HX-Redirect"], resp.get_data(as_text=True)
    return db.session.scalar(sa.select(IntegrationConnection).order_by(IntegrationConnection.id.desc()))


def _hubspot_id() -> int:
    from console.reference import ensure_providers

    provider = ensure_providers()["hubspot"]
    db.session.commit()
    return provider.id


def access(owner, conn, auth_type: str = "private_app", scopes: str | None = None):
    return owner.hx_post(f"/connections/{conn.id}/wizard/access", {
        "owner_id": owner.user.id, "auth_type": auth_type,
        "scopes": scopes or "crm.objects.contacts.read crm.objects.deals.read crm.objects.owners.read",
        "docs_url": "https://developers.hubspot.com/docs/api/crm/understanding-the-crm",
        "revocation_path": "Delete the private app in HubSpot; tell the client's admin."})


def account(owner, conn, sandbox, **extra):
    return owner.hx_post(f"/connections/{conn.id}/wizard/connection/account", {
        "portal_id": "62515", "environment": "sandbox", "base_url": sandbox.url, **extra})


def token_and_check(owner, conn, token: str):
    owner.hx_post(f"/connections/{conn.id}/wizard/connection/token", {"token": token})
    return owner.hx_post(f"/connections/{conn.id}/wizard/connection/check")


def jobs(owner, conn, *objects: str):
    data = {"contacts_minutes": 15, "companies_minutes": 60, "deals_minutes": 15}
    data.update(dict.fromkeys(objects, "y"))
    return owner.hx_post(f"/connections/{conn.id}/wizard/mapping/jobs", data)


def passing_test_batch(owner, conn, object_type: str = "deals", size: int = 25) -> IntegrationSyncRun:
    resp = owner.hx_post(f"/connections/{conn.id}/wizard/test", {"object_type": object_type, "size": size})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    run_queued_test_batches()
    return db.session.scalar(sa.select(IntegrationSyncRun).order_by(IntegrationSyncRun.id.desc()))


def monitor(owner, conn, **overrides):
    data = {"stale_multiple": 3, "pressure_pct": 20, "failed_webhooks": 5, "duplicate_events": 20,
            "freshness_target": 300, "freshness_objective": 99, "completeness": 95, "duplicate_records": 5,
            "unresolved": 2, "channel": "email",
            "target": "owner@example.com", "visible": "y", "visibility_note": "The four cards and notes.",
            "failure_path": "Retries, then dead letters; the owner is emailed and ops replays.",
            "manual_fallback": "Weekly CSV export imported on the CSV page."}
    data.update(overrides)
    return owner.hx_post(f"/connections/{conn.id}/wizard/monitor", data)
