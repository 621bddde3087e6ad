"""The rest of a client's CRM model, end to end against the sandbox: the mapping step offers products, line
items, tickets and the portal's custom objects (read from /crm/v3/schemas); a custom object with 10,000
records syncs with its own fields and its associations, reconciles to 0, and its changes arrive
incrementally; line items sync with their deals. Every stored value is compared with the sandbox portal's
own records by rules written here, not by the console's mapper."""
from __future__ import annotations

import time
from datetime import UTC, datetime
from decimal import Decimal

import sqlalchemy as sa

from console.extensions import db
from console.models import CrmAssociation, CrmLead, IntegrationFieldMapping, IntegrationObjectType, IntegrationSyncJob
from console.sandbox import SandboxConfig, SandboxServer
from console.sandbox.schema import PROPERTIES
from console.sync.inbound.runner import ensure_job
from console.sync.proof import reconcile

from .. import factories
from ..reporting import sync
from .test_associations import api

BOOKINGS = "2-7351"
TEXT, NUMBER, DATE, PICK = "text", "number", "date", "picklist"
# How the sandbox's booking properties come over the API, and so how each is stored (rules of this test)
BOOKING_FIELDS = {"booking_ref": TEXT, "check_in": DATE, "nights": NUMBER, "room_type": PICK,
                  "booking_status": PICK, "total": NUMBER, "guest_email": TEXT, "deposit_paid_on": TEXT}


def _expected_value(kind: str, value, options: dict):
    if value in (None, ""):
        return None
    if kind == NUMBER:
        return str(Decimal(str(value)).quantize(Decimal("0.01")))
    if kind == DATE:  # the API shows a date property as YYYY-MM-DD: midnight UTC
        day = datetime.fromtimestamp(int(value) / 1000, UTC).date() if str(value).isdigit() else value
        return f"{day}T00:00:00"
    if kind == PICK:  # the default enum table maps each option to its label
        return options[value]
    return str(value).strip()


def expected_bookings(portal) -> dict[str, dict]:
    options = {p["name"]: {o["value"]: o["label"] for o in p.get("options", [])} for p in PROPERTIES["bookings"]}
    return {str(rid): {name: _expected_value(kind, rec.props.get(name), options.get(name, {}))
                       for name, kind in BOOKING_FIELDS.items()}
            for rid, rec in portal.records["bookings"].items() if not rec.archived}


def stored_attributes(connection_id: int, object_type: str) -> dict[str, dict]:
    db.session.commit()  # a fresh snapshot
    return {ext: {k: v for k, v in (attrs or {}).items() if k in BOOKING_FIELDS}
            for ext, attrs in db.session.execute(sa.select(CrmLead.external_id, CrmLead.attributes).where(
                CrmLead.connection_id == connection_id, CrmLead.object_type == object_type,
                CrmLead.archived.is_(False)))}


def stored_links(connection_id: int, from_type: str) -> set[tuple]:
    db.session.commit()
    t = CrmAssociation
    return {tuple(r) for r in db.session.execute(sa.select(t.from_id, t.to_id, t.type_id, t.label).where(
        t.connection_id == connection_id, t.from_type == from_type))}


def expected_links(portal, src: str, labels: dict[int, str], default_type: int) -> set[tuple]:
    out = set()
    for rid, targets in portal.edges.get((src, "contacts" if src == "bookings" else "deals"), {}).items():
        for to in targets:
            out.add((str(rid), str(to), default_type, None))
            for label in portal.labelled.get((src, "contacts", rid, to), ()):
                out.add((str(rid), str(to), label, labels[label]))
    return out


def test_a_custom_object_chosen_in_the_wizard_syncs_all_its_records_and_reconciles_to_zero(app, login):
    with SandboxServer(SandboxConfig(contacts=400, companies=10, deals=20, seed=5, limits=False, bookings=10_000)) as sb:
        portal = sb.state.portal
        admin = login("admin")
        conn = factories.hubspot_connection(sb.url, sb.token)
        contacts = ensure_job(conn, "contacts")
        contacts.enabled, contacts.depends_on = True, None
        db.session.commit()

        page = admin.get(f"/connections/{conn.id}/wizard/mapping").get_data(as_text=True)
        assert "More objects" in page and "Bookings" in page and "Custom object bookings" in page
        assert "associated with contacts" in page and "Line items" in page

        resp = admin.hx_post(f"/connections/{conn.id}/wizard/mapping/objects",
                             {"sync": [BOOKINGS, "line_items"], f"minutes::{BOOKINGS}": "30",
                              "minutes::line_items": "60"})
        assert resp.status_code == 200 and "More objects saved" in resp.get_data(as_text=True)
        kept = db.session.scalar(sa.select(IntegrationObjectType).where(IntegrationObjectType.connection_id == conn.id))
        assert (kept.object_type, kept.plural, kept.primary_property, kept.associations) == \
            (BOOKINGS, "Bookings", "booking_ref", ["contacts"])
        job = db.session.scalar(sa.select(IntegrationSyncJob).where(
            IntegrationSyncJob.connection_id == conn.id, IntegrationSyncJob.object_type == BOOKINGS))
        assert job.enabled and job.direction == "in" and job.schedule_seconds == 1800
        targets = set(db.session.scalars(sa.select(IntegrationFieldMapping.target_field).where(
            IntegrationFieldMapping.connection_id == conn.id, IntegrationFieldMapping.object_type == BOOKINGS)))
        assert {f"f.{n}" for n in BOOKING_FIELDS} <= targets and "provider_updated_at" in targets

        # The mapping step shows the object's own fields, with the inferred type of a text field that holds dates
        page = admin.get(f"/connections/{conn.id}/wizard/mapping").get_data(as_text=True)
        assert "Bookings → records" in page and "Deposit paid on" in page and 'id="inferred-2-7351-deposit_paid_on"' in page

        assert sync(contacts, "backfill").status in ("succeeded", "partial")  # the seed holds bad emails
        run = sync(job, "backfill")
        assert run.status == "succeeded", run.error_message
        assert (run.seen, run.created, run.failed) == (10_000, 10_000, 0)
        want = expected_bookings(portal)
        assert stored_attributes(conn.id, BOOKINGS) == want  # every record, every field, by value
        labels = {7: "Primary booker", 8: "Guest"}
        assert stored_links(conn.id, BOOKINGS) == expected_links(portal, "bookings", labels, 1001)
        assert run.links_added == len(expected_links(portal, "bookings", labels, 1001))

        row = reconcile.execute(reconcile.queue(conn, BOOKINGS, "test", own=True).id, "test")
        assert row.differences == 0 and row.provider_active == 10_000, row.counts

        # Changes in HubSpot, among them a date retyped and a guest added: they arrive incrementally
        ids = sorted(portal.records["bookings"])
        for n, rid in enumerate(ids[::997]):
            api(sb, "PATCH", f"/crm/v3/objects/{BOOKINGS}/{rid}",
                {"properties": {"nights": str(n + 1), "deposit_paid_on": "2026-01-0" + str(n % 9 + 1)}})
        guest = portal.ids["contacts"][-1]
        api(sb, "PUT", f"/crm/v4/objects/{BOOKINGS}/{ids[1]}/associations/default/contacts/{guest}")
        api(sb, "PATCH", f"/crm/v3/objects/{BOOKINGS}/{ids[1]}", {"properties": {"room_type": "suite"}})
        time.sleep(0.01)
        run = sync(job)
        assert run.status == "succeeded" and run.updated == len(ids[::997]) + 1, (run.seen, run.updated)
        assert stored_attributes(conn.id, BOOKINGS) == expected_bookings(portal)
        assert stored_links(conn.id, BOOKINGS) == expected_links(portal, "bookings", labels, 1001)

        # A value edited behind the console's back is found by the value-by-value comparison, and repaired
        lead = db.session.scalar(sa.select(CrmLead).where(CrmLead.connection_id == conn.id,
                                                          CrmLead.external_id == str(ids[5])))
        lead.attributes = {**lead.attributes, "total": "1.00"}
        db.session.commit()
        row = reconcile.execute(reconcile.queue(conn, BOOKINGS, "test", own=True).id, "test")
        assert row.value_drift == 1 and row.differences == 1
        row = reconcile.execute(reconcile.queue(conn, BOOKINGS, "test", repair=True, own=True).id, "test")
        assert stored_attributes(conn.id, BOOKINGS) == expected_bookings(portal)


def test_line_items_sync_with_their_deals_and_products(app):
    with SandboxServer(SandboxConfig(contacts=300, companies=10, deals=260, seed=8, limits=False, bookings=0)) as sb:
        portal = sb.state.portal
        conn = factories.hubspot_connection(sb.url, sb.token)
        jobs = {}
        for object_type in ("deals", "products", "line_items"):
            jobs[object_type] = ensure_job(conn, object_type)
            jobs[object_type].depends_on = None
        db.session.commit()
        for object_type, job in jobs.items():
            run = sync(job, "backfill")
            assert run.status == "succeeded" and run.failed == 0, (object_type, run.error_message)
        assert len(portal.ids["line_items"]) > 200  # more than one page
        db.session.commit()
        items = {ext: attrs for ext, attrs in db.session.execute(sa.select(CrmLead.external_id, CrmLead.attributes).where(
            CrmLead.connection_id == conn.id, CrmLead.object_type == "line_items"))}
        for rid, rec in portal.records["line_items"].items():
            q, price = Decimal(rec.props["quantity"]), Decimal(rec.props["price"])
            assert items[str(rid)]["hs_product_id"] == str(rec.props["hs_product_id"])
            assert Decimal(items[str(rid)]["amount"]) == (q * price).quantize(Decimal("0.01"))
        assert len(items) == len(portal.records["line_items"])
        links = {(f, t) for f, t, type_id, _ in stored_links(conn.id, "line_items") if type_id == 20}
        assert links == {(str(rid), str(deal)) for rid, deals in portal.edges[("line_items", "deals")].items()
                         for deal in deals}
        for object_type in jobs:
            row = reconcile.execute(reconcile.queue(conn, object_type, "test", own=True).id, "test")
            assert row.differences == 0, (object_type, row.ids)
