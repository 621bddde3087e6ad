"""The Salesforce sandbox takes SOQL, JSON bodies, JWT assertions and cursor locators from whoever calls it:
each is bounded and refused with Salesforce's own error (never a 500, never a hang), and a refused write
changes nothing."""
from __future__ import annotations

import time

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from console.sandbox.salesforce import OrgConfig, SalesforceSandbox, soql
from console.sandbox.salesforce.api_query import resolver

APP_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
V = "/services/data/v60.0"


@pytest.fixture(scope="module")
def org():
    public = APP_KEY.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    with SalesforceSandbox(OrgConfig(contacts=2_500, jwt_public_key=public)) as sandbox:
        yield sandbox


@pytest.fixture
def call(org):
    headers = {"Authorization": f"Bearer {org.token()}"}

    def send(method: str, path: str, **kw) -> requests.Response:
        return requests.request(method, org.url + path, headers={**headers, **kw.pop("headers", {})}, timeout=30, **kw)
    return send


HOSTILE_SOQL = [
    ("SELECT Id FROM Contact WHERE " + "(" * 5_000 + "Email = 'a'" + ")" * 5_000, "MALFORMED_QUERY"),
    ("SELECT Id FROM Contact WHERE Id IN (" + ",".join(f"'{i}'" for i in range(5_000)) + ")", "MALFORMED_QUERY"),
    ("SELECT Id FROM Contact WHERE Email = 'unterminated", "MALFORMED_QUERY"),
    ("SELECT Id FROM Contact LIMIT 99999999999999", "MALFORMED_QUERY"),
    ("SELECT Id FROM Contact OFFSET 2001", "MALFORMED_QUERY"),
    ("SELECT Id FROM Contact WHERE CreatedDate > 2024-13-45T99:99:99Z", "MALFORMED_QUERY"),
    ("SELECT Id FROM Contact; DELETE FROM Contact", "MALFORMED_QUERY"),
    ("SELECT Id FROM User__x", "MALFORMED_QUERY"),
    ("SELECT Password FROM User", "INVALID_FIELD"),
    ("SELECT Id FROM Contact WHERE Email > null", "MALFORMED_QUERY"),
    ("\x00\xff SELECT", "MALFORMED_QUERY"),
    ("", "MALFORMED_QUERY"),
]


@pytest.mark.parametrize("soql,code", HOSTILE_SOQL, ids=range(len(HOSTILE_SOQL)))
def test_hostile_soql_is_refused_quickly_with_salesforces_error(call, soql, code):
    started = time.monotonic()
    resp = call("GET", f"{V}/query/", params={"q": soql})
    assert resp.status_code == 400 and resp.json()[0]["errorCode"] == code
    assert time.monotonic() - started < 5


def test_a_query_beyond_salesforces_length_is_refused():
    """Over GET the server's request line refuses it first (414, as Salesforce's 16 KB URI limit does);
    the parser's own bound holds for any other way in."""
    with pytest.raises(soql.Malformed, match="longer than"):
        soql.parse("SELECT Id FROM Contact WHERE " + "Email = 'a' OR " * 8_000 + "Email = 'b'", resolver)


def test_a_query_url_beyond_the_servers_limit_gets_414(call):
    resp = call("GET", f"{V}/query/", params={"q": "SELECT Id FROM Contact WHERE " + "Email = 'a' OR " * 6_000 + "Email = 'b'"})
    assert resp.status_code == 414


def test_text_in_a_query_is_a_value_never_syntax(call, org):
    sneaky = "x' OR Email != null OR Email = 'y".replace("'", "\\'")  # quoted as a client must quote it
    resp = call("GET", f"{V}/query/", params={"q": f"SELECT Id FROM Contact WHERE Email = '{sneaky}'"})
    assert resp.status_code == 200 and resp.json()["totalSize"] == 0


def test_hostile_write_bodies_change_nothing(call, org):
    before = {name: len(rows) for name, rows in org.org.records.items()}
    account = next(iter(org.org.records["Account"]))
    cases = [
        (f"{V}/sobjects/Contact/", {"data": "not json", "headers": {"Content-Type": "application/json"}}, "JSON_PARSER_ERROR"),
        (f"{V}/sobjects/Contact/", {"json": [{"LastName": "x"}]}, "JSON_PARSER_ERROR"),
        (f"{V}/sobjects/Contact/", {"json": {"LastName": "x" * 100_000}}, "STRING_TOO_LONG"),
        (f"{V}/sobjects/Contact/", {"json": {"LastName": "x", "AccountId": "003Dn0000000001IAA"}}, "INVALID_CROSS_REFERENCE_KEY"),
        (f"{V}/sobjects/Contact/", {"json": {"LastName": "x", "Email": 42}}, "JSON_PARSER_ERROR"),
        (f"{V}/sobjects/Contact/", {"json": {"LastName": "x", "Email": "not-an-address"}}, "INVALID_EMAIL_ADDRESS"),
        (f"{V}/sobjects/Contact/", {"json": {"LastName": "x", "Id": account}}, "INVALID_FIELD_FOR_INSERT_UPDATE"),
        (f"{V}/sobjects/Contact/", {"json": {"LastName": "x", "SystemModstamp": "2020-01-01T00:00:00Z"}},
         "INVALID_FIELD_FOR_INSERT_UPDATE"),
        (f"{V}/sobjects/Contact/", {"json": {"LastName": "x", "Nope__c": 1}}, "INVALID_FIELD"),
        (f"{V}/sobjects/Opportunity/", {"json": {"Name": "x", "CloseDate": "2026-01-01", "StageName": "Made Up"}},
         "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"),
        (f"{V}/composite/sobjects", {"json": {"records": [{"attributes": {"type": "Contact"}, "LastName": "x"}] * 201}},
         "EXCEEDED_ID_LIMIT"),
        (f"{V}/sobjects/Contact/", {"data": b"{" + b" " * (9 * 1024 * 1024) + b"}",
                                    "headers": {"Content-Type": "application/json"}}, "REQUEST_TOO_LARGE"),
    ]
    for path, kw, code in cases:
        resp = call("POST", path, **kw)
        assert 400 <= resp.status_code < 500 and resp.json()[0]["errorCode"] == code, (code, resp.text[:300])
    assert {name: len(rows) for name, rows in org.org.records.items()} == before


def test_a_cursor_locator_is_checked_and_at_most_ten_stay_open(call):
    assert call("GET", f"{V}/query/01gNOPE-2000").json()[0]["errorCode"] == "INVALID_QUERY_LOCATOR"
    first = call("GET", f"{V}/query/", params={"q": "SELECT Id FROM Contact"}).json()["nextRecordsUrl"]
    assert call("GET", first.rsplit("-", 1)[0] + "-999999").json()[0]["errorCode"] == "INVALID_QUERY_LOCATOR"
    for _ in range(10):
        call("GET", f"{V}/query/", params={"q": "SELECT Id FROM Contact"})
    assert call("GET", first).json()[0]["errorCode"] == "INVALID_QUERY_LOCATOR"  # the oldest was dropped


def _bearer(org, assertion: str) -> requests.Response:
    return requests.post(f"{org.url}/services/oauth2/token", timeout=10,
                         data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion})


def test_forged_jwt_assertions_get_no_token(org):
    o = org.org
    claims = {"iss": o.client_id, "sub": o.config.username, "aud": "https://login.salesforce.com", "exp": int(time.time()) + 60}
    forged = [
        jwt.encode(claims, OTHER_KEY, algorithm="RS256"),                                  # another key
        jwt.encode(claims, "s" * 32, algorithm="HS256"),                                   # not RS256
        jwt.encode(claims, None, algorithm="none"),                                        # unsigned
        jwt.encode({**claims, "exp": int(time.time()) - 1}, APP_KEY, algorithm="RS256"),   # expired
        jwt.encode({**claims, "exp": int(time.time()) + 3_600}, APP_KEY, algorithm="RS256"),  # beyond 3 minutes
        jwt.encode({**claims, "iss": "someone-else"}, APP_KEY, algorithm="RS256"),
        jwt.encode({**claims, "sub": "nobody@sandbox.example"}, APP_KEY, algorithm="RS256"),
        jwt.encode({**claims, "aud": "https://evil.example"}, APP_KEY, algorithm="RS256"),
        "a.b", "x" * 100_000, "....", "",
    ]
    for assertion in forged:
        resp = _bearer(org, assertion)
        assert resp.status_code == 400 and "access_token" not in resp.json(), assertion[:40]
    assert _bearer(org, jwt.encode(claims, APP_KEY, algorithm="RS256")).status_code == 200


def test_an_authorize_redirect_goes_only_to_a_web_address(org):
    o = org.org
    for target in ("javascript:alert(1)", "data:text/html,x", "//evil.example", "https://ok.example/" + "a" * 3_000):
        resp = requests.get(f"{org.url}/services/oauth2/authorize", allow_redirects=False, timeout=10,
                            params={"response_type": "code", "client_id": o.client_id, "redirect_uri": target})
        assert resp.status_code == 400 and "Location" not in resp.headers
