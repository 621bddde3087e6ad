"""The Salesforce sandbox (issue 38) against the ecosystem's own client: simple-salesforce, unmodified, over
https (the sandbox's throwaway authority trusted by file), for every call a connector makes; each checked
against the org's own memory, and each sized to cross its boundary (more than one query batch, ties at
one SystemModstamp across a LIMIT, a collection rolled back whole)."""
from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
)

from console.sandbox.salesforce import OrgConfig, SalesforceSandbox

APP_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def org(tmp_path_factory):
    public = APP_KEY.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    with SalesforceSandbox(OrgConfig(contacts=4_500, jwt_public_key=public), tls=tmp_path_factory.mktemp("tls")) as sandbox:
        yield sandbox


def client(sandbox: SalesforceSandbox, token: str | None = None) -> Salesforce:
    session = requests.Session()
    session.verify, session.trust_env = str(sandbox.certificate), False  # the environment's CA bundle would win
    return Salesforce(instance_url=sandbox.url, session_id=token or sandbox.token(), session=session, version="60.0")


@pytest.fixture
def sf(org) -> Salesforce:
    return client(org)


def test_query_all_follows_next_records_url_across_batches(sf, org):
    before = dict(org.org.requests)
    result = sf.query_all("SELECT Id, Email, AccountId FROM Contact")
    held = org.org.records["Contact"]
    assert result["totalSize"] == len(held) and len(result["records"]) == len(held) > 4_000
    assert {r["Id"]: r["Email"] for r in result["records"]} == {i: r["Email"] for i, r in held.items()}
    more = org.org.requests.get("GET /services/data/vXX.X/query/{locator}", 0) - before.get(
        "GET /services/data/vXX.X/query/{locator}", 0)
    assert more == 2  # 2,000 + 2,000 + the rest
    assert sf.api_usage["api-usage"].used == org.org.api_used


def test_keyset_paging_over_system_modstamp_and_id_passes_every_tie(sf, org):
    """A tenth of the seed shares one SystemModstamp: pages of 200 must cross it by Id, not by time alone."""
    seen, cursor = [], None
    while True:
        where = "" if cursor is None else (f" WHERE SystemModstamp > {cursor[0]} OR "
                                           f"(SystemModstamp = {cursor[0]} AND Id > '{cursor[1]}')")
        page = sf.query(f"SELECT Id, SystemModstamp FROM Contact{where} ORDER BY SystemModstamp ASC, Id ASC LIMIT 200")
        rows = page["records"]
        if not rows:
            break
        seen += [r["Id"] for r in rows]
        cursor = (rows[-1]["SystemModstamp"].replace("+0000", "Z"), rows[-1]["Id"])
    stamps = [r["SystemModstamp"] for r in org.org.records["Contact"].values()]
    assert max(stamps.count(s) for s in set(stamps)) > 200  # the tie is wider than a page
    assert len(seen) == len(set(seen)) == len(org.org.records["Contact"])


def test_describe_picklists_and_record_types(sf):
    contact = sf.Contact.describe()
    fields = {f["name"]: f for f in contact["fields"]}
    assert fields["Email"]["type"] == "email" and fields["Connector_Console_Id__c"]["externalId"] is True
    assert fields["Name"]["calculated"] is True and fields["Name"]["updateable"] is False
    assert [p["value"] for p in fields["LeadSource"]["picklistValues"]][:2] == ["Web", "Phone Inquiry"]
    opportunity = sf.Opportunity.describe()
    renewal = next(rt for rt in opportunity["recordTypeInfos"] if rt["name"] == "Renewal")
    values = sf.restful(f"ui-api/object-info/Opportunity/picklist-values/{renewal['recordTypeId']}")
    assert [v["value"] for v in values["picklistFieldValues"]["StageName"]["values"]] == [
        "Renewal Due", "Negotiation/Review", "Closed Won", "Closed Lost"]
    assert {o["name"] for o in sf.describe()["sobjects"]} >= {"Lead", "Contact", "Account", "Opportunity"}


def test_records_are_created_updated_upserted_on_the_external_id_and_deleted(sf, org):
    created = sf.Contact.create({"LastName": "Zed", "Email": "zed@example.com"})
    record = sf.Contact.get(created["id"])
    assert record["Name"] == "Zed" and record["LastModifiedById"] == org.org.integration_user
    sf.Contact.update(created["id"], {"FirstName": "Ada"})
    assert sf.Contact.get(created["id"])["Name"] == "Ada Zed"
    assert sf.Contact.upsert("Connector_Console_Id__c/cc-1", {"LastName": "Up"}) == 201
    assert sf.Contact.upsert("Connector_Console_Id__c/cc-1", {"LastName": "Again"}) == 200
    assert sf.Contact.get_by_custom_id("Connector_Console_Id__c", "cc-1")["LastName"] == "Again"
    sf.Contact.delete(created["id"])
    gone = sf.query_all(f"SELECT Id, IsDeleted FROM Contact WHERE Id = '{created['id']}'", include_deleted=True)
    assert gone["records"][0]["IsDeleted"] is True
    assert sf.query(f"SELECT Id FROM Contact WHERE Id = '{created['id']}'")["totalSize"] == 0
    now = datetime.now(UTC)
    deleted = sf.Contact.deleted(now - timedelta(hours=1), now + timedelta(minutes=1))
    assert created["id"] in {d["id"] for d in deleted["deletedRecords"]}
    updated = sf.Contact.updated(now - timedelta(hours=1), now + timedelta(minutes=1))
    upserted = sf.Contact.get_by_custom_id("Connector_Console_Id__c", "cc-1")["Id"]
    assert upserted in updated["ids"] and created["id"] not in updated["ids"]


def test_collections_write_200_at_a_time_and_all_or_none_rolls_back(sf, org):
    count = len(org.org.records["Account"])
    records = [{"attributes": {"type": "Account"}, "Name": f"Bulk {i}", "Connector_Console_Id__c": f"b-{i}"}
               for i in range(200)]
    answers = sf.restful("composite/sobjects", method="POST", json={"allOrNone": False, "records": records})
    assert all(a["success"] for a in answers) and len(org.org.records["Account"]) == count + 200
    upserts = [{**r, "Name": f"Renamed {i}"} for i, r in enumerate(records[:150])] + [
        {"attributes": {"type": "Account"}, "Name": f"New {i}", "Connector_Console_Id__c": f"n-{i}"} for i in range(50)]
    answers = sf.restful("composite/sobjects/Account/Connector_Console_Id__c", method="PATCH",
                         json={"allOrNone": False, "records": upserts})
    assert [a["created"] for a in answers] == [False] * 150 + [True] * 50
    bad = [{"attributes": {"type": "Account"}, "Name": "Fine"}, {"attributes": {"type": "Account"}, "Website": "x"}]
    answers = sf.restful("composite/sobjects", method="POST", json={"allOrNone": True, "records": bad})
    assert [a["success"] for a in answers] == [False, False]
    assert answers[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert len(org.org.records["Account"]) == count + 250  # the valid one was rolled back too
    with pytest.raises(SalesforceMalformedRequest, match="EXCEEDED_ID_LIMIT"):
        sf.restful("composite/sobjects", method="POST", json={"records": records + records[:1]})
    renamed = sf.query("SELECT Id FROM Account WHERE Name = 'Renamed 0'")["records"][0]["Id"]
    read = sf.restful(f"composite/sobjects/Account?ids={renamed},001Dn0000000zzzIAA&fields=Name,Website")
    assert read[0]["Name"] == "Renamed 0" and read[1] is None  # an unknown id answers null in its place
    gone = sf.restful(f"composite/sobjects?ids={renamed}", method="DELETE")
    assert gone[0]["success"] and renamed in org.org.deleted["Account"]


def test_limits_are_reported_and_a_spent_day_is_refused(tmp_path):
    with SalesforceSandbox(OrgConfig(contacts=10, daily_limit=5), tls=tmp_path) as small:
        api = client(small)
        assert api.limits()["DailyApiRequests"] == {"Max": 5, "Remaining": 4}
        for _ in range(4):
            api.query("SELECT Id FROM Contact")
        assert api.api_usage["api-usage"].used == 5
        with pytest.raises(SalesforceRefusedRequest, match="REQUEST_LIMIT_EXCEEDED"):
            api.query("SELECT Id FROM Contact")


def test_a_bad_session_and_a_malformed_query_get_salesforce_errors(org, sf):
    with pytest.raises(SalesforceExpiredSession):
        client(org, token="00D!not-a-session").query("SELECT Id FROM Contact")
    with pytest.raises(SalesforceMalformedRequest, match="MALFORMED_QUERY"):
        sf.query("SELEC Id FROM Contact")
    with pytest.raises(SalesforceMalformedRequest, match="INVALID_FIELD"):
        sf.query("SELECT Nope FROM Contact")


def _token(org, **form) -> requests.Response:
    return requests.post(f"{org.url}/services/oauth2/token", data=form, verify=str(org.certificate), timeout=10)


def test_oauth_web_server_refresh_password_and_jwt_bearer_flows(org):
    o = org.org
    consent = requests.get(f"{org.url}/services/oauth2/authorize", verify=str(org.certificate), allow_redirects=False,
                           params={"response_type": "code", "client_id": o.client_id, "state": "s1",
                                   "redirect_uri": "https://console.example/cb"}, timeout=10)
    code = consent.headers["Location"].split("code=")[1].split("&")[0]
    first = _token(org, grant_type="authorization_code", code=code, client_id=o.client_id, client_secret=o.client_secret,
                   redirect_uri="https://console.example/cb").json()
    assert first["instance_url"] == org.url and first["refresh_token"]
    assert _token(org, grant_type="authorization_code", code=code, client_id=o.client_id, client_secret=o.client_secret,
                  redirect_uri="https://console.example/cb").status_code == 400  # a code is used once
    again = _token(org, grant_type="refresh_token", refresh_token=first["refresh_token"], client_id=o.client_id,
                   client_secret=o.client_secret).json()
    who = requests.get(again["id"], headers={"Authorization": f"Bearer {again['access_token']}"},
                       verify=str(org.certificate), timeout=10).json()
    assert who["organization_id"] == o.config.org_id and who["username"] == o.config.username
    requests.post(f"{org.url}/services/oauth2/revoke", data={"token": first["refresh_token"]}, verify=str(org.certificate),
                  timeout=10)
    assert _token(org, grant_type="refresh_token", refresh_token=first["refresh_token"], client_id=o.client_id,
                  client_secret=o.client_secret).status_code == 400  # revoked
    password = _token(org, grant_type="password", username=o.config.username, password=o.config.password,
                      client_id=o.client_id, client_secret=o.client_secret)
    assert password.status_code == 200
    assertion = jwt.encode({"iss": o.client_id, "sub": o.config.username, "aud": "https://login.salesforce.com",
                            "exp": int(time.time()) + 120}, APP_KEY, algorithm="RS256")
    bearer = _token(org, grant_type="urn:ietf:params:oauth:grant-type:jwt-bearer", assertion=assertion).json()
    assert client(org, bearer["access_token"]).query("SELECT COUNT() FROM Lead")["totalSize"] == len(o.records["Lead"])


def test_change_simulation_moves_system_modstamp_and_fills_the_recycle_bin(sf, org):
    held = [*org.org.records["Contact"].values(), *org.org.deleted["Contact"].values()]
    mark = max(r["SystemModstamp"] for r in held)
    answer = requests.post(f"{org.url}/_sandbox/changes", json={"object": "Contact", "update": 30, "delete": 5, "seed": 3},
                           verify=str(org.certificate), timeout=10).json()
    since = mark.replace("+0000", "Z")
    moved = sf.query_all(f"SELECT Id, LastModifiedById FROM Contact WHERE SystemModstamp > {since}")
    assert {r["Id"] for r in moved["records"]} == set(answer["updated"])
    assert all(r["LastModifiedById"] != org.org.integration_user for r in moved["records"])
    bin_ = sf.query_all(f"SELECT Id FROM Contact WHERE IsDeleted = true AND SystemModstamp > {since}", include_deleted=True)
    assert {r["Id"] for r in bin_["records"]} == set(answer["deleted"])
