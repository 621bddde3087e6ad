"""HubSpot's official Python SDK, pointed at the sandbox, must page, search, upsert and read
metadata, exchange OAuth tokens, and validate the sandbox's webhook signatures."""
from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from hubspot import HubSpot
from hubspot.crm.contacts import (
    BatchInputSimplePublicObjectBatchInputUpsert,
    PublicObjectSearchRequest,
    SimplePublicObjectBatchInputUpsert,
)
from hubspot.utils.signature import Signature

from console.sandbox import SandboxConfig, SandboxServer

from ..sinks import HttpSink


@pytest.fixture
def api(sandbox) -> HubSpot:
    return HubSpot(access_token=sandbox.token, host=sandbox.url)


def test_sdk_pages_through_all_contacts(api, sandbox):
    contacts = api.crm.contacts.get_all(properties=["email", "lifecyclestage"])
    active = sandbox.state.portal.all_active("contacts")
    assert len(contacts) == len(active)
    assert {c.id for c in contacts} == {str(r.id) for r in active}
    assert all("lifecyclestage" in c.properties for c in contacts)


def test_sdk_search_with_filters_and_sort(api):
    request = PublicObjectSearchRequest(
        filter_groups=[{"filters": [{"propertyName": "lifecyclestage", "operator": "IN",
                                     "values": ["lead", "customer"]},
                                    {"propertyName": "lastmodifieddate", "operator": "GTE", "value": "0"}]}],
        sorts=[{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}],
        properties=["email", "lifecyclestage", "lastmodifieddate"], limit=100)
    page = api.crm.contacts.search_api.do_search(public_object_search_request=request)
    assert page.total > 0 and len(page.results) == min(100, page.total)
    stamps = [r.properties["lastmodifieddate"] for r in page.results]
    assert stamps == sorted(stamps)
    assert {r.properties["lifecyclestage"] for r in page.results} <= {"lead", "customer"}


def test_sdk_batch_upsert(api, sandbox):
    inputs = [SimplePublicObjectBatchInputUpsert(id="sdk.new@example.com", id_property="email",
                                                 properties={"firstname": "Sdk", "lifecyclestage": "lead"})]
    result = api.crm.contacts.batch_api.upsert(
        batch_input_simple_public_object_batch_input_upsert=BatchInputSimplePublicObjectBatchInputUpsert(inputs=inputs))
    assert result.status == "COMPLETE" and result.results[0].new is True
    again = api.crm.contacts.batch_api.upsert(
        batch_input_simple_public_object_batch_input_upsert=BatchInputSimplePublicObjectBatchInputUpsert(inputs=inputs))
    assert again.results[0].new is False and again.results[0].id == result.results[0].id


def test_sdk_reads_properties_owners_and_pipelines(api):
    props = api.crm.properties.core_api.get_all(object_type="contacts").results
    by_name = {p.name: p for p in props}
    assert by_name["lifecyclestage"].type == "enumeration"
    assert {o.value for o in by_name["hs_lead_status"].options} >= {"NEW", "OPEN"}
    owners = api.crm.owners.owners_api.get_page().results
    assert owners and all(o.email for o in owners)
    pipelines = api.crm.pipelines.pipelines_api.get_all(object_type="deals").results
    assert {p.id for p in pipelines} == {"default", "renewals"}
    assert pipelines[0].stages[0].metadata["isClosed"] in ("true", "false")


def test_sdk_oauth_token_exchange_and_refresh(sandbox):
    app = sandbox.state.auth.oauth_app
    redirect = "http://127.0.0.1:5000/oauth/callback"
    resp = requests.get(f"{sandbox.url}/oauth/authorize", allow_redirects=False, params={
        "client_id": app.client_id, "redirect_uri": redirect, "state": "xyz",
        "scope": "crm.objects.contacts.read oauth"})
    assert resp.status_code == 302
    query = parse_qs(urlsplit(resp.headers["Location"]).query)
    assert query["state"] == ["xyz"]
    client = HubSpot(host=sandbox.url)
    tokens = client.oauth.tokens_api.create(grant_type="authorization_code", code=query["code"][0],
                                            redirect_uri=redirect, client_id=app.client_id,
                                            client_secret=app.client_secret)
    assert tokens.expires_in == 1800 and tokens.access_token and tokens.refresh_token
    api = HubSpot(access_token=tokens.access_token, host=sandbox.url)
    assert api.crm.contacts.basic_api.get_page(limit=2).results
    meta = client.oauth.access_tokens_api.get(token=tokens.access_token)
    assert "crm.objects.contacts.read" in meta.scopes and meta.hub_id == sandbox.state.portal.portal_id
    refreshed = client.oauth.tokens_api.create(grant_type="refresh_token", refresh_token=tokens.refresh_token,
                                               client_id=app.client_id, client_secret=app.client_secret)
    assert refreshed.access_token != tokens.access_token


@pytest.mark.parametrize("version", ["v1", "v2", "v3"])
def test_sdk_validates_sandbox_webhook_signatures(version):
    sink = HttpSink()
    with SandboxServer(SandboxConfig(contacts=20, deals=5, seed=3, limits=False)) as sb:
        sb.state.webhooks.config.url = sink.url
        sb.state.webhooks.config.version = version
        requests.post(f"{sb.url}/_sandbox/changes", json={"update": 3, "create": 1}, timeout=10)
        delivery = sink.wait_for(1)[0]
    sink.close()
    events = json.loads(delivery.body)
    assert 1 <= len(events) <= 100 and {"eventId", "portalId", "subscriptionType", "objectId"} <= events[0].keys()
    h = delivery.headers
    if version == "v3":
        signature, timestamp = h["X-Hubspot-Signature-V3"], h["X-Hubspot-Request-Timestamp"]
    else:
        signature, timestamp = h["X-Hubspot-Signature"], None
        assert h["X-Hubspot-Signature-Version"] == version
    secret = sb.state.auth.oauth_app.client_secret
    assert Signature.is_valid(signature=signature, client_secret=secret, request_body=delivery.body.decode(),
                              http_uri=sink.url, http_method="POST", signature_version=version,
                              timestamp=timestamp)
