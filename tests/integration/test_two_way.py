"""Two-way sync over real HTTP against the sandbox: console-side changes written to HubSpot in batches,
ID write-back, echoes of our own writes recognised (no lead event, no second write), conflicts settled by
the system of record and kept, conditions checked from one batch read and counted."""
from __future__ import annotations

import requests
import sqlalchemy as sa

from console.choices import ChangeStatus
from console.extensions import db
from console.models import (
    CrmLead,
    CrmLeadChange,
    CrmLeadEvent,
    CrmSyncConflict,
    CrmWriteLedger,
    IntegrationFieldMapping,
    IntegrationSyncRun,
)
from console.sync.inbound.runner import ensure_job, execute, start_run
from console.sync.outbound.changes import placeholder_id, record_change
from console.sync.outbound.push import execute_push, start_push
from console.sync.outbound.pusher import Pusher

from .. import factories

FAST = {"backoff_base": 0.01, "timeout": 5.0}



def setup(sb, fields: dict[str, dict]):
    """A connection whose contacts sync both ways, after a first complete sync; `fields` sets each
    named target's direction, system of record and condition."""
    conn = factories.hubspot_connection(sb.url, sb.token)
    job = ensure_job(conn, "contacts")
    job.depends_on, job.direction = None, "both"
    db.session.commit()
    sync(job, "backfill")
    for target, settings in fields.items():
        row = db.session.scalar(sa.select(IntegrationFieldMapping).where(
            IntegrationFieldMapping.connection_id == conn.id, IntegrationFieldMapping.target_field == target))
        for key, value in settings.items():
            setattr(row, key, value)
    db.session.commit()
    return conn, job


def sync(job, kind: str = "manual") -> IntegrationSyncRun:
    run = start_run(job, kind)
    execute(run, client_options=FAST)
    db.session.refresh(run)
    assert run.buckets_balance and run.status in ("succeeded", "partial"), (run.status, run.error_message)
    return run


def push(job, dry_run: bool = False) -> IntegrationSyncRun:
    run = start_push(job, dry_run=dry_run)
    execute_push(run, client_options=FAST)
    db.session.refresh(run)
    assert run.buckets_balance and run.status in ("succeeded", "partial"), (run.status, run.error_message)
    return run


def lead_for(conn, external_id: str) -> CrmLead:
    return db.session.scalar(sa.select(CrmLead).where(CrmLead.connection_id == conn.id,
                                                      CrmLead.external_id == external_id))


def contact(sb, external_id: str):
    return sb.state.portal.records["contacts"][int(external_id)]


def valid_ids(sb, conn, n: int) -> list[str]:
    """Contacts stored as leads (their source values mapped), oldest first."""
    return db.session.scalars(sa.select(CrmLead.external_id).where(
        CrmLead.connection_id == conn.id, ~CrmLead.external_id.like("console:%")).order_by(CrmLead.id).limit(n)).all()


def writes(sb) -> int:
    """Batch write calls the sandbox has answered (update and upsert), counted on its side."""
    return sum(n for (method, path), n in sb.state.requests.items() if method == "POST" and (
        path.endswith("/batch/update") or path.endswith("/batch/upsert")))


def events(lead_id: int, kind: str | None = None) -> list[CrmLeadEvent]:
    query = sa.select(CrmLeadEvent).where(CrmLeadEvent.lead_id == lead_id)
    if kind:
        query = query.where(CrmLeadEvent.kind == kind)
    return db.session.scalars(query.order_by(CrmLeadEvent.id)).all()


def test_a_correction_on_the_lead_page_reaches_hubspot_and_its_echo_changes_nothing(portal, login):
    conn, job = setup(portal, {"lead_status": {"direction": "both", "system_of_record": "console"}})
    ext = valid_ids(portal, conn, 1)[0]
    lead = lead_for(conn, ext)
    new = "Bad Timing" if lead.lead_status != "Bad Timing" else "Connected"
    saved = login("ops").hx_post(f"/leads/{lead.id}/correct", {"field": "lead_status", "value": new})
    assert saved.status_code == 200, saved.get_data(as_text=True)
    db.session.refresh(lead)

    before = writes(portal)
    run = push(job)
    assert (run.seen, run.updated, run.failed) == (1, 1, 0)
    assert writes(portal) - before == 1
    assert contact(portal, ext).props["hs_lead_status"] == new.upper().replace(" ", "_")
    ledger = db.session.scalars(sa.select(CrmWriteLedger).where(CrmWriteLedger.external_id == ext)).all()
    assert [row.property for row in ledger] == ["hs_lead_status"]
    assert db.session.scalar(sa.select(CrmLeadChange.status)) == ChangeStatus.WRITTEN.value

    tracked = len(events(lead.id))
    back = sync(job)  # the incremental read meets our write: the version it produced
    outcome = {o[0]: o for o in (back.outcomes or [])}
    assert back.updated == 0 and back.created == 0, outcome
    db.session.refresh(lead)
    assert lead.lead_status == new
    assert len(events(lead.id)) == tracked  # no lead event for our own echo
    again = push(job)
    assert again.seen == 0 and writes(portal) - before == 1  # and nothing to write back


def test_ten_cycles_of_edits_on_both_sides_write_exactly_the_real_changes(portal):
    conn, job = setup(portal, {"lead_status": {"direction": "both", "system_of_record": "console"},
                               "lifecycle_stage": {"direction": "both", "system_of_record": "provider"}})
    ours, theirs = valid_ids(portal, conn, 2)
    lead, other = lead_for(conn, ours), lead_for(conn, theirs)
    statuses = ["New", "Open", "In Progress", "Open Deal", "Unqualified", "Attempted To Contact", "Connected",
                "Bad Timing"]
    stages = ["subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity", "customer"]
    start, lifecycle_events = writes(portal), len(events(other.id, "lifecycle_changed"))
    real_console, real_hubspot = 0, 0
    for cycle in range(10):
        value = next(s for s in statuses[cycle % 8:] + statuses if s != lead.lead_status)
        record_change(lead, "lead_status", value, "lead_page")
        db.session.commit()
        real_console += 1
        stage = next(s for s in stages[cycle % 6:] + stages if s != contact(portal, theirs).props.get("lifecyclestage"))
        portal.state.portal.update("contacts", contact(portal, theirs), {"lifecyclestage": stage})  # a person, in HubSpot
        real_hubspot += 1
        out = push(job)
        assert (out.updated, out.failed) == (1, 0), out.outcomes
        back = sync(job)
        assert back.updated == 1, back.outcomes  # the other contact's real change; ours came back as an echo
        db.session.refresh(lead)
        db.session.refresh(other)
        assert lead.lead_status == value
        assert contact(portal, ours).props["hs_lead_status"] == value.upper().replace(" ", "_")
    assert writes(portal) - start == real_console  # one write per real console change, zero for echoes
    assert len(events(other.id, "lifecycle_changed")) - lifecycle_events == real_hubspot
    assert [e.kind for e in events(lead.id) if e.kind not in ("created", "corrected")] == []  # none from echoes
    final = push(job)
    assert final.seen == 0 and writes(portal) - start == real_console


def test_a_field_changed_on_both_sides_goes_to_its_system_of_record_and_is_kept(portal):
    conn, job = setup(portal, {"lead_status": {"direction": "both", "system_of_record": "console"},
                               "lifecycle_stage": {"direction": "both", "system_of_record": "provider"}})
    ext = valid_ids(portal, conn, 1)[0]
    lead = lead_for(conn, ext)
    base_status, base_stage = lead.lead_status, lead.lifecycle_stage
    ours_status, ours_stage = next(s for s in ("Connected", "Open") if s != base_status), \
        next(s for s in ("Evangelist", "Other") if s != base_stage)
    theirs_status = next(s for s in ("Unqualified", "Bad Timing") if s != base_status)
    theirs_stage = next(s for s in ("Customer", "Opportunity") if s != base_stage)
    record_change(lead, "lead_status", ours_status, "lead_page")
    record_change(lead, "lifecycle_stage", ours_stage, "lead_page")
    db.session.commit()
    rec = contact(portal, ext)
    portal.state.portal.update("contacts", rec, {"hs_lead_status": theirs_status.upper().replace(" ", "_"),
                                                 "lifecyclestage": theirs_stage.lower()})

    run = push(job)
    assert (run.updated, run.failed) == (1, 0)
    assert rec.props["hs_lead_status"] == ours_status.upper().replace(" ", "_")  # the console owns lead status
    assert rec.props["lifecyclestage"] == theirs_stage.lower()  # HubSpot owns the lifecycle stage: kept
    db.session.refresh(lead)
    assert (lead.lead_status, lead.lifecycle_stage) == (ours_status, theirs_stage)
    conflicts = {c.field: c for c in db.session.scalars(sa.select(CrmSyncConflict))}
    assert set(conflicts) == {"lead_status", "lifecycle_stage"}
    assert (conflicts["lead_status"].winner, conflicts["lead_status"].console_value,
            conflicts["lead_status"].provider_value) == ("console", ours_status, theirs_status)
    assert (conflicts["lifecycle_stage"].winner, conflicts["lifecycle_stage"].console_value,
            conflicts["lifecycle_stage"].provider_value) == ("provider", ours_stage, theirs_stage)
    assert all(c.provider_at is not None and c.console_at is not None for c in conflicts.values())
    statuses = dict(db.session.execute(sa.select(CrmLeadChange.field, CrmLeadChange.status)).all())
    assert statuses == {"lead_status": "written", "lifecycle_stage": "superseded"}


def test_conditions_are_checked_from_one_read_and_their_skips_counted(portal):
    conn, job = setup(portal, {"phone": {"direction": "out", "condition": "if_empty"},
                               "first_name": {"direction": "out", "condition": "not_newer"}})
    leads = [lead_for(conn, x) for x in valid_ids(portal, conn, 4)]
    held, empty, stale, fresh = leads
    contact(portal, held.external_id).props["phone"] = "+1 514 555 0100"
    contact(portal, empty.external_id).props.pop("phone", None)
    record_change(held, "phone", "+15145550199", "lead_page")
    record_change(empty, "phone", "+15145550198", "lead_page")
    record_change(stale, "first_name", "Console", "lead_page")
    record_change(fresh, "first_name", "Console", "lead_page")
    db.session.commit()
    portal.state.portal.update("contacts", contact(portal, stale.external_id), {"firstname": "Newer In HubSpot"})

    reads_before = portal.state.requests.get(("POST", "/crm/v3/objects/contacts/batch/read"), 0)
    run = push(job)
    assert portal.state.requests.get(("POST", "/crm/v3/objects/contacts/batch/read"), 0) - reads_before == 1
    assert (run.seen, run.updated, run.skipped, run.failed) == (4, 2, 2, 0)
    assert contact(portal, held.external_id).props["phone"] == "+1 514 555 0100"
    assert contact(portal, empty.external_id).props["phone"] == "+15145550198"
    assert contact(portal, stale.external_id).props["firstname"] == "Newer In HubSpot"
    assert contact(portal, fresh.external_id).props["firstname"] == "Console"
    notes = dict(db.session.execute(sa.select(CrmLeadChange.lead_id, CrmLeadChange.note)).all())
    assert "only if empty" in notes[held.id] and "newer" in notes[stale.id]


def test_a_console_created_lead_gets_hubspot_s_id_and_is_then_updated_never_duplicated(portal, monkeypatch):
    conn, job = setup(portal, {"first_name": {"direction": "both"}, "last_name": {"direction": "both"}})
    lead = CrmLead(client_id=conn.client_id, connection_id=conn.id, object_type="contacts",
                   external_id=placeholder_id(), source_label="Sign-up list", email="new.person@example.org")
    db.session.add(lead)
    db.session.flush()
    record_change(lead, "first_name", "Nova", "csv_import")
    record_change(lead, "last_name", "Person", "csv_import")
    db.session.commit()

    # The first push dies after HubSpot created the contact, before our commit (the write-back is lost)
    group = Pusher.group

    def dies_after_the_write(self, lead_ids):
        group(self, lead_ids)
        raise RuntimeError("killed mid-write")

    monkeypatch.setattr(Pusher, "group", dies_after_the_write)
    run = start_push(job)
    execute_push(run, client_options=FAST)
    monkeypatch.undo()
    db.session.refresh(run)
    assert run.status == "failed"
    assert len([r for r in portal.state.portal.all_active("contacts")
                if r.props.get("email") == "new.person@example.org"]) == 1
    assert lead_for(conn, lead.external_id) is not None  # still the placeholder: the write-back never landed

    run = push(job)  # the resume upserts on the email: the same contact, not a second one
    assert (run.seen, run.failed) == (1, 0)
    matches = [r for r in portal.state.portal.all_active("contacts") if r.props.get("email") == "new.person@example.org"]
    assert len(matches) == 1 and matches[0].props["firstname"] == "Nova"
    db.session.refresh(lead)
    assert lead.external_id == str(matches[0].id)  # ID write-back

    record_change(lead, "first_name", "Nora", "lead_page")
    db.session.commit()
    push(job)
    matches = [r for r in portal.state.portal.all_active("contacts") if r.props.get("email") == "new.person@example.org"]
    assert len(matches) == 1 and matches[0].props["firstname"] == "Nora"
    back = sync(job)
    assert back.created == 0  # the inbound sync finds the lead it already holds


def test_a_csv_import_into_two_way_contacts_arrives_in_hubspot_without_duplicates(portal, login):
    import io

    from werkzeug.datastructures import FileStorage
    from werkzeug.test import encode_multipart

    from console.models import CsvImport

    from ..wizard_flow import run_queued_test_batches

    conn, job = setup(portal, {"first_name": {"direction": "both"}, "lead_status": {"direction": "both"}})
    known = lead_for(conn, valid_ids(portal, conn, 1)[0])
    rows = "Email,First Name,Lead Status\r\n" + f"{known.email.upper()},Known,Connected\r\n" + \
        "fresh.signup@example.org,Fresh,New\r\n" + "not-an-email,Bad,New\r\n"
    ops = login("ops")
    boundary, body = encode_multipart({"file": FileStorage(io.BytesIO(rows.encode()), "signups.csv"),
                                       "object_type": "contacts", "csrf_token": ops.token})
    assert ops.client.post(f"/connections/{conn.id}/imports/", data=body, content_type=f"multipart/form-data; "
                           f"boundary={boundary}", headers={"HX-Request": "true", "X-CSRFToken": ops.token}).status_code == 204
    imp = db.session.scalar(sa.select(CsvImport).order_by(CsvImport.id.desc()))
    ops.hx_post(f"/connections/{conn.id}/imports/{imp.id}/mapping", {
        "id_column": "Email", "field::email": "Email", "field::first_name": "First Name",
        "field::lead_status": "Lead Status"})
    assert ops.hx_post(f"/connections/{conn.id}/imports/{imp.id}/run").status_code == 200
    run_queued_test_batches()
    run = db.session.get(IntegrationSyncRun, db.session.scalar(sa.select(CsvImport.run_id).where(CsvImport.id == imp.id)))
    assert (run.seen, run.created, run.updated, run.failed) == (3, 1, 1, 1) and run.buckets_balance
    assert lead_for(conn, known.external_id).first_name == "Known"  # matched on email, whatever its case
    contacts_before = len(portal.state.portal.all_active("contacts"))

    out = push(job)
    assert (out.seen, out.created, out.updated, out.failed) == (2, 1, 1, 0)
    assert contact(portal, known.external_id).props["firstname"] == "Known"
    assert contact(portal, known.external_id).props["hs_lead_status"] == "CONNECTED"
    fresh = [r for r in portal.state.portal.all_active("contacts") if r.props.get("email") == "fresh.signup@example.org"]
    assert len(fresh) == 1 and fresh[0].props["firstname"] == "Fresh" and fresh[0].props["hs_lead_status"] == "NEW"
    assert len(portal.state.portal.all_active("contacts")) == contacts_before + 1
    assert lead_for(conn, str(fresh[0].id)).email == "fresh.signup@example.org"  # the CRM's id, written back
    back = sync(job)
    assert back.created == 0 and back.updated == 0  # both writes come back as our own echoes


def test_deals_upsert_on_the_id_property_the_wizard_creates(portal, login):
    conn = factories.hubspot_connection(portal.url, portal.token)
    job = ensure_job(conn, "deals")
    job.depends_on, job.direction, job.enabled = None, "out", True
    db.session.commit()
    sync(job, "backfill")  # the default mappings
    row = db.session.scalar(sa.select(IntegrationFieldMapping).where(
        IntegrationFieldMapping.connection_id == conn.id, IntegrationFieldMapping.target_field == "deal_name"))
    row.direction = "out"
    deal = CrmLead(client_id=conn.client_id, connection_id=conn.id, object_type="deals", external_id=placeholder_id(),
                   source_label="Proposals")
    db.session.add(deal)
    db.session.flush()
    record_change(deal, "deal_name", "Clinic expansion", "lead_page")
    db.session.commit()

    refused = start_push(job)
    execute_push(refused, client_options=FAST)
    db.session.refresh(refused)
    assert (refused.status, refused.seen, refused.failed) == ("partial", 1, 1)  # this record cannot be matched yet
    assert "connector_console_id" in refused.outcomes[0][2] and "mapping step" in refused.outcomes[0][2]

    admin = login("admin")
    page = admin.get(f"/connections/{conn.id}/wizard/mapping").get_data(as_text=True)
    assert 'id="create-id-property-deals"' in page and "crm.schemas.deals.write" in page
    created = admin.hx_post(f"/connections/{conn.id}/wizard/mapping/deals/id-property")
    assert created.status_code == 200 and "now exists" in created.get_data(as_text=True)
    listed = requests.get(f"{portal.url}/crm/v3/properties/deals", headers={"Authorization": f"Bearer {portal.token}"},
                          timeout=5).json()["results"]
    assert "connector_console_id" in {p["name"] for p in listed}

    for _ in range(2):  # the second push finds nothing left to write
        run = push(job)
    db.session.refresh(deal)
    made = [r for r in portal.state.portal.all_active("deals") if r.props.get("connector_console_id") == str(deal.id)]
    assert len(made) == 1 and made[0].props["dealname"] == "Clinic expansion"
    assert deal.external_id == str(made[0].id) and run.seen == 0


def test_associations_with_labels_go_out_after_the_records_they_join(portal):
    from console.models import CrmLeadLink
    from console.sync.outbound.changes import record_link

    conn = factories.hubspot_connection(portal.url, portal.token)
    jobs = {}
    for object_type in ("companies", "contacts", "deals"):
        job = ensure_job(conn, object_type)
        job.depends_on, job.direction, job.enabled = None, "both", True
        jobs[object_type] = job
    db.session.commit()
    portal.state.portal.create("deals", {"dealname": "Clinic fit-out", "dealstage": "appointmentscheduled",
                                         "pipeline": "default", "amount": "2400"})
    for object_type in ("companies", "contacts", "deals"):
        sync(jobs[object_type], "backfill")
    for row in db.session.scalars(sa.select(IntegrationFieldMapping).where(
            IntegrationFieldMapping.connection_id == conn.id,
            IntegrationFieldMapping.target_field.in_(["company_name", "first_name"]))):
        row.direction = "both"
    company = CrmLead(client_id=conn.client_id, connection_id=conn.id, object_type="companies",
                      external_id=placeholder_id(), source_label="Sign-ups", domain="harbourwest.example")
    person = CrmLead(client_id=conn.client_id, connection_id=conn.id, object_type="contacts",
                     external_id=placeholder_id(), source_label="Sign-ups", email="new.billing@example.org")
    deal = db.session.scalar(sa.select(CrmLead).where(CrmLead.connection_id == conn.id, CrmLead.object_type == "deals")
                             .order_by(CrmLead.id).limit(1))
    db.session.add_all([company, person])
    db.session.flush()
    record_change(company, "company_name", "Harbour Physio West", "lead_page")
    record_change(person, "first_name", "Billie", "lead_page")
    record_link(person, company, "Billing contact")
    record_link(person, company, "Imaginary label")
    record_link(deal, person)  # the default association
    db.session.commit()

    # Out of dependency order on purpose: deals and contacts before their company exists in HubSpot.
    early = push(jobs["deals"])
    assert (early.seen, early.skipped, early.created) == (1, 1, 0)  # its contact is not in HubSpot yet: it waits
    first = push(jobs["contacts"])
    assert (first.seen, first.created, first.skipped) == (3, 1, 2)  # the person; both of its links wait
    assert all(link.status == "pending" and "waiting for companies" in link.note for link in db.session.scalars(
        sa.select(CrmLeadLink).where(CrmLeadLink.to_lead_id == company.id)))
    made = push(jobs["companies"])
    assert (made.seen, made.created, made.failed) == (1, 1, 0)
    db.session.refresh(company)
    db.session.refresh(person)
    hub_company = portal.state.portal.records["companies"][int(company.external_id)]
    assert hub_company.props["domain"] == "harbourwest.example" and hub_company.props["name"] == "Harbour Physio West"

    links = push(jobs["contacts"])  # now the person's links go out; the unknown label fails alone
    assert (links.seen, links.created, links.failed) == (2, 1, 1)
    contact_company = portal.state.portal.contact_company.get(int(person.external_id))
    assert contact_company == hub_company.id
    labels = portal.state.portal.labelled[("contacts", "companies", int(person.external_id), hub_company.id)]
    assert labels == {1}  # "Billing contact"
    failed = db.session.scalar(sa.select(CrmLeadLink).where(CrmLeadLink.label == "Imaginary label"))
    assert failed.status == "failed" and "no association label" in failed.note
    reply = requests.get(f"{portal.url}/crm/v4/objects/contacts/{person.external_id}/associations/companies",
                         headers={"Authorization": f"Bearer {portal.token}"}, timeout=5).json()
    assert {t.get("label") for r in reply["results"] for t in r["associationTypes"]} == {None, "Billing contact"}

    late = push(jobs["deals"])
    assert (late.seen, late.created) == (1, 1)
    assert int(person.external_id) in portal.state.portal.deal_contacts[int(deal.external_id)]


def test_an_email_hubspot_holds_invalid_is_corrected_from_its_sync_error(portal, login):
    from console.models import IntegrationSyncError

    conn, job = setup(portal, {"email": {"direction": "both"}})
    err = db.session.scalar(sa.select(IntegrationSyncError).where(
        IntegrationSyncError.connection_id == conn.id, IntegrationSyncError.code == "invalid_email").limit(1))
    assert err is not None and lead_for(conn, err.external_id) is None  # the record failed: no lead to correct
    ops = login("ops")
    assert 'id="fix-at-source"' in ops.get(f"/ops/errors/{err.id}").get_data(as_text=True)
    bad = ops.hx_post(f"/leads/errors/{err.id}/correct", {"value": "still not an email"})
    assert bad.status_code == 422 and "Not a valid email" in bad.get_data(as_text=True)
    assert login("owner").hx_post(f"/leads/errors/{err.id}/correct", {"value": "x@example.org"}).status_code == 403
    fixed = ops.hx_post(f"/leads/errors/{err.id}/correct", {"value": "Fixed.Address@Example.org"})
    assert fixed.status_code == 200, fixed.get_data(as_text=True)

    out = push(job)
    assert (out.seen, out.updated, out.failed) == (1, 1, 0)
    assert contact(portal, err.external_id).props["email"] == "fixed.address@example.org"
    back = sync(job)
    assert back.created == 1  # the record maps now: the console holds it at last
    db.session.refresh(err)
    assert err.status == "resolved" and lead_for(conn, err.external_id).email == "fixed.address@example.org"


def test_the_intakes_matching_rules_become_the_upsert_keys_email_else_our_id(portal, login):
    """"Contacts matched on email, fallback to external id": typed in the intake, pre-filled in the jobs
    form, saved, and obeyed by the push: a known email updates HubSpot's contact, a new one creates it, and
    a lead without an email is created and matched on our id instead of failing."""
    import re

    conn, job = setup(portal, {"first_name": {"direction": "both"}})
    admin = login("admin")
    conn.owner_user_id = admin.user.id
    db.session.commit()
    known = lead_for(conn, valid_ids(portal, conn, 1)[0])

    def lead(email: str | None, first: str) -> CrmLead:
        row = CrmLead(client_id=conn.client_id, connection_id=conn.id, object_type="contacts",
                      external_id=placeholder_id(), source_label="Front desk", email=email)
        db.session.add(row)
        db.session.flush()
        record_change(row, "first_name", first, "lead_page")
        return row

    walk_in = lead(None, "Walk")
    db.session.commit()
    refused = push(job)  # the usual key: a contact without an email cannot be created
    assert (refused.seen, refused.failed) == (1, 1) and "needs its email" in refused.outcomes[0][2]

    admin.hx_post(f"/connections/{conn.id}/intake/answers/matching",
                  {"matching": "Contacts matched on email, fallback to external_id. Companies on domain."})
    page = admin.get(f"/connections/{conn.id}/wizard/mapping").get_data(as_text=True)
    chosen = re.search(r'<select[^>]*name="contacts_match"[^>]*>(.*?)</select>', page, re.S).group(1)
    # Match keys decide what is written to the CRM: proposed, applied by a person's "Use this" (issue 32).
    assert 'selected value="email"' in chosen and 'id="use-match-contacts"' in page
    used = admin.hx_post(f"/connections/{conn.id}/wizard/mapping/proposal", {"use": "match:contacts"})
    assert used.status_code == 200 and "new records are matched on email, else our id" in used.get_data(as_text=True)
    saved = admin.hx_post(f"/connections/{conn.id}/wizard/mapping/jobs", {
        "contacts": "y", "contacts_minutes": "15", "contacts_direction": "both", "contacts_after": "",
        "contacts_match": "email,connector_console_id", "companies_minutes": "60", "deals_minutes": "15"})
    assert saved.status_code == 200
    db.session.refresh(job)
    assert job.match_on == "email,connector_console_id"
    design = admin.get(f"/connections/{conn.id}/design").get_data(as_text=True)
    assert "matched in HubSpot CRM on email, else our id" in design, re.findall(r"<li>[^<]*</li>", design)

    # Our id needs its property in HubSpot: until it exists the lead still cannot be matched, and says why.
    again = push(job)
    assert again.failed == 1 and "connector_console_id" in again.outcomes[0][2]
    assert admin.hx_post(f"/connections/{conn.id}/wizard/mapping/contacts/id-property").status_code == 200

    returning = lead(known.email.upper(), "Returning")
    fresh = lead("first.visit@example.org", "First")
    db.session.commit()
    before, calls = len(portal.state.portal.all_active("contacts")), writes(portal)
    run = push(job)
    assert (run.seen, run.created, run.updated, run.failed) == (3, 2, 1, 0), run.outcomes
    assert writes(portal) - calls == 2  # one upsert on email, one on our id
    assert len(portal.state.portal.all_active("contacts")) == before + 2
    assert contact(portal, known.external_id).props["firstname"] == "Returning"  # matched, not duplicated
    made = [r for r in portal.state.portal.all_active("contacts") if r.props.get("connector_console_id") == str(walk_in.id)]
    assert len(made) == 1 and made[0].props["firstname"] == "Walk" and not made[0].props.get("email")
    db.session.expire_all()
    assert db.session.get(CrmLead, walk_in.id).external_id == str(made[0].id)
    first = [r for r in portal.state.portal.all_active("contacts") if r.props.get("email") == "first.visit@example.org"]
    assert len(first) == 1 and db.session.get(CrmLead, fresh.id).external_id == str(first[0].id)
    assert db.session.get(CrmLead, returning.id) is None  # folded into the lead the inbound sync already held
    assert push(job).seen == 0  # nothing left: a second push writes nothing
    back = sync(job)
    assert back.created == 0


def test_a_push_whose_job_was_taken_over_commits_nothing_and_the_holder_finishes_it(portal):
    from console.sync.runs.lease import JOB_LEASE

    conn, job = setup(portal, {"first_name": {"direction": "both"}})
    lead = lead_for(conn, valid_ids(portal, conn, 1)[0])
    record_change(lead, "first_name", "Late", "lead_page")
    db.session.commit()
    assert JOB_LEASE.claim([job.id], "the-new-holder") == [job.id]
    stale = start_push(job, worker="a-stalled-holder")
    execute_push(stale, client_options=FAST, leased=True)  # it still believes it holds the job
    db.session.refresh(stale)
    assert stale.status == "failed" and "took this job over" in stale.error_message
    change = db.session.scalar(sa.select(CrmLeadChange).where(CrmLeadChange.lead_id == lead.id))
    assert change.status == ChangeStatus.PENDING.value and change.run_id is None  # nothing of the group committed
    fresh = start_push(job, worker="the-new-holder")
    execute_push(fresh, client_options=FAST, leased=True)
    db.session.refresh(change)
    assert change.status == ChangeStatus.WRITTEN.value and contact(portal, lead.external_id).props["firstname"] == "Late"


def test_an_association_removed_in_hubspot_stays_removed_until_a_person_asks_again(portal, login):
    """The provider wins an association's removal, as it wins a field it owns: the console reads it back
    (no echo: nothing is queued by reading our own write), drops it when a person removes it in HubSpot, and
    never writes it back by itself. Asked again on the lead page, it goes out again; before this it was
    refused as "associated already", although HubSpot no longer held it."""
    from console.models import CrmAssociation, CrmLeadLink
    from console.sync.outbound.changes import held

    conn = factories.hubspot_connection(portal.url, portal.token)
    jobs = {}
    for object_type in ("companies", "contacts"):
        job = ensure_job(conn, object_type)
        job.depends_on, job.direction, job.enabled = None, "both", True
        jobs[object_type] = job
    db.session.commit()
    for object_type in ("companies", "contacts"):
        sync(jobs[object_type], "backfill")
    hub = portal.state.portal
    person_id = next(c for c in hub.ids["contacts"] if c not in hub.contact_company)
    person = lead_for(conn, str(person_id))
    company = lead_for(conn, str(hub.ids["companies"][3]))
    ops = login("ops")

    def ask() -> int:  # the lead page's associate form, as a person sends it
        return ops.hx_post(f"/leads/{person.id}/associate", {"target": f"#{company.id}", "label": ""}).status_code

    assert ask() == 200
    pushed = push(jobs["contacts"])
    assert (pushed.created, pushed.failed) == (1, 0) and hub.contact_company[person_id] == company_external(company)
    read = full_read(jobs["contacts"])  # our own write, read back (an association touches neither record)
    link = db.session.scalar(sa.select(CrmLeadLink).where(CrmLeadLink.from_lead_id == person.id))
    assert link.status == "written" and held(link, person, company)
    assert read.links_added == 1 and db.session.scalar(sa.select(sa.func.count()).select_from(CrmLeadLink).where(
        CrmLeadLink.status == "pending")) == 0  # no echo: reading our write queued nothing
    assert ask() == 422  # associated already, and HubSpot holds it

    # A person removes it in HubSpot: the mirror follows, and no push writes it back.
    requests.delete(f"{portal.url}/crm/v4/objects/contacts/{person_id}/associations/companies/"
                    f"{company_external(company)}", headers={"Authorization": f"Bearer {portal.token}"}, timeout=5)
    full_read(jobs["contacts"])
    assert not held(link, person, company) and db.session.scalar(sa.select(sa.func.count()).select_from(
        CrmAssociation).where(CrmAssociation.from_id == str(person_id))) == 0
    quiet = push(jobs["contacts"])
    assert quiet.created == 0 and person_id not in hub.contact_company

    # A person on the console asks again: it goes out again.
    assert ask() == 200
    db.session.refresh(link)
    assert link.status == "pending" and "not held by the CRM as last read" in link.note
    again = push(jobs["contacts"])
    assert again.created == 1 and hub.contact_company[person_id] == company_external(company)


def full_read(job) -> IntegrationSyncRun:
    """A manual run over every record (a reconcile's repair or a full run reads associations an incremental
    run cannot see: changing one touches neither record's modification time)."""
    run = start_run(job, "manual")
    execute(run, full=True, client_options=FAST)
    db.session.refresh(run)
    assert run.status in ("succeeded", "partial") and run.seen > 0, (run.status, run.error_message)
    return run


def company_external(company: CrmLead) -> int:
    db.session.refresh(company)
    return int(company.external_id)
