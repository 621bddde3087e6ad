"""Two-way sync in the launch wizard, through its routes against the sandbox: the mapping step sets an
object's direction and a field's direction, system of record and condition (refusing what cannot be
written back), the access step shows the topology, the test step's outbound dry run shows per record
what would be written and writes nothing, and the gate wants a passing dry run for every pushing object."""
from __future__ import annotations

import sqlalchemy as sa

from console.extensions import db
from console.models import CrmLead, IntegrationFieldMapping, IntegrationSyncJob, IntegrationSyncRun
from console.sync.outbound.changes import placeholder_id, record_change
from console.wizard import readiness

from ..wizard_flow import access, account, new_connection, run_queued_test_batches, token_and_check

EMAIL = "dry.run@example.org"


def field(owner, conn, name: str, source: str, transform: str, **flow):
    return owner.hx_post(f"/connections/{conn.id}/wizard/mapping/contacts/{name}",
                         {"source": source, "transform": transform, **flow})


def test_topology_flows_and_the_outbound_dry_run_gate(login, sandbox):
    owner = login("owner")
    conn = new_connection(owner)
    access(owner, conn)
    account(owner, conn, sandbox)
    token_and_check(owner, conn, sandbox.token)
    saved = owner.hx_post(f"/connections/{conn.id}/wizard/mapping/jobs", {
        "contacts": "y", "contacts_minutes": 15, "companies_minutes": 60, "deals_minutes": 15,
        "contacts_direction": "both", "companies_direction": "in", "deals_direction": "in"})
    assert saved.status_code == 200
    job = db.session.scalar(sa.select(IntegrationSyncJob).where(IntegrationSyncJob.connection_id == conn.id))
    assert job.direction == "both"

    ok = field(owner, conn, "lead_status", "hs_lead_status", "enum", direction="both", system_of_record="console")
    assert ok.status_code == 200, ok.get_data(as_text=True)
    lossy = field(owner, conn, "owner_name", "hubspot_owner_id", "owner_name", direction="both")
    assert lossy.status_code == 422 and "cannot be written back" in lossy.get_data(as_text=True)
    computed = field(owner, conn, "next_activity_at", "notes_next_activity_date", "datetime_utc", direction="out")
    assert computed.status_code == 422 and "computes" in computed.get_data(as_text=True)
    inbound_condition = field(owner, conn, "phone", "phone", "phone_e164", direction="in", condition="if_empty")
    assert inbound_condition.status_code == 422
    assert field(owner, conn, "phone", "phone", "phone_e164", direction="out", condition="if_empty",
                 sensitive="y").status_code == 200
    db.session.commit()
    rows = {r.target_field: r for r in db.session.scalars(sa.select(IntegrationFieldMapping).where(
        IntegrationFieldMapping.connection_id == conn.id))}
    assert (rows["lead_status"].direction, rows["lead_status"].system_of_record) == ("both", "console")
    assert (rows["phone"].direction, rows["phone"].condition) == ("out", "if_empty")
    assert rows["owner_name"].direction == "in"  # the refused save changed nothing

    topology = owner.get(f"/connections/{conn.id}/wizard/access").get_data(as_text=True)
    line = topology.split('id="topology"')[1].split("</ul>")[0]
    assert "Contacts: both ways." in line and "Lead status (the console is the system of record)" in line
    assert "Phone (only if empty in HubSpot CRM)" in line and "HubSpot CRM → console: Email" in line

    assert any("no outbound dry run yet" in p for p in readiness.missing_by_object(conn).get("Contacts", []))
    page = owner.get(f"/connections/{conn.id}/wizard/test").get_data(as_text=True)
    assert 'id="outbound-dry-run-contacts"' in page

    lead = CrmLead(client_id=conn.client_id, connection_id=conn.id, object_type="contacts",
                   external_id=placeholder_id(), source_label="Event sign-ups", email=EMAIL)
    db.session.add(lead)
    db.session.flush()
    record_change(lead, "lead_status", "Connected", "csv_import")
    record_change(lead, "phone", "+15145550111", "csv_import")
    db.session.commit()
    queued = owner.hx_post(f"/connections/{conn.id}/wizard/test/outbound/contacts")
    assert queued.status_code == 200 and "Outbound dry run" in queued.get_data(as_text=True)
    run_queued_test_batches()
    run = db.session.scalar(sa.select(IntegrationSyncRun).where(IntegrationSyncRun.connection_id == conn.id,
                                                                IntegrationSyncRun.kind == "outbound"))
    db.session.refresh(run)
    assert (run.status, run.dry_run, run.seen, run.created, run.failed) == ("succeeded", True, 1, 1, 0)
    outcome = run.outcomes[0][2]
    assert "hs_lead_status='CONNECTED'" in outcome and "phone=" in outcome  # the exact properties
    assert "5550111" not in outcome  # a sensitive value is never shown
    assert not any(r.props.get("email") == EMAIL for r in sandbox.state.portal.all_active("contacts"))  # nothing written
    status = owner.get(f"/connections/{conn.id}/wizard/test/runs/{run.id}").get_data(as_text=True)
    assert "Passed" in status and "hs_lead_status=&#39;CONNECTED&#39;" in status
    assert not any("outbound" in p for p in readiness.missing_by_object(conn).get("Contacts", []))

    client = login("client", conn.client)
    assert client.post(f"/connections/{conn.id}/wizard/test/outbound/contacts").status_code == 404
    ops_user = login("ops")
    assert ops_user.hx_post(f"/connections/{conn.id}/wizard/test/outbound/deals").status_code == 404
