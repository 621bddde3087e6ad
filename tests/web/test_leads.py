"""The lead page: staff find a lead and correct its two-way fields (validated as the CRM's values would be,
audited, queued for the outbound push); bad input changes nothing; an owner corrects only leads of the
connections they own; conflicts are listed and ops apply the other value once."""
from __future__ import annotations

import sqlalchemy as sa

from console.extensions import db
from console.models import (
    CrmLead,
    CrmLeadChange,
    CrmSyncConflict,
    EventAdminAction,
    IntegrationEnumMapping,
    IntegrationFieldMapping,
    IntegrationSyncJob,
)

from .. import factories


def two_way(direction: str = "both"):
    conn = factories.connection(factories.client("Harbour Physio"))
    db.session.add(IntegrationSyncJob(connection_id=conn.id, object_type="contacts", direction=direction))
    rules = [("email", "email", "email", "both", True), ("hs_lead_status", "lead_status", "enum", "both", False),
             ("phone", "phone", "phone_e164", "out", False), ("lastname", "last_name", "trim", "in", False),
             ("hubspot_owner_id", "owner_name", "owner_name", "both", False)]
    for pos, (source, target, transform, way, required) in enumerate(rules):
        db.session.add(IntegrationFieldMapping(connection_id=conn.id, object_type="contacts", source_field=source,
                                               target_field=target, transform=transform, direction=way,
                                               required=required, position=pos,
                                               transform_args={"region": "CA"} if transform == "phone_e164" else {}))
    for value, label in (("NEW", "New"), ("CONNECTED", "Connected")):
        db.session.add(IntegrationEnumMapping(connection_id=conn.id, object_type="contacts", source_field="hs_lead_status",
                                              source_value=value, target_value=label))
    lead = CrmLead(client_id=conn.client_id, connection_id=conn.id, object_type="contacts", external_id="1001",
                   source_label="CRM", email="ann@example.org", lead_status="New", last_name="Lee")
    db.session.add(lead)
    db.session.commit()
    return conn, lead


def changes() -> list[tuple[str, str | None, str | None, str]]:
    return [(c.field, c.value, c.base_value, c.status) for c in db.session.scalars(sa.select(CrmLeadChange))]


def test_ops_corrects_two_way_fields_and_bad_input_changes_nothing(login):
    conn, lead = two_way()
    ops = login("ops")
    page = ops.get(f"/leads/{lead.id}").get_data(as_text=True)
    assert "Save lead status" in page and "Save phone" in page and "Save email" in page
    assert "Save last name" not in page  # inbound only: the next sync would overwrite it
    assert "Save owner name" not in page  # mapped through a lossy transform: never written back
    found = ops.get("/leads?q=ann@").get_data(as_text=True)
    assert f"/leads/{lead.id}" in found

    resp = ops.hx_post(f"/leads/{lead.id}/correct", {"field": "lead_status", "value": "Connected"})
    assert resp.status_code == 200 and "written to the CRM on the next outbound push" in resp.get_data(as_text=True)
    resp = ops.hx_post(f"/leads/{lead.id}/correct", {"field": "phone", "value": "(514) 555-0123"})
    assert resp.status_code == 200
    db.session.refresh(lead)
    assert (lead.lead_status, lead.phone) == ("Connected", "+15145550123")
    assert sorted(changes()) == [("lead_status", "Connected", "New", "pending"), ("phone", "+15145550123", None, "pending")]

    for field, value, words in (("email", "not-an-email", "Not a valid email"), ("lead_status", "Promoted", "no provider value"),
                                ("email", "", "Email is required"), ("last_name", "Smith", "not written back"),
                                ("owner_name", "Someone", "not written back"), ("email", "x" * 600, "too long"),
                                ("nonsense", "1", "not written back")):
        resp = ops.hx_post(f"/leads/{lead.id}/correct", {"field": field, "value": value})
        assert resp.status_code == 422 and words in resp.get_data(as_text=True), (field, value)
    db.session.expire_all()
    assert (lead.email, lead.last_name, lead.lead_status) == ("ann@example.org", "Lee", "Connected")
    assert len(changes()) == 2
    actions = db.session.scalars(sa.select(EventAdminAction.action)).all()
    assert actions.count("lead.corrected") == 2

    again = ops.hx_post(f"/leads/{lead.id}/correct", {"field": "lead_status", "value": "New"})
    assert again.status_code == 200 and "waiting change was withdrawn" in again.get_data(as_text=True)
    # back at its base: the change is withdrawn, not pushed (issue 33, D2)
    assert ("lead_status", "New", "New", "withdrawn") in changes()


def test_an_owner_corrects_only_their_own_connections_leads_and_clients_never(login):
    conn, lead = two_way()
    owner = login("owner")
    assert owner.get(f"/leads/{lead.id}").status_code == 200
    assert owner.hx_post(f"/leads/{lead.id}/correct", {"field": "lead_status", "value": "Connected"}).status_code == 403
    conn.owner_user_id = owner.user.id
    db.session.commit()
    assert owner.hx_post(f"/leads/{lead.id}/correct", {"field": "lead_status", "value": "Connected"}).status_code == 200
    client = login("client", conn.client)
    assert client.get(f"/leads/{lead.id}").status_code == 404
    assert client.post(f"/leads/{lead.id}/correct", {"field": "lead_status", "value": "New"}).status_code == 404
    no_csrf = owner.client.post(f"/leads/{lead.id}/correct", data={"field": "lead_status", "value": "New"})
    assert no_csrf.status_code == 400
    db.session.expire_all()
    assert lead.lead_status == "Connected"


def test_an_inbound_only_object_offers_no_correction(login):
    conn, lead = two_way(direction="in")
    ops = login("ops")
    page = ops.get(f"/leads/{lead.id}").get_data(as_text=True)
    assert "writes none of this record" in page
    assert ops.hx_post(f"/leads/{lead.id}/correct", {"field": "lead_status", "value": "Connected"}).status_code == 422


def test_ops_apply_the_losing_value_of_a_conflict_once(login):
    conn, lead = two_way()
    conflict = CrmSyncConflict(connection_id=conn.id, object_type="contacts", lead_id=lead.id, field="lead_status",
                               console_value="New", provider_value="Connected", winner="console")
    db.session.add(conflict)
    db.session.commit()
    owner = login("owner")
    listing = owner.get(f"/leads/conflicts?connection_id={conn.id}").get_data(as_text=True)
    assert "Connected" in listing and "apply-other" not in listing
    assert owner.post(f"/leads/conflicts/{conflict.id}/apply-other").status_code == 403
    ops = login("ops")
    resp = ops.hx_post(f"/leads/conflicts/{conflict.id}/apply-other")
    assert resp.status_code == 200 and "The other value is on the lead" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert lead.lead_status == "Connected" and conflict.overridden_at is not None
    assert ("lead_status", "Connected", "New", "pending") in changes()
    twice = ops.hx_post(f"/leads/conflicts/{conflict.id}/apply-other")
    assert twice.status_code == 422 and "already" in twice.get_data(as_text=True)


def test_ops_replay_a_dead_lettered_change(login):
    conn, lead = two_way()
    change = CrmLeadChange(connection_id=conn.id, object_type="contacts", lead_id=lead.id, field="lead_status",
                           value="Connected", base_value="New", origin="lead_page", status="dead_letter", attempts=5,
                           note="the record no longer exists in the CRM")
    db.session.add(change)
    db.session.commit()
    owner = login("owner")
    assert owner.post(f"/leads/changes/{change.id}/replay").status_code == 403
    ops = login("ops")
    assert "Replay" in ops.get(f"/leads/{lead.id}").get_data(as_text=True)
    resp = ops.hx_post(f"/leads/changes/{change.id}/replay")
    assert resp.status_code == 200 and "again on the next outbound push" in resp.get_data(as_text=True)
    db.session.refresh(change)
    assert (change.status, change.attempts) == ("pending", 0)
    assert ops.hx_post(f"/leads/changes/{change.id}/replay").status_code == 422


def test_associating_a_lead_with_its_company(login):
    from console.models import CrmLeadLink

    conn, lead = two_way()
    company = CrmLead(client_id=conn.client_id, connection_id=conn.id, object_type="companies", external_id="2000001",
                      source_label="CRM", company_name="Harbour Physio", domain="harbour.example")
    other = CrmLead(client_id=conn.client_id, connection_id=conn.id, object_type="contacts", external_id="1002",
                    source_label="CRM", email="bo@example.org")
    db.session.add_all([company, other])
    db.session.commit()
    ops = login("ops")
    for target, words in (("", "Name the other record"), ("#999999", "No record"), ("bo@example.org", "cannot be associated"),
                          (f"#{lead.id}", "No record")):
        resp = ops.hx_post(f"/leads/{lead.id}/associate", {"target": target})
        assert resp.status_code == 422 and words in resp.get_data(as_text=True), target
    resp = ops.hx_post(f"/leads/{lead.id}/associate", {"target": "2000001", "label": "Billing contact"})
    assert resp.status_code == 200 and "next outbound push" in resp.get_data(as_text=True)
    assert "Billing contact" in ops.get(f"/leads/{lead.id}").get_data(as_text=True)
    again = ops.hx_post(f"/leads/{lead.id}/associate", {"target": f"#{company.id}", "label": "Billing contact"})
    assert again.status_code == 422 and "already" in again.get_data(as_text=True)
    links = db.session.scalars(sa.select(CrmLeadLink)).all()
    assert [(link.from_lead_id, link.to_lead_id, link.label, link.status) for link in links] == [
        (lead.id, company.id, "Billing contact", "pending")]
    assert "lead.associated" in db.session.scalars(sa.select(EventAdminAction.action)).all()
    assert login("owner").hx_post(f"/leads/{lead.id}/associate", {"target": "2000001"}).status_code == 403
