"""The rest of a client's CRM model, end to end against the sandbox: the mapping step offers products, line
items, tickets and the portal's custom objects (read from /crm/v3/schemas); a custom object with 10,000
records syncs with its own fields and its associations, reconciles to 0, and its changes arrive
incrementally; line items sync with their deals. Every stored value is compared with the sandbox portal's
own records by rules written here, not by the console's mapper."""
from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from decimal import Decimal

import sqlalchemy as sa

from console.extensions import db
from console.metrics.baselines import active
from console.metrics.cards import build_cards
from console.metrics.snapshots import record_snapshots
from console.models import (
    CrmAssociation,
    CrmLead,
    IntegrationFieldMapping,
    IntegrationObjectType,
    IntegrationSyncError,
    IntegrationSyncJob,
    MetricSnapshot,
)
from console.models.base import utcnow
from console.sandbox import SandboxConfig, SandboxServer
from console.sandbox.schema import PROPERTIES
from console.sync.inbound.runner import ensure_job
from console.sync.proof import reconcile
from console.wizard import readiness

from .. import factories, wizard_flow
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
    """A custom object's associations to contacts as the portal holds them: the default type and each label."""
    out = set()
    for rid, targets in portal.edges.get((src, "contacts"), {}).items():
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

        # A test batch of bookings (a dry run: nothing stored), from the test step's list of objects
        assert ">Bookings</option>" in admin.get(f"/connections/{conn.id}/wizard/test").get_data(as_text=True)
        batch = wizard_flow.passing_test_batch(admin, conn, BOOKINGS, 150)
        assert (batch.object_type, batch.status, batch.seen, batch.failed) == (BOOKINGS, "succeeded", 150, 0)
        assert stored_attributes(conn.id, BOOKINGS) == {}

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
        assert row.differences == 0 and row.provider_active == 10_000, row.ids

        # The gate asks for a baseline of the bookings on record: the first complete sync gave it
        state = next(s for s in readiness.objects(conn) if s.object_type == BOOKINGS)
        assert state.label == "Bookings" and [m.key for m in state.metrics] == [f"records-{BOOKINGS}"]
        assert not state.missing_metrics and active(conn.id)[f"records-{BOOKINGS}"].value == 10_000
        conn.status, conn.went_live_at, conn.client_visible = "live", utcnow(), True
        db.session.commit()
        client_user = login("client", conn.client)
        seen = client_user.get("/portal/").get_data(as_text=True)
        assert "Bookings on record" in seen and "<td>10,000</td>" in seen
        chart = client_user.get(f"/portal/connections/{conn.id}/charts/records-{BOOKINGS}.svg")
        assert chart.status_code == 200 and chart.mimetype == "image/svg+xml"
        for other in ("records-contacts_", "records-2-999", "records-" + "x" * 5000):
            assert client_user.get(f"/portal/connections/{conn.id}/charts/{other}.svg").status_code == 404

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

        # The text field that holds dates: its editor proposes reading it as dates; kept inbound only
        path = f"/connections/{conn.id}/wizard/mapping/{BOOKINGS}/f.deposit_paid_on"
        editor = admin.get(f"{path}/edit").get_data(as_text=True)
        assert re.search(r'<option selected value="deposit_paid_on">★ Deposit paid on .*looks like a date in 98 of 100', editor)
        assert "looks like a date in 98 of 100 values fits a text field through “datetime_utc”" in editor
        form = {"source": "deposit_paid_on", "transform": "datetime_utc", "direction": "both",
                "system_of_record": "provider", "condition": ""}
        refused = admin.hx_post(path, form)
        assert refused.status_code == 422 and "read from the CRM only" in refused.get_data(as_text=True)
        assert admin.hx_post(path, {**form, "direction": "in"}).status_code == 200
        row = reconcile.execute(reconcile.queue(conn, BOOKINGS, "test", repair=True, own=True).id, "test")
        attrs = stored_attributes(conn.id, BOOKINGS)
        unpaid = {ext for ext, props in expected_bookings(portal).items() if props["deposit_paid_on"] == "unpaid"}
        for ext, props in expected_bookings(portal).items():
            if ext not in unpaid:  # the dates as dates now; "unpaid" is no date: those records fail, and say so
                assert attrs[ext]["deposit_paid_on"] == props["deposit_paid_on"] + "T00:00:00", ext
        failing = set(db.session.scalars(sa.select(IntegrationSyncError.external_id).where(
            IntegrationSyncError.connection_id == conn.id, IntegrationSyncError.object_type == BOOKINGS,
            IntegrationSyncError.code == "invalid_date")))
        assert failing == unpaid and len(unpaid) > 150
        row = reconcile.execute(reconcile.queue(conn, BOOKINGS, "test", own=True).id, "test")
        assert row.differences == 0 and row.failing == len(unpaid), row.ids


def test_line_items_sync_with_their_deals_and_products_and_the_client_sees_value_by_product(app, login):
    with SandboxServer(SandboxConfig(contacts=300, companies=10, deals=260, seed=8, limits=False, bookings=0,
                                     products=14)) as sb:
        portal = sb.state.portal
        conn = factories.hubspot_connection(sb.url, sb.token)
        conn.status = "live"
        jobs = {}
        for object_type in ("contacts", "companies", "deals", "products", "line_items", "tickets"):
            jobs[object_type] = ensure_job(conn, object_type, enabled=True)
            jobs[object_type].depends_on = None
        db.session.commit()
        for object_type, job in jobs.items():
            run = sync(job, "backfill")
            assert run.status in ("succeeded", "partial"), (object_type, run.error_message)
            assert run.failed == 0 or object_type == "contacts", object_type  # the seed holds bad emails
        assert len(portal.ids["line_items"]) > 200  # more than one page
        db.session.commit()
        items: dict[str, dict] = {ext: attrs for ext, attrs in db.session.execute(  # noqa: C416 - rows, not pairs
            sa.select(CrmLead.external_id, CrmLead.attributes).where(
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
        # Tickets, with their status and priority labels from the default enum tables, and their contacts
        tickets = {ext: attrs for ext, attrs in db.session.execute(  # noqa: C416 - rows, not pairs
            sa.select(CrmLead.external_id, CrmLead.attributes).where(
                CrmLead.connection_id == conn.id, CrmLead.object_type == "tickets"))}
        stages = {"1": "New", "2": "Waiting on contact", "3": "Waiting on us", "4": "Closed"}
        assert len(tickets) == len(portal.records["tickets"]) == 30
        for rid, rec in portal.records["tickets"].items():
            assert tickets[str(rid)]["subject"] == rec.props["subject"]
            assert tickets[str(rid)]["hs_pipeline_stage"] == stages[rec.props["hs_pipeline_stage"]]
        links = {(f, t) for f, t, type_id, _ in stored_links(conn.id, "tickets") if type_id == 16}
        assert links == {(str(rid), str(c)) for rid, cs in portal.edges[("tickets", "contacts")].items() for c in cs}

        # The client metric over them: line-item value by product, computed here from the portal's own records
        by_product: dict[str, tuple[int, Decimal]] = {}
        for rec in portal.records["line_items"].values():
            name = portal.records["products"][int(rec.props["hs_product_id"])].props["name"]
            n, value = by_product.get(name, (0, Decimal(0)))
            by_product[name] = (n + 1, value + (Decimal(rec.props["quantity"]) * Decimal(rec.props["price"])))
        record_snapshots(conn)
        snap = db.session.scalars(sa.select(MetricSnapshot).where(
            MetricSnapshot.connection_id == conn.id, MetricSnapshot.metric_key == "product_value")
            .order_by(MetricSnapshot.id.desc())).first()
        assert snap.value == sum((v for _, v in by_product.values()), Decimal(0)).quantize(Decimal("0.01"))
        rows = {r["label"]: (r["count"], Decimal(r["amount"])) for r in snap.breakdown["rows"]}
        top = sorted(by_product.items(), key=lambda kv: (-kv[1][1], -kv[1][0], kv[0]))
        assert len(top) > 10 and f"{len(top) - 10} other products" in rows  # more products than rows
        for name, (n, value) in top[:10]:
            assert rows[name] == (n, value.quantize(Decimal("0.01"))), name
        card = next(c for c in build_cards(conn) if c.metric.key == "product_value")
        assert card.current == snap.value and card.rows[0]["label"] == top[0][0]
        state = next(s for s in readiness.objects(conn) if s.object_type == "line_items")
        assert "product_value" in {m.key for m in state.metrics}  # the gate asks for its baseline

        # Staff read a line item's own fields on its record page; a field mapped as sensitive is not shown
        price = db.session.scalar(sa.select(IntegrationFieldMapping).where(
            IntegrationFieldMapping.connection_id == conn.id, IntegrationFieldMapping.object_type == "line_items",
            IntegrationFieldMapping.target_field == "f.price"))
        price.sensitive = True
        db.session.commit()
        rid = next(iter(portal.records["line_items"]))
        item = db.session.scalar(sa.select(CrmLead).where(CrmLead.connection_id == conn.id,
                                                          CrmLead.external_id == str(rid)))
        page = login("ops").get(f"/leads/{item.id}").get_data(as_text=True)
        assert f"Line item #{item.id}" in page and f"<dt>Net price</dt><dd>{item.attributes['amount']}</dd>" in page
        assert "<dt>Unit price</dt>" not in page and "<dt>Quantity</dt>" in page


def test_ticket_changes_and_their_associations_arrive_through_webhooks(app, live_server):
    from console.models import EventWebhookEvent
    from console.webhooks import normalize
    from console.webhooks.ingest import forget_secrets

    from .test_associations import _delivered

    forget_secrets()
    with SandboxServer(SandboxConfig(contacts=200, companies=10, deals=5, seed=44, limits=False, bookings=0)) as sb:
        portal = sb.state.portal
        conn = factories.hubspot_connection(sb.url, sb.token)
        conn.status = "live"
        conn.account.set_secret("webhook_secret", sb.state.auth.oauth_app.client_secret)
        jobs = {t: ensure_job(conn, t, enabled=True) for t in ("contacts", "tickets")}
        for job in jobs.values():
            job.depends_on = None
        db.session.commit()
        for job in jobs.values():
            sync(job, "backfill")
        api(sb, "PUT", "/_sandbox/webhooks", {"url": f"{live_server}/webhooks/hubspot", "version": "v3",
                                              "subscriptions": ["ticket.propertyChange", "ticket.associationChange"]})
        ticket = portal.ids["tickets"][3]
        api(sb, "PATCH", f"/crm/v3/objects/tickets/{ticket}", {"properties": {"subject": "Printer on fire",
                                                                              "hs_pipeline_stage": "4"}})
        other = next(c for c in portal.ids["contacts"] if c not in portal.edges[("tickets", "contacts")][ticket])
        api(sb, "PUT", f"/crm/v4/objects/tickets/{ticket}/associations/default/contacts/{other}")
        _delivered(sb)
        assert db.session.scalar(sa.select(sa.func.count()).select_from(EventWebhookEvent)) >= 2
        while normalize.process_due(200):
            pass
        db.session.commit()
        assert {e.status for e in db.session.scalars(sa.select(EventWebhookEvent))} == {"normalized"}
        lead = db.session.scalar(sa.select(CrmLead).where(CrmLead.connection_id == conn.id,
                                                          CrmLead.external_id == str(ticket)))
        assert (lead.attributes["subject"], lead.attributes["hs_pipeline_stage"]) == ("Printer on fire", "Closed")
        links = {(f, t) for f, t, type_id, _ in stored_links(conn.id, "tickets") if type_id == 16}
        assert links == {(str(rid), str(c)) for rid, cs in portal.edges[("tickets", "contacts")].items() for c in cs}
        assert (str(ticket), str(other)) in links
    forget_secrets()
