"""Fields the intake says must never leave the source: named in the intake's page, then no sync requests,
maps, stores or logs them (the sandbox over real HTTP), and no archive holds them."""
from __future__ import annotations

import json
import logging

import requests
import sqlalchemy as sa

from console.extensions import db
from console.models import CrmLead, IntegrationNormalizedEvent, IntegrationRawEvent, IntegrationSyncError
from console.sync.inbound.runner import ensure_job, execute, start_run

from .. import factories

WITHHELD = ("phone", "company")


def _provider_values(sandbox, field: str) -> set[str]:
    """What the provider holds in `field`, read over its API (the values that must not reach us)."""
    values, after = set(), None
    while True:
        params = {"limit": 100, "properties": field, **({"after": after} if after else {})}
        reply = requests.get(f"{sandbox.url}/crm/v3/objects/contacts", params=params, timeout=10,
                             headers={"Authorization": f"Bearer {sandbox.token}"}).json()
        values |= {r["properties"].get(field) for r in reply["results"]} - {None, ""}
        after = ((reply.get("paging") or {}).get("next") or {}).get("after")
        if not after:
            return values


def test_withheld_fields_are_never_requested_stored_or_logged(login, sandbox, caplog, monkeypatch):
    owner = login("owner")
    conn = factories.hubspot_connection(sandbox.url, sandbox.token)
    conn.owner_user_id = owner.user.id
    job = ensure_job(conn, "contacts", enabled=True)
    db.session.commit()
    resp = owner.hx_post(f"/connections/{conn.id}/intake/answers/never_leave",
                         {"never_leave": "phone (personal numbers)\ncompany"})
    assert resp.status_code == 200 and "phone, company" in resp.get_data(as_text=True)
    db.session.refresh(conn)
    assert conn.withheld_fields == list(WITHHELD)

    asked: list[str] = []  # every property list the sync sends to the provider
    real = requests.Session.request

    def spy(self, method, url, **kw):
        asked.append(json.dumps([kw.get("params"), kw.get("json")]))
        return real(self, method, url, **kw)

    monkeypatch.setattr(requests.Session, "request", spy)
    caplog.set_level(logging.DEBUG)
    run = start_run(job, "manual")
    execute(run, client_options={"backoff_base": 0.01, "timeout": 2.0})
    db.session.refresh(run)
    assert run.seen == 250 and run.created > 200 and run.buckets_balance
    monkeypatch.setattr(requests.Session, "request", real)
    # The mapping step keeps the rows (the intake does not unmap silently) and marks them withheld.
    mapping = owner.get(f"/connections/{conn.id}/wizard/mapping").get_data(as_text=True)
    assert 'id="withheld-contacts-phone"' in mapping and 'id="withheld-contacts-company_name"' in mapping
    assert 'id="withheld-contacts-email"' not in mapping

    assert asked and not any("phone" in a or '"company' in a or ",company" in a for a in asked), asked[:2]
    leads = db.session.scalars(sa.select(CrmLead).where(CrmLead.connection_id == conn.id)).all()
    assert leads and all(lead.phone is None and lead.company_name is None for lead in leads)
    assert any(lead.email for lead in leads)  # the rest of the mapping still flows
    payloads = db.session.scalars(sa.select(IntegrationRawEvent.payload).where(
        IntegrationRawEvent.connection_id == conn.id)).all()
    assert len(payloads) == run.seen and all(not {"phone", "company"} & set(p) for p in payloads)
    assert all("email" in p for p in payloads)

    secrets = _provider_values(sandbox, "phone") | _provider_values(sandbox, "company")
    assert len(secrets) > 100  # the provider does hold them
    stored = " ".join([json.dumps(p) for p in payloads] + [json.dumps(s) for s in db.session.scalars(
        sa.select(IntegrationNormalizedEvent.summary).where(IntegrationNormalizedEvent.connection_id == conn.id))]
        + [f"{e.message} {e.value}" for e in db.session.scalars(sa.select(IntegrationSyncError).where(
            IntegrationSyncError.connection_id == conn.id))])
    logged = caplog.text
    assert not [v for v in secrets if v in stored or v in logged]


def test_a_withheld_field_is_left_out_of_the_archive(app):
    from console.retention.run import _Sensitive

    conn = factories.connection(factories.client("Archive"))
    conn.withheld_fields, conn.masked_fields = ["Phone", "tax_id"], ["Email"]
    db.session.commit()
    assert {"phone", "tax_id", "email"} <= _Sensitive().of(conn.id)
    other = factories.connection(factories.client("Other archive"))
    db.session.commit()
    assert not {"phone", "tax_id", "email"} & _Sensitive().of(other.id)  # per connection


def test_fields_that_never_enter_logs_are_synced_but_kept_out_of_raw_events_and_errors(login, sandbox, caplog):
    owner = login("owner")
    conn = factories.hubspot_connection(sandbox.url, sandbox.token)
    conn.owner_user_id = owner.user.id
    job = ensure_job(conn, "contacts", enabled=True)
    db.session.commit()
    owner.hx_post(f"/connections/{conn.id}/intake/answers/sensitive", {"sensitive": "email\nlastname"})
    db.session.refresh(conn)
    assert conn.masked_fields == ["email", "lastname"] and conn.withheld_fields is None
    caplog.set_level(logging.DEBUG)
    run = start_run(job, "manual")
    execute(run, client_options={"backoff_base": 0.01, "timeout": 2.0})
    db.session.refresh(run)
    assert run.seen == 250 and run.failed > 0  # the sandbox's invalid emails fail their records
    leads = db.session.scalars(sa.select(CrmLead).where(CrmLead.connection_id == conn.id)).all()
    assert sum(1 for lead in leads if lead.email) > 200 and sum(1 for lead in leads if lead.last_name) > 200  # synced
    payloads = db.session.scalars(sa.select(IntegrationRawEvent.payload).where(
        IntegrationRawEvent.connection_id == conn.id)).all()
    assert len(payloads) == 250 and not any({"email", "lastname"} & set(p) for p in payloads)
    assert all("firstname" in p for p in payloads)
    errors = db.session.scalars(sa.select(IntegrationSyncError).where(IntegrationSyncError.connection_id == conn.id,
                                                                      IntegrationSyncError.field == "email")).all()
    assert errors and all(e.value == "[sensitive: hidden]" for e in errors)
    emails = _provider_values(sandbox, "email")
    assert len(emails) > 200 and not [v for v in emails if v in caplog.text]
    mapping = owner.get(f"/connections/{conn.id}/wizard/mapping").get_data(as_text=True)
    assert 'id="masked-contacts-email"' in mapping and 'id="masked-contacts-phone"' not in mapping
