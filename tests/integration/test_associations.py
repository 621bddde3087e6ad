"""Associations in: every sync of contacts and deals reads their associations (v4 batch reads, labels
included) and keeps them in crm_associations; added, relabelled and removed associations arrive through
the incremental sync (with the records they changed along with) and through associationChange webhooks
(when only the association changed, which HubSpot does not mark on either record). Each check compares the
stored rows with the sandbox portal's own association state, read from its memory, not through the API."""
from __future__ import annotations

import time

import pytest
import requests
import sqlalchemy as sa

from console.extensions import db
from console.models import CrmAssociation, EventWebhookEvent, IntegrationSyncRun
from console.sandbox import SandboxConfig, SandboxServer
from console.sandbox.links import ASSOC_TYPES, LABELS
from console.sync.inbound.runner import ensure_job
from console.webhooks import normalize
from console.webhooks.ingest import forget_secrets

from .. import factories
from ..reporting import FAST, sync

Row = tuple[str, str, str, str, str, int, str | None]


def expected(portal) -> set[Row]:
    """Every association the portal holds between active records, in the direction the sync reads it."""
    many = {("contacts", "companies"): {c: [co] for c, co in portal.contact_company.items()},
            ("deals", "contacts"): portal.deal_contacts, ("deals", "companies"): portal.deal_companies}
    out: set[Row] = set()
    for (src, dst), by_id in many.items():
        for rid, targets in by_id.items():
            if portal.get(src, rid) is None:
                continue
            for to in targets:
                if portal.get(dst, to) is None:
                    continue
                out.add((src, str(rid), dst, str(to), "HUBSPOT_DEFINED", ASSOC_TYPES[(src, dst)], None))
                for label in portal.labelled.get((src, dst, rid, to), ()):
                    out.add((src, str(rid), dst, str(to), "USER_DEFINED", label, LABELS[(src, dst)][label]))
    return out


def stored(connection_id: int) -> set[Row]:
    db.session.commit()  # a fresh snapshot: a live server's threads write on their own connections
    t = CrmAssociation
    return {tuple(r) for r in db.session.execute(sa.select(  # type: ignore[misc]
        t.from_type, t.from_id, t.to_type, t.to_id, t.category, t.type_id, t.label).where(t.connection_id == connection_id))}


def api(sb, method: str, path: str, body=None) -> requests.Response:
    resp = requests.request(method, f"{sb.url}{path}", json=body, timeout=10,
                            headers={"Authorization": f"Bearer {sb.token}"})
    resp.raise_for_status()
    return resp


def touch(sb, object_type: str, rid: int) -> None:
    """Change the record itself, so the incremental sync reads it (and its associations) again."""
    field = {"contacts": "jobtitle", "deals": "dealname"}[object_type]
    api(sb, "PATCH", f"/crm/v3/objects/{object_type}/{rid}", {"properties": {field: f"changed {time.time_ns()}"}})


def connected(sb):
    conn = factories.hubspot_connection(sb.url, sb.token)
    jobs = {}
    for object_type in ("companies", "contacts", "deals"):
        jobs[object_type] = ensure_job(conn, object_type)
        jobs[object_type].depends_on = None
    db.session.commit()
    return conn, jobs


def test_associations_arrive_with_the_backfill_and_with_incremental_changes(app, login):
    with SandboxServer(SandboxConfig(contacts=620, deals=230, companies=15, seed=71, limits=False)) as sb:
        portal = sb.state.portal
        conn, jobs = connected(sb)
        for object_type in ("companies", "contacts", "deals"):
            run = sync(jobs[object_type], "backfill")
            assert run.status == "succeeded" or run.status == "partial", run.error_message
        first = stored(conn.id)
        # more than one page of each, contacts over more than one 500-record association read, every kind
        # present, labels many to many
        assert first == expected(portal)
        kinds = {(r[0], r[2], r[4]) for r in first}
        assert {("contacts", "companies", "USER_DEFINED"), ("deals", "contacts", "USER_DEFINED"),
                ("deals", "companies", "USER_DEFINED"), ("deals", "companies", "HUBSPOT_DEFINED")} <= kinds
        deals_run = db.session.scalar(sa.select(IntegrationSyncRun).where(
            IntegrationSyncRun.connection_id == conn.id, IntegrationSyncRun.object_type == "deals"))
        assert deals_run.links_added == len({r for r in first if r[0] == "deals"}) and deals_run.links_removed == 0

        # In HubSpot: a contact moves to another company; a deal gains a label, loses a company, loses a label.
        contact = next(c for c, co in portal.contact_company.items() if (("contacts", "companies", c, co) not in portal.labelled))
        other = next(co for co in portal.ids["companies"] if co != portal.contact_company[contact])
        api(sb, "PUT", f"/crm/v4/objects/contacts/{contact}/associations/default/companies/{other}")
        touch(sb, "contacts", contact)
        deal, people = next((d, p) for d, p in portal.deal_contacts.items()
                            if ("deals", "contacts", d, p[0]) not in portal.labelled)
        api(sb, "POST", "/crm/v4/associations/deals/contacts/batch/create", {"inputs": [
            {"from": {"id": str(deal)}, "to": {"id": str(people[0])},
             "types": [{"associationCategory": "USER_DEFINED", "associationTypeId": 4}]}]})
        gone_deal, companies = next((d, c) for d, c in portal.deal_companies.items() if d != deal and c)
        api(sb, "DELETE", f"/crm/v4/objects/deals/{gone_deal}/associations/companies/{companies[0]}")
        (labelled_deal, _, to, label), = [(k[2], k[1], k[3], min(v)) for k, v in portal.labelled.items()
                                          if k[0] == "deals" and k[1] == "contacts" and v and k[2] not in (deal, gone_deal)][:1]
        api(sb, "POST", "/crm/v4/associations/deals/contacts/batch/labels/archive", {"inputs": [
            {"from": {"id": str(labelled_deal)}, "to": {"id": str(to)},
             "types": [{"associationCategory": "USER_DEFINED", "associationTypeId": label}]}]})
        for d in (deal, gone_deal, labelled_deal):
            touch(sb, "deals", d)
        want = expected(portal)
        assert want != first
        runs = {t: sync(jobs[t]) for t in ("contacts", "deals")}
        assert stored(conn.id) == want
        for object_type, run in runs.items():
            before = {r for r in first if r[0] == object_type}
            after = {r for r in want if r[0] == object_type}
            assert (run.links_added, run.links_removed) == (len(after - before), len(before - after)), object_type
            assert run.links_added + run.links_removed > 0
        page = login("ops").get(f"/ops/runs/{runs['deals'].id}").get_data(as_text=True)
        assert f"{runs['deals'].links_added} added · {runs['deals'].links_removed} removed" in page


def test_an_association_changed_while_the_run_pages_is_stored_by_the_end(app):
    """A contact re-associated (and edited) after the incremental run's first search reply: the run reads
    it again at its new version, associations included, or the next run does; either way nothing differs."""
    with SandboxServer(SandboxConfig(contacts=450, deals=0, companies=12, seed=73, limits=False)) as sb:
        portal = sb.state.portal
        conn, jobs = connected(sb)
        sync(jobs["contacts"], "backfill")
        for c in portal.ids["contacts"][:300]:  # three search pages of changes
            touch(sb, "contacts", c)
        moved = []

        def relink() -> None:
            if not moved:
                contact = portal.ids["contacts"][5]
                target = next(co for co in portal.ids["companies"] if co != portal.contact_company.get(contact))
                moved.append((contact, target))
                api(sb, "PUT", f"/crm/v4/objects/contacts/{contact}/associations/default/companies/{target}")
                touch(sb, "contacts", contact)

        portal.after_search = relink
        run = sync(jobs["contacts"])
        portal.after_search = None
        assert moved and run.seen >= 300
        sync(jobs["contacts"])
        assert stored(conn.id) == expected(portal)


@pytest.fixture
def hooked(app, live_server):
    forget_secrets()
    with SandboxServer(SandboxConfig(contacts=120, deals=80, companies=10, seed=75, limits=False)) as sb:
        conn, jobs = connected(sb)
        conn.status = "live"
        conn.account.set_secret("webhook_secret", sb.state.auth.oauth_app.client_secret)
        db.session.commit()
        for object_type in ("companies", "contacts", "deals"):
            sync(jobs[object_type], "backfill")
        yield sb, conn, jobs, f"{live_server}/webhooks/hubspot"
    forget_secrets()


def _delivered(sb) -> None:
    deadline = time.time() + 15
    while time.time() < deadline and requests.get(f"{sb.url}/_sandbox/info", timeout=5).json().get(
            "webhooks", {}).get("pending", 1):
        time.sleep(0.1)
    time.sleep(0.3)


def test_association_only_changes_arrive_through_webhooks(hooked):
    sb, conn, jobs, url = hooked
    portal = sb.state.portal
    assert stored(conn.id) == expected(portal)
    api(sb, "PUT", "/_sandbox/webhooks", {"url": url, "version": "v3", "duplicates": True, "out_of_order": True})
    contact = next(iter(portal.contact_company))
    other = next(co for co in portal.ids["companies"] if co != portal.contact_company[contact])
    api(sb, "PUT", f"/crm/v4/objects/contacts/{contact}/associations/default/companies/{other}")  # moved
    deal, companies = next((d, c) for d, c in portal.deal_companies.items() if c)
    api(sb, "DELETE", f"/crm/v4/objects/deals/{deal}/associations/companies/{companies[0]}")  # removed
    person = portal.deal_contacts[deal][0]
    api(sb, "POST", "/crm/v4/associations/contacts/deals/batch/create", {"inputs": [  # labelled, from the other side
        {"from": {"id": str(person)}, "to": {"id": str(deal)},
         "types": [{"associationCategory": "USER_DEFINED", "associationTypeId": 3}]}]})
    want = expected(portal)

    # HubSpot does not mark either record changed: the incremental sync reads nothing new
    for t in ("contacts", "deals"):
        run = sync(jobs[t])
        assert run.links_added == run.links_removed == 0
    assert stored(conn.id) != want

    _delivered(sb)
    events = list(db.session.scalars(sa.select(EventWebhookEvent).where(
        EventWebhookEvent.event_type.like("%.associationChange"))))
    assert len(events) >= 6  # one from each side of each change
    while normalize.process_due(200):
        pass
    db.session.commit()
    assert {e.status for e in db.session.scalars(sa.select(EventWebhookEvent))} == {"normalized"}
    assert stored(conn.id) == want
    runs = list(db.session.scalars(sa.select(IntegrationSyncRun).where(IntegrationSyncRun.kind == "webhook")))
    assert sum(r.links_added for r in runs) >= 2 and sum(r.links_removed for r in runs) >= 2
    assert all(r.status == "succeeded" for r in runs)


def test_reconcile_finds_and_repairs_associations_no_sync_or_webhook_brought(app):
    """Changed at the provider with no webhook reaching us, and a record deleted there: the comparison counts
    every record whose associations differ, the repair reads them again, the next comparison finds none."""
    from console.sync.proof import reconcile

    with SandboxServer(SandboxConfig(contacts=700, deals=620, companies=25, seed=77, limits=False)) as sb:
        portal = sb.state.portal
        conn, jobs = connected(sb)
        for object_type in ("companies", "contacts", "deals"):
            sync(jobs[object_type], "backfill")
        clean = reconcile.execute(reconcile.queue(conn, "deals", "cli", own=True).id, "test", client_options=FAST)
        assert clean.status == "succeeded" and clean.link_drift == 0 and clean.differences == 0

        # beyond the first chunk of 500: association-only changes, and a deal deleted with its associations
        deals = [d for d in portal.ids["deals"][510:] if portal.deal_companies.get(d)]
        moved, emptied, deleted = deals[0], deals[1], deals[2]
        spare = next(co for co in portal.ids["companies"] if co not in portal.deal_companies[moved])
        api(sb, "POST", "/crm/v4/associations/deals/companies/batch/create", {"inputs": [
            {"from": {"id": str(moved)}, "to": {"id": str(spare)},
             "types": [{"associationCategory": "USER_DEFINED", "associationTypeId": 6}]}]})
        api(sb, "POST", "/crm/v4/associations/deals/companies/batch/archive", {"inputs": [
            {"from": {"id": str(emptied)}, "to": [{"id": str(c)} for c in portal.deal_companies[emptied]]}]})
        api(sb, "DELETE", f"/crm/v3/objects/deals/{deleted}")
        found = reconcile.execute(reconcile.queue(conn, "deals", "cli", own=True, repair=True).id, "test",
                                  client_options=FAST)
        assert found.link_drift == 3 and set(found.examples["link_drift"]) == {str(moved), str(emptied), str(deleted)}
        assert found.extra + found.in_flight == 1 and found.repaired >= 2  # the deletion: the next sync takes it
        assert stored(conn.id) == expected(portal)
        after = reconcile.execute(reconcile.queue(conn, "deals", "cli", own=True).id, "test", client_options=FAST)
        assert after.link_drift == 0 and after.differences == 0
