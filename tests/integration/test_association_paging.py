"""A record with more associations than HubSpot answers at once (500 a record in a batch read): the sandbox
pages them as HubSpot does (`paging.next.after` on the record's result), the sync follows every page, and a
reconciliation compares all of them. Each check compares with the sandbox portal's own memory."""
from __future__ import annotations

import requests
import sqlalchemy as sa

from console.extensions import db
from console.models import CrmAssociation
from console.sandbox import SandboxConfig, SandboxServer

from ..reporting import FAST, sync
from .test_associations import api, connected, expected, stored, touch

CROWD = 1_234  # contacts on one deal: three pages of 500 in one batch read


def crowded(sb) -> int:
    """A deal associated with CROWD contacts (a tenth of them labelled "Champion")."""
    portal = sb.state.portal
    deal, people = portal.ids["deals"][0], portal.ids["contacts"][:CROWD]
    for start in range(0, CROWD, 1000):
        api(sb, "POST", "/crm/v4/associations/deals/contacts/batch/create", {"inputs": [
            {"from": {"id": str(deal)}, "to": {"id": str(p)},
             "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 3}]
             + ([{"associationCategory": "USER_DEFINED", "associationTypeId": 4}] if p % 10 == 0 else [])}
            for p in people[start:start + 1000]]})
    return deal


def test_the_sandbox_pages_one_records_associations_as_hubspot_does():
    with SandboxServer(SandboxConfig(contacts=1300, deals=3, companies=5, seed=13, limits=False, bookings=0)) as sb:
        deal = crowded(sb)
        seen, after, pages = [], None, 0
        while True:
            body = api(sb, "POST", "/crm/v4/associations/deals/contacts/batch/read",
                       {"inputs": [{"id": str(deal), **({"after": after} if after else {})}]}).json()["results"][0]
            seen += [t["toObjectId"] for t in body["to"]]
            pages += 1
            after = body.get("paging", {}).get("next", {}).get("after")
            if after is None:
                break
        assert pages == 3 and len(seen) == len(set(seen)) == len(sb.state.portal.deal_contacts[deal])
        one = api(sb, "GET", f"/crm/v4/objects/deals/{deal}/associations/contacts?limit=100").json()
        assert len(one["results"]) == 100 and one["paging"]["next"]["after"]
        bad = api_raw(sb, "/crm/v4/associations/deals/contacts/batch/read", {"inputs": [{"id": str(deal), "after": "!!"}]})
        assert bad.status_code == 400 and "Invalid paging cursor" in bad.text


def api_raw(sb, path: str, body):
    return requests.post(f"{sb.url}{path}", json=body, timeout=10, headers={"Authorization": f"Bearer {sb.token}"})


def test_a_deal_with_more_associations_than_one_answer_holds_them_all_through_sync_and_reconcile(app):
    from console.sync.proof import reconcile

    with SandboxServer(SandboxConfig(contacts=1300, deals=40, companies=8, seed=13, limits=False, bookings=0)) as sb:
        portal = sb.state.portal
        deal = crowded(sb)
        conn, jobs = connected(sb)
        for object_type in ("companies", "contacts", "deals"):
            run = sync(jobs[object_type], "backfill")
            assert run.status in ("succeeded", "partial"), run.error_message
        mine = {r for r in stored(conn.id) if r[1] == str(deal)}
        assert len({r[3] for r in mine}) == len(portal.deal_contacts[deal]) > 2 * 500  # every page, not the first
        assert stored(conn.id) == expected(portal)

        # In HubSpot: some of the crowd leave (from every page), one gains a label; the deal changes too.
        crowd = sorted(portal.deal_contacts[deal])
        leaving = [crowd[3], crowd[600], crowd[-2]]
        api(sb, "POST", "/crm/v4/associations/deals/contacts/batch/archive", {"inputs": [
            {"from": {"id": str(deal)}, "to": [{"id": str(p)} for p in leaving]}]})
        api(sb, "POST", "/crm/v4/associations/deals/contacts/batch/create", {"inputs": [
            {"from": {"id": str(deal)}, "to": {"id": str(crowd[1100])},
             "types": [{"associationCategory": "USER_DEFINED", "associationTypeId": 3}]}]})
        touch(sb, "deals", deal)
        run = sync(jobs["deals"])
        assert stored(conn.id) == expected(portal)
        assert (run.links_added, run.links_removed) == (1, 3)

        clean = reconcile.execute(reconcile.queue(conn, "deals", "cli", own=True).id, "test", client_options=FAST)
        assert clean.link_drift == 0 and clean.differences == 0
        # A stored row lost on our side, on the crowd's last page: the comparison must see it.
        last = max(crowd[1000:-2])
        db.session.execute(sa.delete(CrmAssociation).where(
            CrmAssociation.connection_id == conn.id, CrmAssociation.from_id == str(deal),
            CrmAssociation.to_id == str(last)))
        db.session.commit()
        found = reconcile.execute(reconcile.queue(conn, "deals", "cli", own=True, repair=True).id, "test",
                                  client_options=FAST)
        assert found.link_drift == 1 and found.examples["link_drift"] == [str(deal)]
        assert stored(conn.id) == expected(portal)
