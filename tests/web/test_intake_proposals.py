"""The intake proposes; a person decides (issue 32). The intake's own example, written on one line as its
hint shows it, reads as contacts out, deals both ways and products flagged; nothing that writes to the
CRM is set until the owner uses the proposal on the mapping step, which is audited and re-read from the
intake at that moment."""
from __future__ import annotations

import re

import sqlalchemy as sa

from console.extensions import db
from console.models import EventAdminAction, IntegrationSyncJob

from .. import factories
from .test_intake import _select, _url

EXAMPLE = "Members: SourceApp to HubSpot Contacts (one-way). Deals: bidirectional. Products: HubSpot to SourceApp."
USE = "/connections/{}/wizard/mapping/proposal"


def _jobs(conn) -> dict[str, IntegrationSyncJob]:
    db.session.expire_all()
    return {j.object_type: j for j in db.session.scalars(sa.select(IntegrationSyncJob).where(
        IntegrationSyncJob.connection_id == conn.id))}


def _used(conn) -> list[dict]:
    return [a.details for a in db.session.scalars(sa.select(EventAdminAction).where(
        EventAdminAction.action == "intake.proposal_used", EventAdminAction.target_id == str(conn.id)))]


def test_the_example_is_read_object_by_object_and_nothing_writes_until_used(login):
    owner = login("owner")
    conn = factories.connection(factories.client("Harbour Physio"), owner_user_id=owner.user.id)
    db.session.commit()
    status = owner.hx_post(_url(conn, "answers/topology_flows"), {"topology_flows": EXAMPLE}).get_data(as_text=True)
    read = re.search(r'<ul class="read">(.*?)</ul>', status, re.S).group(1)
    unread = re.search(r'<ul class="unread">(.*?)</ul>', status, re.S).group(1)
    assert "Contacts: console to provider (a proposal" in read and "Deals: both ways (a proposal" in read
    assert "Products: no such object synced" in unread and "Contacts" not in unread
    page = owner.get(_url(conn)).get_data(as_text=True)
    assert 'id="reading-topology_flows"' in page and "Products: no such object synced" in page

    mapping = owner.get(f"/connections/{conn.id}/wizard/mapping").get_data(as_text=True)
    for obj in ("contacts", "deals"):
        assert 'selected value="in"' in _select(mapping, f"{obj}_direction"), obj
        assert f'id="use-direction-{obj}"' in mapping
    assert 'id="use-direction-companies"' not in mapping
    # Saving the jobs as the form shows them writes nothing to the CRM.
    saved = owner.hx_post(f"/connections/{conn.id}/wizard/mapping/jobs", {
        "contacts": "y", "deals": "y", "contacts_minutes": "15", "companies_minutes": "60", "deals_minutes": "15",
        "contacts_direction": "in", "companies_direction": "in", "deals_direction": "in"})
    assert saved.status_code == 200
    assert {o: j.direction for o, j in _jobs(conn).items()} == {"contacts": "in", "deals": "in"}
    assert _used(conn) == []

    # Only the owner (or an admin) decides: ops may look, a client never sees it.
    ops = login("ops")
    assert ops.hx_post(USE.format(conn.id), {"use": "direction:contacts"}).status_code == 403
    client = login("client", factories.client("Other"))
    assert client.hx_post(USE.format(conn.id), {"use": "direction:contacts"}).status_code == 404
    for bad in ("direction:companies", "direction:products", "nonsense", "record:contacts:nope", ""):
        resp = owner.hx_post(USE.format(conn.id), {"use": bad})
        assert resp.status_code == 409, bad
    assert {o: j.direction for o, j in _jobs(conn).items()} == {"contacts": "in", "deals": "in"} and _used(conn) == []

    used = owner.hx_post(USE.format(conn.id), {"use": "direction:contacts"})
    assert used.status_code == 200 and "Contacts: direction set to console to provider, as the intake proposes." in \
        used.get_data(as_text=True)
    assert _jobs(conn)["contacts"].direction == "out"
    assert _used(conn) == [{"proposal": "direction:contacts", "value": "out", "words": "topology"}]
    after = owner.get(f"/connections/{conn.id}/wizard/mapping").get_data(as_text=True)
    assert 'selected value="out"' in _select(after, "contacts_direction") and 'id="use-direction-contacts"' not in after

    # A page left open after the intake changed cannot apply what the intake no longer says.
    owner.hx_post(_url(conn, "answers/topology_flows"), {"topology_flows": "Deals: HubSpot to SourceApp."})
    stale = owner.hx_post(USE.format(conn.id), {"use": "direction:deals"})
    assert stale.status_code == 409 and "no longer proposes" in stale.get_data(as_text=True)
    assert _jobs(conn)["deals"].direction == "in" and len(_used(conn)) == 1


def test_match_keys_are_proposed_and_applied_only_when_used(login):
    owner = login("owner")
    conn = factories.connection(factories.client("Harbour Physio"), owner_user_id=owner.user.id)
    db.session.commit()
    owner.hx_post(_url(conn, "answers/matching"),
                  {"matching": "Contacts matched on email, fallback to external_id. Companies on domain."})
    mapping = owner.get(f"/connections/{conn.id}/wizard/mapping").get_data(as_text=True)
    assert 'selected value="email"' in _select(mapping, "contacts_match")
    assert 'id="use-match-contacts"' in mapping and "The intake proposes email, else our id" in mapping
    assert 'id="use-match-companies"' not in mapping  # domain is already the form's value
    assert "Matches the intake" in mapping
    assert owner.hx_post(USE.format(conn.id), {"use": "match:contacts"}).status_code == 200
    assert _jobs(conn)["contacts"].match_on == "email,connector_console_id"
    assert [u["proposal"] for u in _used(conn)] == ["match:contacts"]
