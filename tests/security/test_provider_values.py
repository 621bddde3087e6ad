"""Values the provider hands us are hostile too: the type inference's sample and the association reads
take whatever a portal holds (or a compromised endpoint answers) without a crash, a stall, or a value
stored where an id belongs."""
from __future__ import annotations

import time

from console.connectors.hubspot import associations
from console.mapping.inference import looks_like


def test_inference_takes_huge_and_odd_values_quickly():
    hostile = ["9" * 1_000_000, "1" * 400 + "@example.com", "+" + "1" * 5000, "２０２７-０１-０５", "\x00\u202e2027-01-05",
               "-" * 10_000, "1e999999", "NaN", "Infinity", "2027-01-05T25:61:00Z", {"nested": [1]}, ["x"], 10 ** 400]
    started = time.perf_counter()
    for _ in range(20):
        assert looks_like(hostile) is None
    assert time.perf_counter() - started < 2.0  # bounded work: over-long values are never parsed


class Client:
    def __init__(self, reply):
        self.reply, self.bodies = reply, []

    def post(self, path, body):
        self.bodies.append(body)
        return self.reply


def test_association_reads_ask_only_for_ids_and_keep_only_well_formed_answers():
    client = Client({"results": [
        {"from": {"id": "12"}, "to": [{"toObjectId": 7, "associationTypes": [
            {"category": "USER_DEFINED" * 10, "typeId": 4, "label": "L" * 5000}, {"typeId": None}, "junk",
            {"typeId": "abc"}, {"typeId": 10 ** 30}, {"typeId": True}, {"typeId": [1]}]},
            {"toObjectId": None}, {"toObjectId": "../9", "associationTypes": [{"typeId": 1}]},
            {"toObjectId": 10 ** 40, "associationTypes": [{"typeId": 1}]}, "junk"]},
        {"from": {"id": "99"}, "to": [{"toObjectId": 8, "associationTypes": [{"typeId": 1}]}]},  # never asked
        {"from": None}, "junk"]})
    found = associations.read(client, "contacts", "companies", ["12", "13", "../x", "1" * 40, "12"])  # type: ignore[arg-type]
    assert client.bodies == [{"inputs": [{"id": "12"}, {"id": "13"}]}]  # no path, no 40-digit id, once each
    assert set(found) == {"12", "13"} and found["13"] == []
    (link,) = found["12"]
    assert link.to_id == "7" and link.type_id == 4 and len(link.category) == 24 and len(link.label or "") == 120


def test_an_association_read_follows_paging_but_never_a_repeated_or_monstrous_cursor():
    """A provider that keeps naming the same next page would loop the read for ever: it fails instead; a
    cursor of a megabyte, or not a string, ends that record's read with what it has."""
    import pytest

    from console.connectors.base import FatalError

    page = {"results": [{"from": {"id": "12"}, "to": [{"toObjectId": 7, "associationTypes": [{"typeId": 1}]}],
                         "paging": {"next": {"after": "MTA"}}}]}
    looping = Client(page)
    with pytest.raises(FatalError, match="repeated a paging cursor"):
        associations.read(looping, "deals", "contacts", ["12"])  # type: ignore[arg-type]
    assert looping.bodies == [{"inputs": [{"id": "12"}]}, {"inputs": [{"id": "12", "after": "MTA"}]}]
    for cursor in ("A" * 1_000_000, 10, {"x": 1}, ""):
        odd = Client({"results": [{**page["results"][0], "paging": {"next": {"after": cursor}}}]})
        found = associations.read(odd, "deals", "contacts", ["12"])  # type: ignore[arg-type]
        assert len(odd.bodies) == 1 and [link.to_id for link in found["12"]] == ["7"]


def test_an_association_event_names_a_record_only_with_a_plain_id():
    base = {"subscriptionType": "contact.associationChange", "associationType": "CONTACT_TO_COMPANY"}
    assert associations.source_of({**base, "fromObjectId": 12, "toObjectId": 7}) == ("contacts", "12")
    assert associations.source_of({**base, "associationType": "COMPANY_TO_CONTACT", "fromObjectId": 7,
                                   "toObjectId": 12}) == ("contacts", "12")
    for bad in ({"fromObjectId": "../12"}, {"fromObjectId": "1" * 40}, {"fromObjectId": None},
                {"associationType": "CONTACT_TO_TICKET", "fromObjectId": 1}, {"associationType": "X"},
                {"subscriptionType": "contact.propertyChange", "fromObjectId": 1}):
        assert associations.source_of({**base, **bad}) is None, bad
