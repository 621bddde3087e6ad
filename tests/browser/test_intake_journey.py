"""The intake in a real browser: answers typed into the intake save themselves (no Save button), the
wizard's monitor step comes pre-filled from them, and the integration design prints (the print view is
kept as a screenshot)."""
from __future__ import annotations

from console.extensions import db

from .. import factories
from .conftest import screenshot, sign_in

SHOTS = "/tmp/intake-journey"


def test_fill_part_of_the_intake_see_the_wizard_prefilled_and_print_the_design(live_server, page):
    owner = factories.user("owner")
    conn = factories.connection(factories.client("Harbour Physio"), owner_user_id=owner.id)
    db.session.commit()
    sign_in(page, live_server, owner.email, factories.PASSWORD)
    page.goto(f"{live_server}/connections/{conn.id}/intake/")
    assert page.locator("noscript button").count() == 0 or not page.locator("noscript button").first.is_visible()

    page.fill("#q-sla", "Records reflected within 10 minutes 95% of the time.")
    page.locator("#answer-status-sla").filter(has_text="Saved.").wait_for()
    page.fill("#q-topology_flows", "Members: HubSpot Contacts to SourceApp (one-way).")
    page.locator("#q-topology_flows").blur()  # leaving the field saves at once
    page.locator("#answer-status-topology_flows").filter(has_text="Answered by").wait_for()
    page.reload()
    assert page.input_value("#q-sla") == "Records reflected within 10 minutes 95% of the time."
    assert "1 of 5 answered" in page.locator("#intake-progress").inner_text()

    page.goto(f"{live_server}/connections/{conn.id}/wizard/monitor")
    assert page.input_value("input[name=freshness_target]") == "600"
    assert page.input_value("input[name=freshness_objective]") == "95"
    assert "Matches the intake" in page.locator("#freshness_target-note").inner_text()  # the SLA took effect

    page.goto(f"{live_server}/connections/{conn.id}/design")
    page.click("#design-save")
    page.locator("#design-version-1").wait_for()
    open_questions = page.locator("#design-open-questions li").count()
    assert open_questions > 5  # most of the intake is still open, and the design says so
    page.goto(f"{live_server}/connections/{conn.id}/design/versions/1")
    page.emulate_media(media="print")
    assert page.locator("#design-document").is_visible() and not page.locator(".no-print").first.is_visible()
    assert "Members: HubSpot Contacts to SourceApp (one-way)." in page.locator("#design-topology").inner_text()
    screenshot(page, f"{SHOTS}-print.png")
    pdf = page.pdf(path=f"{SHOTS}.pdf")
    assert pdf[:5] == b"%PDF-" and len(pdf) > 5_000
    assert page.console_errors == []
