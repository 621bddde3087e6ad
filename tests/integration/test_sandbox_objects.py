"""The sandbox's objects beyond contacts, companies and deals, in HubSpot's shapes: products, line items on
deals, tickets, and a custom object (bookings) whose definition /crm/v3/schemas serves; their records page,
search and batch-read like the standard ones, their associations are read through v4 with labels, and
HubSpot's own SDK reads them unmodified."""
from __future__ import annotations

import pytest
import requests
from hubspot import HubSpot

from console.sandbox import SandboxConfig, SandboxServer


@pytest.fixture(scope="module")
def portal():
    with SandboxServer(SandboxConfig(contacts=400, deals=150, seed=5, limits=False, bookings=10_000)) as sb:
        yield sb


def h(sb) -> dict:
    return {"Authorization": f"Bearer {sb.token}"}


def every(sb, path: str, properties: str) -> list[dict]:
    """Every record of a list endpoint, page by page (100 a page)."""
    out, after = [], None
    while True:
        params = {"limit": 100, "properties": properties, **({"after": after} if after else {})}
        body = requests.get(f"{sb.url}{path}", headers=h(sb), params=params, timeout=30).json()
        out += body["results"]
        after = body.get("paging", {}).get("next", {}).get("after")
        if not after:
            return out


def test_the_custom_objects_schema_names_its_properties_and_associations(portal):
    schemas = requests.get(f"{portal.url}/crm/v3/schemas", headers=h(portal)).json()["results"]
    assert [s["objectTypeId"] for s in schemas] == ["2-7351"]
    schema = schemas[0]
    assert schema["fullyQualifiedName"] == f"p{portal.state.portal.portal_id}_bookings"
    types = {p["name"]: p["type"] for p in schema["properties"]}
    assert types["check_in"] == "date" and types["nights"] == "number" and types["deposit_paid_on"] == "string"
    assert schema["associations"][0]["toObjectTypeId"] == "0-1"
    for name in ("2-7351", schema["fullyQualifiedName"], "bookings"):
        one = requests.get(f"{portal.url}/crm/v3/schemas/{name}", headers=h(portal))
        assert one.status_code == 200 and one.json()["objectTypeId"] == "2-7351", name
    assert requests.get(f"{portal.url}/crm/v3/schemas/spaceships", headers=h(portal)).status_code == 404


def test_ten_thousand_bookings_page_by_type_id_and_by_name_and_never_by_a_bare_name(portal):
    rows = every(portal, "/crm/v3/objects/2-7351", "booking_ref,check_in,deposit_paid_on")
    assert len(rows) == 10_000 and len({r["id"] for r in rows}) == 10_000
    assert rows[0]["properties"]["check_in"].count("-") == 2 and len(rows[0]["properties"]["check_in"]) == 10
    dates = [r["properties"]["deposit_paid_on"] for r in rows]
    assert dates.count("unpaid") == 200  # text holding dates, but for one in fifty
    fqn = f"/crm/v3/objects/p{portal.state.portal.portal_id}_bookings?limit=3"
    assert requests.get(f"{portal.url}{fqn}", headers=h(portal)).status_code == 200
    bare = requests.get(f"{portal.url}/crm/v3/objects/bookings", headers=h(portal))
    assert bare.status_code == 400 and "Unable to infer object type" in bare.json()["message"]
    other = requests.get(f"{portal.url}/crm/v3/objects/p999_bookings", headers=h(portal))  # another portal's name
    assert other.status_code == 400


def test_a_booking_is_created_searched_by_modification_time_and_batch_read(portal):
    made = requests.post(f"{portal.url}/crm/v3/objects/2-7351", headers=h(portal),
                         json={"properties": {"booking_ref": "BK-NEW-1", "nights": "4", "check_in": "2026-03-01"}})
    assert made.status_code == 201, made.text
    rid = made.json()["id"]
    since = made.json()["updatedAt"]
    found = requests.post(f"{portal.url}/crm/v3/objects/2-7351/search", headers=h(portal), json={
        "filterGroups": [{"filters": [{"propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": since}]}],
        "sorts": [{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}],
        "properties": ["booking_ref", "nights"], "limit": 100}).json()
    assert rid in {r["id"] for r in found["results"]}
    read = requests.post(f"{portal.url}/crm/v3/objects/2-7351/batch/read", headers=h(portal), json={
        "properties": ["booking_ref", "check_in"], "inputs": [{"id": rid}, {"id": "99999999999"}]})
    assert read.status_code == 207
    got = read.json()["results"][0]["properties"]
    assert (got["booking_ref"], got["check_in"]) == ("BK-NEW-1", "2026-03-01")


def test_line_items_hang_on_deals_and_name_their_product(portal):
    deals = portal.state.portal.ids["deals"]
    body = {"inputs": [{"id": str(d)} for d in deals]}
    links = requests.post(f"{portal.url}/crm/v4/associations/deals/line_items/batch/read", headers=h(portal),
                          json=body).json()["results"]
    items = {to["toObjectId"]: str(r["from"]["id"]) for r in links for to in r["to"]}
    assert len(items) > len(deals)  # more line items than deals: several on some
    assert {t["typeId"] for r in links for to in r["to"] for t in to["associationTypes"]} == {19}
    rows = every(portal, "/crm/v3/objects/line_items", "hs_product_id,quantity,price,amount")
    assert {int(r["id"]) for r in rows} == set(items)
    products = {r["id"] for r in every(portal, "/crm/v3/objects/products", "name,price")}
    assert len(products) == 8 and {r["properties"]["hs_product_id"] for r in rows} <= products
    back = requests.post(f"{portal.url}/crm/v4/associations/line_items/deals/batch/read", headers=h(portal),
                         json={"inputs": [{"id": str(i)} for i in list(items)[:100]]}).json()["results"]
    assert all(items[int(r["from"]["id"])] == str(r["to"][0]["toObjectId"]) for r in back)


def test_bookings_are_many_to_many_with_contacts_with_labels_both_ways(portal):
    ids = portal.state.portal.ids["bookings"][:500]
    links = requests.post(f"{portal.url}/crm/v4/associations/2-7351/contacts/batch/read", headers=h(portal),
                          json={"inputs": [{"id": str(i)} for i in ids]}).json()["results"]
    labels = {t["label"] for r in links for to in r["to"] for t in to["associationTypes"] if t["label"]}
    assert labels == {"Primary booker", "Guest"}
    assert any(len(r["to"]) > 1 for r in links)
    contact = links[0]["to"][0]["toObjectId"]
    back = requests.post(f"{portal.url}/crm/v4/associations/contacts/2-7351/batch/read", headers=h(portal),
                         json={"inputs": [{"id": str(contact)}]}).json()["results"]
    assert int(links[0]["from"]["id"]) in {to["toObjectId"] for to in back[0]["to"]}
    tickets = requests.post(f"{portal.url}/crm/v4/associations/tickets/contacts/batch/read", headers=h(portal),
                            json={"inputs": [{"id": str(t)} for t in portal.state.portal.ids["tickets"]]})
    assert len(tickets.json()["results"]) == 40  # a tenth of the contacts, each with its contact


def test_a_token_without_the_custom_scope_cannot_read_bookings(portal):
    from console.sandbox.auth import Grant

    token = "pat-no-custom-scope"
    st = portal.state.auth
    with st.lock:
        st.tokens[token] = Grant("app:narrow", "private_app", ["crm.objects.contacts.read"])
    refused = requests.get(f"{portal.url}/crm/v3/objects/2-7351", headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 403 and "crm.objects.custom.read" in refused.text


def test_hubspots_sdk_reads_them_unmodified(portal):
    api = HubSpot(access_token=portal.token, host=portal.url)
    assert len(api.crm.line_items.get_all(properties=["quantity"])) == len(portal.state.portal.ids["line_items"])
    assert len(api.crm.products.get_all()) == 8
    assert len(api.crm.tickets.get_all(properties=["subject"])) == 40
    schemas = api.crm.schemas.core_api.get_all().results
    assert [s.object_type_id for s in schemas] == ["2-7351"]
    page = api.crm.objects.basic_api.get_page(object_type="2-7351", limit=100, properties=["booking_ref"])
    assert len(page.results) == 100 and page.paging.next.after


def test_ticket_pipelines_answer_in_v3_and_in_the_legacy_v1_shape(portal):
    """MeltanoLabs' tap reads ticket pipelines through /crm-pipelines/v1 (it stopped at a 404 before)."""
    v3 = requests.get(f"{portal.url}/crm/v3/pipelines/tickets", headers=h(portal)).json()["results"]
    assert [s["metadata"]["ticketState"] for s in v3[0]["stages"]] == ["OPEN", "OPEN", "OPEN", "CLOSED"]
    v1 = requests.get(f"{portal.url}/crm-pipelines/v1/pipelines/tickets", headers=h(portal)).json()["results"]
    assert v1[0]["pipelineId"] == "0" and v1[0]["objectType"] == "TICKET" and isinstance(v1[0]["createdAt"], int)
    assert [s["stageId"] for s in v1[0]["stages"]] == ["1", "2", "3", "4"]
    deals = requests.get(f"{portal.url}/crm-pipelines/v1/pipelines/deals", headers=h(portal)).json()["results"]
    assert {p["pipelineId"] for p in deals} == {"default", "renewals"}
    assert requests.get(f"{portal.url}/crm-pipelines/v1/pipelines/spaceships", headers=h(portal)).status_code == 404


def test_the_change_simulator_and_ticket_webhooks_cover_the_new_objects():
    """Updates and creations of each new object move its modification time (an incremental read finds them);
    an app subscribed to tickets hears of their changes, signed as every delivery is."""
    import json

    from ..sinks import HttpSink

    sink = HttpSink(statuses=[200])
    with SandboxServer(SandboxConfig(contacts=60, deals=20, seed=9, limits=False, bookings=30)) as sb:
        portal = sb.state.portal
        for object_type in ("products", "line_items", "tickets", "bookings"):
            before = max(r.updated for r in portal.records[object_type].values())
            touched = requests.post(f"{sb.url}/_sandbox/changes",
                                    json={"object_type": object_type, "update": 2, "create": 1}).json()
            assert [len(touched[k]) for k in ("updated", "created")] == [2, 1], object_type
            changed = [portal.records[object_type][int(i)] for i in touched["updated"] + touched["created"]]
            assert all(r.updated > before for r in changed), object_type
        requests.put(f"{sb.url}/_sandbox/webhooks", json={"url": sink.url, "subscriptions": ["ticket.propertyChange"]})
        touched = requests.post(f"{sb.url}/_sandbox/changes", json={"object_type": "tickets", "update": 1}).json()
        events = json.loads(sink.wait_for(1)[0].body)
        assert {e["subscriptionType"] for e in events} == {"ticket.propertyChange"}
        assert {str(e["objectId"]) for e in events} == set(touched["updated"])
    sink.close()
