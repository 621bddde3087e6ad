"""Two-way sync in a real browser: on a connection ready for everything but its outbound side, the owner
makes contacts flow both ways, sets lead status two-way with the console as its system of record in the
mapping step, corrects a lead on the lead page, runs the outbound dry run and reads the per-record diff
(the exact properties that would be written; nothing is written), and goes live. No page loads after the
first: every save is an htmx swap."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from console.extensions import db
from console.models import CrmLead, IntegrationConnection, IntegrationFieldMapping, IntegrationSyncJob
from console.sandbox import SandboxConfig, SandboxServer

from ..factories import PASSWORD
from ..integration.test_launch import REASON, _batch, _first_sync, _ready
from ..wizard_flow import monitor
from .conftest import running_dispatcher, screenshot, sign_in

SHOTS = "/tmp/two-way-journey"


def _prepared(owner, sandbox) -> IntegrationConnection:
    """Everything the gate asks for but the outbound dry run: tested, first sync, baselines, monitoring."""
    conn = _ready(owner, sandbox, "contacts")
    _batch(owner, conn, "contacts", 5)
    runs = _first_sync(owner, conn)
    owner.hx_post(f"/connections/{conn.id}/wizard/runs/{runs['contacts'].id}/ignore",
                  {"code": "invalid_email", "reason": REASON})
    for key in ("account_access", "test_results_reviewed"):
        owner.hx_post(f"/connections/{conn.id}/checklist/{key}", {"done": "1"})
    monitor(owner, conn)
    owner.hx_post(f"/connections/{conn.id}/wizard/report", {"explanation": "Leads both ways.",
                                                           "next_action": "Review corrections monthly."})
    db.session.commit()
    return conn


@pytest.fixture
def sandbox():
    """A sandbox of this test's own (the session's data): going live pushes a correction to HubSpot, and a
    contact modified in the shared sandbox would be read again by a later test's sync lookback."""
    with SandboxServer(SandboxConfig(contacts=250, deals=80, seed=7, limits=False)) as server:
        yield server


def test_a_two_way_field_its_dry_run_and_go_live(live_server, page, app, login, sandbox):
    owner = login("owner")
    conn = _prepared(owner, sandbox)
    cid = conn.id
    lead = db.session.scalar(sa.select(CrmLead).where(CrmLead.connection_id == cid, CrmLead.lead_status.is_not(None))
                             .order_by(CrmLead.id).limit(1))
    new_status = "Connected" if lead.lead_status != "Connected" else "Open"
    with running_dispatcher(app):
        try:
            _walk(live_server, page, owner, cid, lead, new_status, sandbox)
        except Exception:
            screenshot(page, f"{SHOTS}-failure.png")
            raise


def _settled(page) -> None:
    page.wait_for_selector(".htmx-request", state="detached")


def _walk(base, page, owner, cid, lead, new_status, sandbox):
    sign_in(page, base, owner.user.email, PASSWORD)
    page.goto(f"{base}/connections/{cid}/wizard/mapping")
    page.evaluate("window.__noReload = true")

    # Contacts flow both ways: Save sync jobs.
    page.select_option("select[name=contacts_direction]", "both")
    page.click("#mapping-jobs button[type=submit]")
    page.wait_for_selector("#mapping-jobs .flash-success")
    _settled(page)

    # Lead status: both ways, the console is its system of record.
    page.click("#field-contacts-lead_status button:has-text('Edit')")
    page.wait_for_selector("#field-contacts-lead_status.editing")
    row = page.locator("#field-contacts-lead_status.editing")
    row.locator("select[name=direction]").select_option("both")
    row.locator("select[name=system_of_record]").select_option("console")
    row.locator("button[type=submit]").click()
    page.wait_for_selector("#field-contacts-lead_status:has-text('The console wins')")
    _settled(page)
    db.session.commit()
    saved = db.session.scalar(sa.select(IntegrationFieldMapping).where(
        IntegrationFieldMapping.connection_id == cid, IntegrationFieldMapping.target_field == "lead_status"))
    assert (saved.direction, saved.system_of_record) == ("both", "console")
    page.click("#confirm-mapping")
    page.wait_for_selector("#item-fields_mapped.done")

    # The gate wants an outbound dry run now.
    _settled(page)
    page.click("#step-monitor")
    page.wait_for_url(re.compile(r".*/wizard/monitor$"))
    _settled(page)
    page.click("#go-live")
    page.wait_for_selector("#gate-refused .gate-object:has-text('no outbound dry run yet')")

    # A correction on the lead page (a new tab: the wizard's page keeps its no-reload mark).
    leads_page = page.context.new_page()
    leads_page.goto(f"{base}/leads/{lead.id}")
    leads_page.select_option("#correct-heading ~ form:has(input[value=lead_status]) select[name=value]", new_status)
    leads_page.click("#correct-lead_status")
    leads_page.wait_for_selector("#lead-page .flash-success:has-text('next outbound push')")
    leads_page.wait_for_selector(f"#lead-page td:has-text('{new_status}')")
    leads_page.close()

    # The outbound dry run: the per-record diff, nothing written.
    _settled(page)
    page.click("#step-test")
    page.wait_for_url(re.compile(r".*/wizard/test$"))
    page.click("#outbound-dry-run-contacts")
    verdict = page.wait_for_selector("#outbound-tests .verdict:has-text('Passed')", timeout=60_000)
    assert "each record below would be written as shown" in verdict.inner_text()
    diff = page.locator("#outbound-tests table").inner_text()
    wire = new_status.upper().replace(" ", "_")
    assert lead.external_id in diff and f"hs_lead_status='{wire}'" in diff
    assert sandbox.state.portal.records["contacts"][int(lead.external_id)].props.get("hs_lead_status") != wire
    screenshot(page, f"{SHOTS}-dry-run.png")

    # Go live.
    _settled(page)
    page.click("#step-monitor")
    page.wait_for_url(re.compile(r".*/wizard/monitor$"))
    _settled(page)
    page.click("#go-live")
    page.wait_for_selector(f"#golive-{cid} .flash-success:has-text('is live')")
    assert page.evaluate("window.__noReload") is True, "a page reloaded during the journey"
    db.session.commit()
    conn = db.session.get(IntegrationConnection, cid)
    db.session.refresh(conn)
    job = db.session.scalar(sa.select(IntegrationSyncJob).where(IntegrationSyncJob.connection_id == cid))
    assert conn.status == "live" and job.direction == "both"
    assert page.console_errors == []
