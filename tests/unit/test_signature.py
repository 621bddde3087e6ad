"""Webhook signatures against HubSpot's own SDK (hubspot-api-client's Signature), v1, v2 and v3."""
from __future__ import annotations

import pytest
from hubspot.utils.signature import Signature

from console.connectors.hubspot.signature import MAX_AGE_MS, SignatureError, expected, match

SECRET = "b2f1d6c0-5f8e-4b7a-9d1e-7c3a2f4e8b90"
BODY = b'[{"eventId":1,"subscriptionType":"contact.propertyChange","objectId":1001}]'
# (the URI as received, the URI HubSpot signs for v3: only these escapes decoded, %20 kept)
URIS = [("https://console.example.com/webhooks/hubspot", "https://console.example.com/webhooks/hubspot"),
        ("https://console.example.com/webhooks/hubspot?portal=62515&x=a%3Ab%2Fc%40d%20e",
         "https://console.example.com/webhooks/hubspot?portal=62515&x=a:b/c@d%20e"),
        ("http://127.0.0.1:5000/webhooks/hubspot?q=%28one%29%2c%21%24%27%2A%3B%3F",
         "http://127.0.0.1:5000/webhooks/hubspot?q=(one),!$'*;?")]
NOW = 1_767_000_000_000
DOCS_SECRET = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"
DOCS_BODY = (b'[{"eventId":1,"subscriptionId":12345,"portalId":62515,"occurredAt":1564113600000,"subscriptionType":'
             b'"contact.creation","attemptNumber":0,"objectId":123,"changeSource":"CRM","changeFlag":"NEW",'
             b'"appId":54321}]')
DOCS_URI = "https://www.example.com/webhook_uri"


def test_hubspots_documented_vectors():
    assert expected("v1", DOCS_SECRET, "POST", DOCS_URI, DOCS_BODY) == \
        "232db2615f3d666fe21a8ec971ac7b5402d33b9a925784df3ca654d05f4817de"
    assert expected("v2", DOCS_SECRET, "GET", DOCS_URI, b"") == \
        "eee2dddcc73c94d699f5e395f4b9d454a069a6855fbfa152e91e88823087200e"
    assert expected("v2", DOCS_SECRET, "POST", DOCS_URI, b'{"example_field":"example_value"}') == \
        "9569219f8ba981ffa6f6f16aa0f48637d35d728c7e4d93d0d52efaa512af7900"
    assert expected("v3", DOCS_SECRET, "POST", DOCS_URI, DOCS_BODY, "1700000000000") == \
        "/pXDSgWeGksQpwCsgqd43P0eY6gBIse9UX0tfkudUrE="


@pytest.mark.parametrize("received,signed", URIS)
@pytest.mark.parametrize("version", ["v1", "v2", "v3"])
def test_our_signatures_equal_the_sdks(version, received, signed):
    """The SDK computes over the URI it is given and decodes nothing: for v3 it is given the URI HubSpot
    signs; v1 and v2 sign the URI as it is."""
    stamp = str(NOW)
    ours = expected(version, SECRET, "POST", received, BODY, stamp if version == "v3" else "")
    sdk_uri = signed if version == "v3" else received
    assert ours == Signature.get_signature(SECRET, BODY.decode(), version, sdk_uri, "POST", stamp)


def _v3_headers(secret: str = SECRET, stamp: int = NOW) -> dict:
    signed = URIS[1][1]
    return {"X-HubSpot-Signature-v3": Signature.get_signature(secret, BODY.decode(), "v3", signed, "POST", str(stamp)),
            "X-HubSpot-Request-Timestamp": str(stamp)}


def test_v3_accepted_with_any_current_secret_and_refused_otherwise():
    assert match(_v3_headers(), "POST", URIS[1][0], BODY, ["old-secret", SECRET], now_ms=NOW + 1000) == ("v3", SECRET)
    cases = {
        "bad_signature": (_v3_headers(secret="someone-else"), BODY),
        "stale_timestamp": (_v3_headers(stamp=NOW - MAX_AGE_MS - 1), BODY),
        "missing_timestamp": ({"X-HubSpot-Signature-v3": "x"}, BODY),
    }
    for reason, (headers, body) in cases.items():
        with pytest.raises(SignatureError) as caught:
            match(headers, "POST", URIS[1][0], body, [SECRET], now_ms=NOW)
        assert caught.value.reason == reason
    with pytest.raises(SignatureError) as tampered:
        match(_v3_headers(), "POST", URIS[1][0], BODY.replace(b"1001", b"1002"), [SECRET], now_ms=NOW)
    assert tampered.value.reason == "bad_signature"


def test_v1_and_v2_and_the_missing_cases():
    for version in ("v1", "v2"):
        headers = {"X-HubSpot-Signature": Signature.get_signature(SECRET, BODY.decode(), version, URIS[0][0]),
                   "X-HubSpot-Signature-Version": version}
        assert match(headers, "POST", URIS[0][0], BODY, [SECRET]) == (version, SECRET)
    for headers, reason in (({}, "missing_signature"), ({"X-HubSpot-Signature": "x", "X-HubSpot-Signature-Version": "v9"},
                                                       "bad_version")):
        with pytest.raises(SignatureError) as caught:
            match(headers, "POST", URIS[0][0], BODY, [SECRET])
        assert caught.value.reason == reason
    with pytest.raises(SignatureError) as none_stored:
        match(_v3_headers(), "POST", URIS[1][0], BODY, ["", None])
    assert none_stored.value.reason == "unknown_account"
