"""The sandbox behaves like HubSpot: rate limits, the 10k search cap, faults, auth, batches,
deterministic data, the change simulator and webhook delivery switches."""
from __future__ import annotations

import json
import time

import pytest
import requests

from console.sandbox import SandboxConfig, SandboxServer
from console.sandbox.faults import FaultRule
from console.sandbox.store import Portal

from ..sinks import HttpSink


def auth(sb) -> dict:
    return {"Authorization": f"Bearer {sb.token}"}


@pytest.fixture
def limited():
    with SandboxServer(SandboxConfig(contacts=30, deals=5, seed=11, limits=True, tier="starter")) as sb:
        yield sb


def test_rate_limit_headers_and_ten_second_window(limited):
    url = f"{limited.url}/crm/v3/objects/contacts?limit=1"
    first = requests.get(url, headers=auth(limited))
    assert first.headers["X-HubSpot-RateLimit-Max"] == "100"
    assert first.headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"
    assert first.headers["X-HubSpot-RateLimit-Remaining"] == "99"
    assert first.headers["X-HubSpot-RateLimit-Daily"] == "250000"
    assert first.headers["X-HubSpot-RateLimit-Daily-Remaining"] == "249999"
    with requests.Session() as s:
        statuses = [s.get(url, headers=auth(limited)).status_code for _ in range(100)]
    assert statuses.count(200) == 99 and statuses[-1] == 429
    body = s.get(url, headers=auth(limited)).json()
    assert body["policyName"] == "TEN_SECONDLY_ROLLING" and body["errorType"] == "RATE_LIMIT"
    assert body["message"] == "You have reached your ten_secondly_rolling limit."


def test_search_has_its_own_per_second_limit(limited):
    url = f"{limited.url}/crm/v3/objects/contacts/search"
    with requests.Session() as s:
        replies = [s.post(url, json={"limit": 1}, headers=auth(limited)) for _ in range(6)]
    assert [r.status_code for r in replies[:5]] == [200] * 5
    assert replies[5].status_code == 429 and replies[5].json()["policyName"] == "SECONDLY"
    assert "X-HubSpot-RateLimit-Max" not in replies[0].headers
    time.sleep(1.05)
    assert requests.post(url, json={"limit": 1}, headers=auth(limited)).status_code == 200


def test_daily_limit(limited):
    requests.put(f"{limited.url}/_sandbox/limits", json={"daily_used": 250_000}, timeout=5)
    resp = requests.get(f"{limited.url}/crm/v3/objects/contacts", headers=auth(limited))
    assert resp.status_code == 429 and resp.json()["policyName"] == "DAILY"
    assert resp.headers["X-HubSpot-RateLimit-Daily-Remaining"] == "0"


def test_limits_can_be_turned_off(sandbox):
    resp = requests.get(f"{sandbox.url}/crm/v3/objects/contacts", headers=auth(sandbox))
    assert resp.status_code == 200 and "X-HubSpot-RateLimit-Max" not in resp.headers


def test_search_caps_at_ten_thousand_results():
    with SandboxServer(SandboxConfig(contacts=10_100, deals=0, companies=5, seed=1, limits=False)) as sb:
        url = f"{sb.url}/crm/v3/objects/contacts/search"
        ok = requests.post(url, json={"limit": 200, "after": "9800"}, headers=auth(sb))
        assert ok.status_code == 200 and ok.json()["total"] == 10_100 and len(ok.json()["results"]) == 200
        over = requests.post(url, json={"limit": 200, "after": "9900"}, headers=auth(sb))
        assert over.status_code == 400 and over.json()["category"] == "VALIDATION_ERROR"
        assert requests.post(url, json={"limit": 201}, headers=auth(sb)).status_code == 400


@pytest.mark.parametrize("body", [
    {"filterGroups": [{"filters": []}] * 6},
    {"filterGroups": [{"filters": [{"propertyName": "email", "operator": "HAS_PROPERTY"}] * 7}]},
    {"filterGroups": [{"filters": [{"propertyName": "email", "operator": "LIKE", "value": "x"}]}]},
    {"filterGroups": [{"filters": [{"propertyName": "nope", "operator": "EQ", "value": "x"}]}]},
    {"sorts": ["email", "firstname"]},
])
def test_search_validation(sandbox, body):
    resp = requests.post(f"{sandbox.url}/crm/v3/objects/contacts/search", json=body, headers=auth(sandbox))
    assert resp.status_code == 400 and {"status", "message", "correlationId", "category"} <= resp.json().keys()


def test_search_operators(sandbox):
    portal = sandbox.state.portal
    def total(filters):
        r = requests.post(f"{sandbox.url}/crm/v3/objects/contacts/search", headers=auth(sandbox),
                          json={"filterGroups": [{"filters": filters}], "limit": 1})
        assert r.status_code == 200, r.text
        return r.json()["total"]
    active = portal.all_active("contacts")
    leads = sum(1 for r in active if r.props.get("lifecyclestage") == "lead")
    assert total([{"propertyName": "lifecyclestage", "operator": "EQ", "value": "lead"}]) == leads
    assert total([{"propertyName": "lifecyclestage", "operator": "NEQ", "value": "lead"}]) == len(active) - leads
    no_phone = sum(1 for r in active if not r.props.get("phone"))
    assert total([{"propertyName": "phone", "operator": "NOT_HAS_PROPERTY"}]) == no_phone
    some = active[5]
    assert total([{"propertyName": "hs_object_id", "operator": "EQ", "value": str(some.id)}]) == 1
    assert total([{"propertyName": "createdate", "operator": "BETWEEN", "value": str(some.created),
                   "highValue": str(some.created)}]) >= 1
    email = some.props["email"].strip()
    domain = email.split("@")[-1] if "@" in email and email.split("@")[-1] else None
    if domain:
        assert total([{"propertyName": "email", "operator": "CONTAINS_TOKEN", "value": f"*{domain}"}]) >= 1


def test_ordering_and_paging_by_last_modified(sandbox):
    seen, after = [], None
    while True:
        body = {"sorts": [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}], "limit": 100,
                "properties": ["lastmodifieddate"]}
        if after:
            body["after"] = after
        page = requests.post(f"{sandbox.url}/crm/v3/objects/contacts/search", json=body, headers=auth(sandbox)).json()
        seen += page["results"]
        after = page.get("paging", {}).get("next", {}).get("after")
        if not after:
            break
    assert len({r["id"] for r in seen}) == len(seen) == page["total"]
    stamps = [r["properties"]["lastmodifieddate"] for r in seen]
    assert stamps == sorted(stamps)


@pytest.mark.parametrize("kind", ["429", "500", "502", "503"])
def test_status_faults(kind):
    with SandboxServer(SandboxConfig(contacts=5, deals=0, limits=False,
                                     faults=(FaultRule(kind, endpoint="/crm/v3/objects/contacts", count=1),))) as sb:
        url = f"{sb.url}/crm/v3/objects/contacts"
        first = requests.get(url, headers=auth(sb))
        assert first.status_code == int(kind)
        assert "category" in first.json()
        assert requests.get(url, headers=auth(sb)).status_code == 200  # count=1: only once


def test_connection_reset_fault():
    with SandboxServer(SandboxConfig(contacts=5, deals=0, limits=False, faults=(FaultRule("reset", count=1),))) as sb:
        with pytest.raises(requests.ConnectionError):
            requests.get(f"{sb.url}/crm/v3/objects/contacts", headers=auth(sb))
        assert requests.get(f"{sb.url}/crm/v3/objects/contacts", headers=auth(sb)).status_code == 200


def test_slow_and_timeout_faults():
    with SandboxServer(SandboxConfig(contacts=5, deals=0, limits=False)) as sb:
        requests.put(f"{sb.url}/_sandbox/faults", json={"rules": [{"kind": "slow", "delay": 0.3, "count": 1}]})
        start = time.monotonic()
        assert requests.get(f"{sb.url}/crm/v3/objects/contacts", headers=auth(sb)).status_code == 200
        assert time.monotonic() - start >= 0.3
        requests.put(f"{sb.url}/_sandbox/faults", json={"rules": [{"kind": "timeout", "delay": 1.0, "count": 1}]})
        with pytest.raises(requests.Timeout):
            requests.get(f"{sb.url}/crm/v3/objects/contacts", headers=auth(sb), timeout=0.3)


@pytest.mark.parametrize("kind", ["truncated", "malformed"])
def test_broken_json_faults(kind):
    with SandboxServer(SandboxConfig(contacts=20, deals=0, limits=False, faults=(FaultRule(kind, count=1),))) as sb:
        resp = requests.get(f"{sb.url}/crm/v3/objects/contacts?limit=10", headers=auth(sb))
        assert resp.status_code == 200
        with pytest.raises(ValueError):
            resp.json()


def test_faults_are_deterministic_under_the_seed():
    def pattern():
        with SandboxServer(SandboxConfig(contacts=5, deals=0, limits=False, seed=99,
                                         faults=(FaultRule("503", rate=0.5),))) as sb:
            return [requests.get(f"{sb.url}/crm/v3/objects/contacts", headers=auth(sb)).status_code
                    for _ in range(20)]
    first = pattern()
    assert first == pattern() and 200 in first and 503 in first


def test_bad_fault_rule_is_refused(sandbox):
    resp = requests.put(f"{sandbox.url}/_sandbox/faults", json={"rules": [{"kind": "explode"}]})
    assert resp.status_code == 400 and "unknown fault kind" in resp.json()["message"]


def test_same_seed_same_data():
    a, b = Portal(seed=5, contacts=200, deals=50), Portal(seed=5, contacts=200, deals=50)
    c = Portal(seed=6, contacts=200, deals=50)

    def dump(p):
        return [(r.id, r.props, r.created, r.updated) for t in p.records for r in p.records[t].values()]
    assert dump(a) == dump(b) and dump(a) != dump(c)
    emails = [r.props.get("email", "") for r in a.all_active("contacts")]
    assert any("@" not in e or e.endswith("@") or " " in e for e in emails)  # some invalid or messy
    assert len({e.strip().lower() for e in emails}) < len(emails)  # some people entered twice
    assert {r.props["deal_currency_code"] for r in a.all_active("deals")} == {"USD", "CAD"}
    assert {r.props["pipeline"] for r in a.all_active("deals")} == {"default", "renewals"}


def test_wrong_token_and_missing_scope(sandbox):
    bad = requests.get(f"{sandbox.url}/crm/v3/objects/contacts", headers={"Authorization": "Bearer wrong"})
    assert bad.status_code == 401 and bad.json()["category"] == "INVALID_AUTHENTICATION"
    assert requests.get(f"{sandbox.url}/crm/v3/objects/contacts").status_code == 401
    app = sandbox.state.auth.oauth_app
    loc = requests.get(f"{sandbox.url}/oauth/authorize", allow_redirects=False, params={
        "client_id": app.client_id, "redirect_uri": "http://x/cb", "scope": "crm.objects.contacts.read"}).headers["Location"]
    code = loc.split("code=")[1].split("&")[0]
    tokens = requests.post(f"{sandbox.url}/oauth/v1/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": "http://x/cb",
        "client_id": app.client_id, "client_secret": app.client_secret}).json()
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    denied = requests.get(f"{sandbox.url}/crm/v3/objects/deals", headers=headers)
    assert denied.status_code == 403 and denied.json()["category"] == "MISSING_SCOPES"
    requests.post(f"{sandbox.url}/_sandbox/tokens/expire")
    expired = requests.get(f"{sandbox.url}/crm/v3/objects/contacts", headers=headers)
    assert expired.status_code == 401 and expired.json()["category"] == "EXPIRED_AUTHENTICATION"
    # A reused authorization code and a wrong secret are refused with HubSpot's OAuth error shape.
    again = requests.post(f"{sandbox.url}/oauth/v1/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": "http://x/cb",
        "client_id": app.client_id, "client_secret": app.client_secret})
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    # Revoking the refresh token ends it.
    assert requests.delete(f"{sandbox.url}/oauth/v1/refresh-tokens/{tokens['refresh_token']}").status_code == 204
    refused = requests.post(f"{sandbox.url}/oauth/v1/token", data={
        "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"],
        "client_id": app.client_id, "client_secret": app.client_secret})
    assert refused.json()["status"] == "BAD_REFRESH_TOKEN"


def test_refresh_token_rotation_switch(sandbox):
    st = sandbox.state.auth
    st.rotate_refresh_tokens = True
    try:
        first = st._access(["crm.objects.contacts.read"], "rt-seed")
        st.refresh["rt-seed"] = ["crm.objects.contacts.read"]
        issued = st.use_refresh("rt-seed")
        assert issued["refresh_token"] != "rt-seed" and st.use_refresh("rt-seed") is None
        assert first["access_token"] != issued["access_token"]
    finally:
        st.rotate_refresh_tokens = False


def test_batch_read_partial_failure_is_207(sandbox):
    some = sandbox.state.portal.all_active("contacts")[0]
    resp = requests.post(f"{sandbox.url}/crm/v3/objects/contacts/batch/read", headers=auth(sandbox),
                         json={"properties": ["email"], "inputs": [{"id": str(some.id)}, {"id": "999999999"}]})
    assert resp.status_code == 207
    body = resp.json()
    assert body["numErrors"] == 1 and body["errors"][0]["context"]["ids"] == ["999999999"]
    assert body["results"][0]["id"] == str(some.id)


def test_batch_create_207_with_trace_ids_and_400_without(sandbox):
    url = f"{sandbox.url}/crm/v3/objects/deals/batch/create"
    good = {"properties": {"dealname": "OK deal", "pipeline": "default", "dealstage": "closedwon"}, "objectWriteTraceId": "a"}
    bad = {"properties": {"dealname": "Bad", "no_such_prop": "x"}, "objectWriteTraceId": "b"}
    resp = requests.post(url, json={"inputs": [good, bad]}, headers=auth(sandbox))
    assert resp.status_code == 207 and len(resp.json()["results"]) == 1
    assert resp.json()["errors"][0]["context"]["objectWriteTraceId"] == ["b"]
    def strip(d):
        return {"properties": d["properties"]}
    resp = requests.post(url, json={"inputs": [strip(good), strip(bad)]}, headers=auth(sandbox))
    assert resp.status_code == 400 and resp.json()["errors"][0]["code"] == "PROPERTY_DOESNT_EXIST"
    too_many = requests.post(url, json={"inputs": [strip(good)] * 101}, headers=auth(sandbox))
    assert too_many.status_code == 400
    not_objects = requests.post(f"{sandbox.url}/crm/v3/objects/deals/batch/update", json={"inputs": ["1", 2]},
                                headers=auth(sandbox))
    assert not_objects.status_code == 400 and "must be a JSON object" in not_objects.json()["message"]


def test_single_object_crud(sandbox):
    url = f"{sandbox.url}/crm/v3/objects/contacts"
    created = requests.post(url, json={"properties": {"email": "crud@example.com", "firstname": "Crud"}}, headers=auth(sandbox))
    assert created.status_code == 201
    rid = created.json()["id"]
    dup = requests.post(url, json={"properties": {"email": "crud@example.com"}}, headers=auth(sandbox))
    assert dup.status_code == 409
    by_email = requests.get(f"{url}/crud@example.com?idProperty=email&properties=firstname", headers=auth(sandbox))
    assert by_email.json()["id"] == rid and by_email.json()["properties"]["firstname"] == "Crud"
    patched = requests.patch(f"{url}/{rid}", json={"properties": {"firstname": ""}}, headers=auth(sandbox))
    assert patched.status_code == 200 and patched.json()["properties"]["firstname"] is None
    bad_option = requests.patch(f"{url}/{rid}", json={"properties": {"lifecyclestage": "wizard"}}, headers=auth(sandbox))
    assert bad_option.status_code == 400 and bad_option.json()["errors"][0]["code"] == "INVALID_OPTION"
    assert requests.delete(f"{url}/{rid}", headers=auth(sandbox)).status_code == 204
    assert requests.get(f"{url}/{rid}", headers=auth(sandbox)).status_code == 404
    archived = requests.get(f"{url}/{rid}?archived=true", headers=auth(sandbox)).json()
    assert archived["archived"] is True and "archivedAt" in archived
    assert requests.get(f"{url}/not-a-number", headers=auth(sandbox)).status_code == 404
    assert requests.post(url, data="{nope", headers={**auth(sandbox), "Content-Type": "application/json"}).status_code == 400


def test_associations(sandbox):
    portal = sandbox.state.portal
    deal_id, contacts = next(iter(portal.deal_contacts.items()))
    resp = requests.get(f"{sandbox.url}/crm/v4/objects/deals/{deal_id}/associations/contacts", headers=auth(sandbox))
    assert [r["toObjectId"] for r in resp.json()["results"]] == sorted(contacts)  # in id order, as HubSpot pages them
    assert resp.json()["results"][0]["associationTypes"][0]["typeId"] == 3
    contact_id, company_id = next(iter(portal.contact_company.items()))
    batch = requests.post(f"{sandbox.url}/crm/v4/associations/contacts/companies/batch/read",
                          json={"inputs": [{"id": str(contact_id)}]}, headers=auth(sandbox)).json()
    assert batch["results"][0]["to"][0]["toObjectId"] == company_id


def test_change_simulator_and_same_timestamp():
    with SandboxServer(SandboxConfig(contacts=100, deals=10, limits=False)) as sb:
        resp = requests.post(f"{sb.url}/_sandbox/changes", json={"update": 15, "create": 5, "archive": 3,
                                                                "same_timestamp": True})
        touched = resp.json()
        assert [len(touched[k]) for k in ("updated", "created", "archived")] == [15, 5, 3]
        portal = sb.state.portal
        stamps = {portal.records["contacts"][int(i)].updated for i in touched["updated"] + touched["created"]}
        assert len(stamps) == 1
        assert len(portal.all_active("contacts")) == 102
        bad = requests.post(f"{sb.url}/_sandbox/changes", json={"update": 10_000})
        assert bad.status_code == 400


def test_webhook_retries_and_switches():
    sink = HttpSink(statuses=[500])
    with SandboxServer(SandboxConfig(contacts=20, deals=0, limits=False)) as sb:
        requests.put(f"{sb.url}/_sandbox/webhooks", json={"url": sink.url, "retry_base": 0.05,
                                                          "subscriptions": ["contact.creation"]})
        requests.post(f"{sb.url}/_sandbox/changes", json={"create": 2})
        first = json.loads(sink.wait_for(1)[0].body)
        assert {e["attemptNumber"] for e in first} == {0}
        failed_ids = {e["eventId"] for e in first}
        deadline = time.monotonic() + 10
        retried: set = set()
        while not failed_ids <= retried and time.monotonic() < deadline:
            retried = {e["eventId"] for c in sink.received[1:] for e in json.loads(c.body) if e["attemptNumber"] == 1}
            time.sleep(0.02)
        assert failed_ids <= retried  # the failed batch came back with attemptNumber 1
        delivered = len(sink.received)

        requests.put(f"{sb.url}/_sandbox/webhooks", json={"duplicates": True, "late": True, "bad_signature": True})
        requests.post(f"{sb.url}/_sandbox/changes", json={"create": 1})
        dup_a, dup_b = sink.wait_for(delivered + 2)[delivered:delivered + 2]
        assert dup_a.body == dup_b.body
        age = time.time() * 1000 - int(dup_a.headers["X-Hubspot-Request-Timestamp"])
        assert age > 5 * 60 * 1000

        requests.put(f"{sb.url}/_sandbox/webhooks", json={"duplicates": False, "late": False, "out_of_order": True,
                                                          "paused": True, "subscriptions": ["contact.propertyChange"]})
        requests.post(f"{sb.url}/_sandbox/changes", json={"update": 10})  # queued, then released as one batch
        requests.put(f"{sb.url}/_sandbox/webhooks", json={"paused": False})
        batch = json.loads(sink.wait_for(delivered + 3)[delivered + 2].body)
    sink.close()
    ids = [e["eventId"] for e in batch]
    assert len(ids) > 1 and ids != sorted(ids)


def test_sandbox_cli_change_against_running_sandbox(app, runner):
    with SandboxServer(SandboxConfig(contacts=30, deals=5, limits=False)) as sb:
        result = runner.invoke(args=["sandbox", "change", "--url", sb.url, "--update", "4", "--archive", "2"])
        assert result.exit_code == 0, result.output
        assert json.loads(result.output) == {"updated": 4, "created": 0, "archived": 2}
        bad = runner.invoke(args=["sandbox", "change", "--url", sb.url, "--update", "999"])
        assert bad.exit_code != 0 and "only 28 active contacts" in bad.output


def test_other_standard_objects_and_legacy_property_endpoints_answer_as_hubspot_does(sandbox):
    """A client that discovers every object type (the Singer taps) finds HubSpot's shapes: properties for
    calls, tickets, line items…, an empty list and search for objects the portal has none of, the legacy
    v1/v2 property arrays; an unknown type is still a 400 (the objects it holds: test_sandbox_objects.py)."""
    h = auth(sandbox)
    for name in ("calls", "call", "0-5", "line_item", "goal_targets", "postal_mail"):
        props = requests.get(f"{sandbox.url}/crm/v3/properties/{name}", headers=h)
        assert props.status_code == 200, name
        assert {"hs_object_id", "hs_lastmodifieddate"} <= {p["name"] for p in props.json()["results"]}
    assert requests.get(f"{sandbox.url}/crm/v3/objects/meetings?limit=5", headers=h).json() == {"results": []}
    found = requests.post(f"{sandbox.url}/crm/v3/objects/calls/search", headers=h, json={"limit": 5})
    assert found.json() == {"total": 0, "results": []}
    deals = requests.get(f"{sandbox.url}/properties/v1/deals/properties", headers=h).json()
    companies = requests.get(f"{sandbox.url}/companies/v2/properties", headers=h).json()
    assert isinstance(deals, list) and "dealstage" in {p["name"] for p in deals}
    assert isinstance(companies, list) and "domain" in {p["name"] for p in companies}
    assert requests.get(f"{sandbox.url}/crm/v3/properties/contact", headers=h).status_code == 200
    unknown = requests.get(f"{sandbox.url}/crm/v3/properties/spaceships", headers=h)
    assert unknown.status_code == 400 and "Unable to infer object type" in unknown.json()["message"]
    assert requests.get(f"{sandbox.url}/crm/v3/objects/tickets").status_code == 401  # still authenticated


def test_a_range_search_reads_through_the_index_exactly_as_a_scan(sandbox):
    """The sorted index narrows a range filter; each answer equals a filter over every record."""
    from console.connectors.hubspot.streams import to_ms

    h = auth(sandbox)

    def search(filters: list) -> tuple[int, list[int]]:
        out, after, total = [], 0, 0
        while after is not None:
            body = {"limit": 200, "after": after, "properties": ["lastmodifieddate"],
                    "filterGroups": [{"filters": filters}] if filters else []}
            got = requests.post(f"{sandbox.url}/crm/v3/objects/contacts/search", headers=h, json=body).json()
            total = got["total"]
            out += [to_ms(r["properties"]["lastmodifieddate"]) or 0 for r in got["results"]]
            after = int(got["paging"]["next"]["after"]) if got.get("paging") else None
        return total, out

    total, stamps = search([])
    assert total == len(stamps) > 200  # more than one page
    middle, low = sorted(stamps)[len(stamps) // 2], sorted(stamps)[len(stamps) // 4]
    cases = {"GTE": lambda v: v >= middle, "GT": lambda v: v > middle, "LT": lambda v: v < middle,
             "LTE": lambda v: v <= middle, "EQ": lambda v: v == middle}
    for op, keep in cases.items():
        got, _ = search([{"propertyName": "lastmodifieddate", "operator": op, "value": str(middle)}])
        assert got == sum(1 for v in stamps if keep(v)), op
    between, _ = search([{"propertyName": "lastmodifieddate", "operator": "BETWEEN", "value": str(low),
                          "highValue": str(middle)}])
    assert between == sum(1 for v in stamps if low <= v <= middle) > 1


def test_spread_ties_gives_the_clamped_records_distinct_times_and_changes_nothing_else():
    from collections import Counter

    from console.sandbox.data import BASE_MS

    tied, spread = Portal(seed=8, contacts=3000, deals=100), Portal(seed=8, contacts=3000, deals=100, spread_ties=True)
    clamped = [r.id for r in tied.records["contacts"].values() if r.updated == BASE_MS]
    assert len(clamped) > 150  # the seed's ties: about a tenth of the records
    assert not any(r.updated == BASE_MS for records in spread.records.values() for r in records.values())
    moved = {r.id: r.updated for r in spread.records["contacts"].values() if r.id in set(clamped)}
    assert all(BASE_MS - 3_600_000 <= t < BASE_MS for t in moved.values())
    assert max(Counter(moved.values()).values()) <= 2  # spread over the hour, not another tie
    for kind, records in tied.records.items():
        for rid, rec in records.items():
            other = spread.records[kind][rid]
            assert other.props == rec.props and other.created == rec.created
            assert other.updated == rec.updated or rec.updated == BASE_MS


def test_search_ties_can_come_back_in_any_order(sandbox):
    """`shuffle_ties`: records with one modification time are ordered anew on every search, as HubSpot
    promises no order among equal values; a flag that is not a boolean is refused."""
    url = f"{sandbox.url}/_sandbox/search"
    assert requests.put(url, json={"shuffle_ties": "yes"}, timeout=5).status_code == 400
    portal = sandbox.state.portal
    tied = portal.all_active("contacts")[:60]
    kept = {rec.id: rec.updated for rec in tied}  # the session's sandbox: put back as it was afterwards
    with portal.lock:
        for rec in tied:
            rec.updated = 1_700_000_000_000
        portal.version += 1
    body = {"filterGroups": [{"filters": [{"propertyName": "lastmodifieddate", "operator": "EQ",
                                           "value": "1700000000000"}]}],
            "sorts": [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}], "limit": 100}
    search = f"{sandbox.url}/crm/v3/objects/contacts/search"

    def order() -> list[str]:
        return [r["id"] for r in requests.post(search, json=body, headers=auth(sandbox), timeout=5).json()["results"]]
    try:
        assert order() == order() == sorted(order(), key=int)  # off: ties by id, the same every time
        assert requests.put(url, json={"shuffle_ties": True}, timeout=5).json()["shuffle_ties"] is True
        orders = {tuple(order()) for _ in range(3)}
        assert len(orders) > 1 and all(sorted(o) == sorted(next(iter(orders))) for o in orders)
    finally:
        requests.put(url, json={"shuffle_ties": False}, timeout=5)
        with portal.lock:
            for rec in tied:
                rec.updated = kept[rec.id]
            portal.version += 1
