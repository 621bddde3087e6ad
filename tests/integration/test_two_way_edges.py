"""Two-way edges (issue 33) over real HTTP against the sandbox: a console edit reverted to its base value
withdraws the waiting change, so an edit made in HubSpot meanwhile is kept (D2); a contact the console
created without an email, matched on our id, syncs back instead of failing `required_missing` (D4)."""
from __future__ import annotations

import requests
import sqlalchemy as sa

from console.extensions import db
from console.models import CrmLead, CrmLeadChange, IntegrationSyncError
from console.sync.outbound.changes import placeholder_id, record_change
from console.sync.outbound.pusher import CONSOLE_ID_PROPERTY

from .test_two_way import contact, lead_for, push, setup, sync, valid_ids


def test_a_reverted_console_edit_never_overwrites_a_hubspot_edit(portal, login):
    conn, job = setup(portal, {"lead_status": {"direction": "both", "system_of_record": "console"}})
    ext = valid_ids(portal, conn, 1)[0]
    lead = lead_for(conn, ext)
    base = lead.lead_status
    other = "Bad Timing" if base != "Bad Timing" else "Connected"
    ops = login("ops")
    assert ops.hx_post(f"/leads/{lead.id}/correct", {"field": "lead_status", "value": other}).status_code == 200
    back = ops.hx_post(f"/leads/{lead.id}/correct", {"field": "lead_status", "value": base})
    assert back.status_code == 200 and "withdrawn" in back.get_data(as_text=True)
    db.session.expire_all()
    assert [c.status for c in db.session.scalars(sa.select(CrmLeadChange).where(CrmLeadChange.lead_id == lead.id))] \
        == ["withdrawn"]
    # Meanwhile someone sets the status in HubSpot.
    wanted = "CONNECTED" if base != "Connected" else "BAD_TIMING"
    patched = requests.patch(f"{portal.url}/crm/v3/objects/contacts/{ext}", timeout=10,
                             headers={"Authorization": f"Bearer {portal.token}"},
                             json={"properties": {"hs_lead_status": wanted}})
    assert patched.status_code == 200, patched.text
    run = push(job)
    assert run.seen == 0  # nothing waits: the console has nothing to write
    assert contact(portal, ext).props["hs_lead_status"] == wanted  # HubSpot's edit stands
    sync(job)
    db.session.expire_all()
    assert lead_for(conn, ext).lead_status.upper().replace(" ", "_") == wanted  # and reaches the console


def test_a_contact_created_here_without_an_email_syncs_back_by_our_id(portal):
    conn, job = setup(portal, {"first_name": {"direction": "both"}})
    job.match_on = f"email,{CONSOLE_ID_PROPERTY}"
    db.session.commit()
    from console.sync.provider import open_session

    open_session(conn, timeout=10.0).define_property("contacts", CONSOLE_ID_PROPERTY, "Connector Console id", unique=True)
    walk_in = CrmLead(client_id=conn.client_id, connection_id=conn.id, object_type="contacts",
                      external_id=placeholder_id(), source_label="Front desk", email=None)
    db.session.add(walk_in)
    db.session.flush()
    record_change(walk_in, "first_name", "Walk", "lead_page")
    db.session.commit()
    pushed = push(job)
    assert (pushed.created, pushed.failed) == (1, 0), pushed.outcomes
    db.session.expire_all()
    created = db.session.get(CrmLead, walk_in.id).external_id
    assert not created.startswith("console:") and not contact(portal, created).props.get("email")
    back = sync(job)
    db.session.expire_all()
    errors = db.session.scalars(sa.select(IntegrationSyncError).where(IntegrationSyncError.external_id == created)).all()
    assert errors == [], [e.message for e in errors]  # it used to fail required_missing on every run
    lead = db.session.get(CrmLead, walk_in.id)
    assert lead.first_name == "Walk" and lead.email is None and not lead.archived
    assert back.seen >= 1 and back.failed == 0 and back.status == "succeeded"
