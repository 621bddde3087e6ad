"""The intake's direction of flow, read object by object (issue 32): a table of phrasings, the intake's own
hint verbatim among them. Each row: the answer, the directions it must give, and the objects it must flag."""
from __future__ import annotations

import time

import pytest

from console import intake_topology as topology
from console.intake_questions import QUESTIONS

HINT = QUESTIONS["topology_flows"].hint
EXAMPLE = "Members: SourceApp to HubSpot Contacts (one-way). Deals: bidirectional. Products: HubSpot to SourceApp."

CASES = [
    # (answer, {object: direction}, words flagged as "no such object synced")
    (HINT, {"contacts": "out", "deals": "both"}, ["Products"]),
    (EXAMPLE, {"contacts": "out", "deals": "both"}, ["Products"]),
    (EXAMPLE.replace(". ", ".\n"), {"contacts": "out", "deals": "both"}, ["Products"]),
    (EXAMPLE.replace(". ", "; "), {"contacts": "out", "deals": "both"}, ["Products"]),
    ("Contacts: HubSpot to console (one-way). Deals: bidirectional.", {"contacts": "in", "deals": "both"}, []),
    ("Members: HubSpot Contacts to SourceApp (one-way).", {"contacts": "in"}, []),
    ("Members: HubSpot Contacts to SourceApp (one-way).\nDeals: bidirectional.\nProducts: HubSpot to SourceApp.",
     {"contacts": "in", "deals": "both"}, ["Products"]),
    ("Contacts: HubSpot → SourceApp", {"contacts": "in"}, []),
    ("Contacts: SourceApp → HubSpot", {"contacts": "out"}, []),
    ("Contacts: SourceApp -> HubSpot; Deals: HubSpot -> SourceApp", {"contacts": "out", "deals": "in"}, []),
    ("Deals: two-way", {"deals": "both"}, []),
    ("Companies: both ways", {"companies": "both"}, []),
    ("Contacts and companies: bidirectional.", {"contacts": "both", "companies": "both"}, []),
    ("Deals and contacts: from HubSpot.", {"deals": "in", "contacts": "in"}, []),
    ("Contacts one-way to HubSpot, deals both ways", {"contacts": "out", "deals": "both"}, []),
    ("Contacts are read from HubSpot into SourceApp.", {"contacts": "in"}, []),
    ("Contacts are written to HubSpot.", {"contacts": "out"}, []),
    ("Sync contacts from HubSpot", {"contacts": "in"}, []),
    ("Push deals into HubSpot", {"deals": "out"}, []),
    ("Accounts: SourceApp to HubSpot Companies", {"companies": "out"}, []),
    ("Opportunities: HubSpot Deals to SourceApp (one-way)", {"deals": "in"}, []),
    ("Contacts: one-way.", {}, []),
    ("Contacts: HubSpot <-> SourceApp", {"contacts": "both"}, []),
    ("Bookings: bi-directional sync", {"deals": "both"}, []),
    ("Tickets: HubSpot to SourceApp", {}, ["Tickets"]),
    ("Line items: HubSpot to SourceApp", {}, ["Line items"]),
    ("Contacts: inbound", {"contacts": "in"}, []),
    ("Contacts: outbound", {"contacts": "out"}, []),
    ("Contacts: from SourceApp to HubSpot. Contacts: from HubSpot to SourceApp only.", {}, []),  # they disagree
    ("HubSpot to SourceApp: contacts, companies", {"contacts": "in", "companies": "in"}, []),
    ("Customers flow one-way from HubSpot.", {"contacts": "in"}, []),
    ("Contacts — SourceApp to HubSpot (one way)", {"contacts": "out"}, []),
    ("Deals: 2-way sync, SourceApp wins the amount", {"deals": "both"}, []),
    ("Companies: read-only", {"companies": "in"}, []),
    ("contacts: hubspot to sourceapp; companies: sourceapp to hubspot; deals: both directions",
     {"contacts": "in", "companies": "out", "deals": "both"}, []),
    ("Contacts both directions except email. Deals from HubSpot.", {"contacts": "both", "deals": "in"}, []),
    ("Everything one-way.", {}, []),
    ("Members (SourceApp) to HubSpot contacts, one-way. Reservations: SourceApp to HubSpot deals.",
     {"contacts": "out", "deals": "out"}, []),
    ("Contacts: the console to HubSpot in order to keep totals", {"contacts": "out"}, []),
    ("HubSpot is where contacts are read from; deals go from SourceApp into HubSpot.",
     {"deals": "out"}, []),  # "read from" names no system: not guessed
]


@pytest.mark.parametrize(("text", "expected", "flagged"), CASES, ids=[f"{i:02d}" for i in range(len(CASES))])
def test_each_phrasing_gives_each_object_its_own_direction(text, expected, flagged):
    flows = topology.read(text)
    assert topology.directions(text) == expected, [(f.words, f.object_type, f.direction, f.problem) for f in flows]
    assert [f.named for f in flows if f.problem == "no such object synced"] == flagged


def test_what_could_not_be_read_is_said():
    flows = topology.read("Contacts: one-way. Widgets everywhere. Everything one-way.")
    problems = {f.problem for f in flows}
    assert "no direction read (name both systems, or say both ways)" in problems and "names no object" in problems
    both = topology.read("Contacts: from SourceApp to HubSpot. Contacts: from HubSpot to SourceApp only.")
    assert [f.problem for f in both] == ["another clause gives this object another direction"] * 2


def test_the_reader_is_linear_and_bounded():
    started = time.perf_counter()
    topology.read("Contacts: HubSpot to SourceApp " * 20_000 + "9" * 20_000)
    topology.read("to " * 10_000 + "hubspot " * 10_000)
    assert time.perf_counter() - started < 0.5
