"""An owner walks a new connection from the first wizard step to live against the sandbox, in a real
browser: HTMX sections without reloads, a mapping edit, a test batch with its progress bar, the gate
refusing while something is missing, a baseline, and go-live."""
from __future__ import annotations

import re

import sqlalchemy as sa

from console.extensions import db
from console.models import IntegrationConnection

from .. import factories
from .conftest import running_dispatcher, screenshot, sign_in

SHOTS = "/tmp/wizard-journey"


def _no_reload(page) -> None:
    page.evaluate("window.__noReload = true")


def _still_same_page(page) -> bool:
    return page.evaluate("window.__noReload") is True


def test_owner_takes_a_connection_live(live_server, page, sandbox, app):
    owner = factories.user("owner")
    client = factories.client("Harbour Physio")
    db.session.commit()
    with running_dispatcher(app):
        try:
            _walk(live_server, page, owner, client, sandbox)
        except Exception:
            screenshot(page, f"{SHOTS}-failure.png")
            raise


def _walk(base, page, owner, client, sandbox):
    sign_in(page, base, owner.email, factories.PASSWORD)
    page.goto(f"{base}/connections")
    page.click("#new-connection")
    _no_reload(page)
    page.click("#new-connection-form button[type=submit]")
    page.wait_for_selector("#new-connection-form .error")
    assert _still_same_page(page)
    page.select_option("select[name=client_id]", label=client.name)
    page.fill("input[name=name]", "Harbour Physio CRM")
    page.fill("textarea[name=reason]", "Lead and deal reporting for the monthly review.")
    page.click("#new-connection-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/wizard/access$"))
    db.session.commit()
    conn = db.session.scalar(sa.select(IntegrationConnection).where(IntegrationConnection.name == "Harbour Physio CRM"))

    # 1. access: the checklist beside the form updates itself after the save
    _no_reload(page)
    page.fill("textarea[name=revocation_path]", "Delete the private app in HubSpot settings.")
    page.click(f"#access-{conn.id} button[type=submit]")
    page.wait_for_selector(".progress-count:has-text('3 of 16')")
    page.click("#item-account_access button")
    page.wait_for_selector(".progress-count:has-text('4 of 16')")
    assert _still_same_page(page)

    # 2. connection: account, write-only token, live check
    page.click("#step-connection")
    _no_reload(page)
    page.fill("input[name=portal_id]", "62515")
    page.fill("input[name=base_url]", sandbox.url)
    page.click(f"#account-{conn.id} button[type=submit]")
    page.wait_for_selector(f"#account-{conn.id} .flash-success")
    page.goto(f"{base}/connections/{conn.id}/wizard/connection")  # the credentials section appears with the account
    page.fill("input[name=token]", sandbox.token)
    page.click(f"#credentials-{conn.id} button:has-text('Store token')")
    page.wait_for_selector("#check-connection")
    assert sandbox.token not in page.content()
    page.click("#check-connection")
    page.wait_for_selector("#check-result:has-text('Connected to portal 62515')")

    # 3. mapping: jobs, an inline HTMX edit of one row, then confirm
    page.click("#step-mapping")
    _no_reload(page)
    page.check("input[name=contacts]")
    page.check("input[name=deals]")
    page.fill("input[name=contacts_minutes]", "1")
    page.fill("input[name=deals_minutes]", "1")
    page.click("#mapping-jobs button[type=submit]")
    page.wait_for_selector("#mapping-contacts")
    page.click("#field-contacts-first_name button:has-text('Edit')")
    page.wait_for_selector("#field-contacts-first_name.editing .suggestions")
    page.select_option("#field-contacts-first_name select[name=transform]", "case")
    page.click("#field-contacts-first_name button:has-text('Save')")
    page.wait_for_selector("#field-contacts-first_name td.mono:has-text('case')")
    page.click("#confirm-mapping")
    page.wait_for_selector("text=Mapping confirmed")
    assert _still_same_page(page)
    screenshot(page, f"{SHOTS}-mapping.png")

    # 4. test: a batch of 25 deals, its progress bar polling until final
    page.click("#step-test")
    _no_reload(page)
    page.select_option("select[name=object_type]", "deals")
    page.click("#test-form button[type=submit]")
    page.wait_for_selector("progress.run-progress")
    page.wait_for_selector("#test-verdict:has-text('Passed')", timeout=30_000)
    assert page.locator("#test-outcomes tbody tr").count() == 25
    page.wait_for_selector("#test-history .badge:has-text('Succeeded')")  # the history caught up (oob swap)
    page.click("#item-test_results_reviewed button")
    page.wait_for_selector("#item-test_results_reviewed.done")
    assert _still_same_page(page)
    screenshot(page, f"{SHOTS}-test.png")

    # 6. monitor, and the gate refusing while the baseline is missing
    page.click("#step-monitor")
    _no_reload(page)
    page.fill("textarea[name=visibility_note]", "The four cards and published notes.")
    page.fill("textarea[name=failure_path]", "Retries, then dead letters; the owner is emailed, ops replays.")
    page.fill("textarea[name=manual_fallback]", "Weekly CSV export imported on the CSV page.")
    page.click(f"#monitor-{conn.id} button[type=submit]")
    page.wait_for_selector(f"#monitor-{conn.id} .flash-success")
    page.click("#go-live")
    page.wait_for_selector("#gate-refused:has-text('Baseline created')")
    assert _still_same_page(page)

    # 5. report: the client text, then a baseline from a complete scheduled sync
    page.click("#step-report")
    _no_reload(page)
    page.fill("textarea[name=explanation]", "Your CRM's deals and leads feed these cards every minute.")
    page.fill("input[name=next_action]", "Review stalled deals at the monthly meeting.")
    page.click(f"#report-text-{conn.id} button[type=submit]")
    page.wait_for_selector(f"#report-text-{conn.id} .flash-success")
    for _ in range(60):  # the dispatcher runs the deals job (schedule: every minute) in the background
        page.goto(f"{base}/connections/{conn.id}/wizard/report")
        if page.locator("#report-baselines button:has-text('Capture from this run')").count():
            break
        page.wait_for_timeout(500)
    page.click("#report-baselines button:has-text('Capture from this run') >> nth=0")
    page.wait_for_selector("#report-baselines .flash-success")
    page.wait_for_selector("#item-baseline_created.done")

    # go live
    page.click("#step-monitor")
    page.click("#go-live")
    page.wait_for_selector(f"#golive-{conn.id} .flash-success:has-text('is live')")
    screenshot(page, f"{SHOTS}-live.png")
    db.session.commit()
    db.session.refresh(conn)
    assert conn.status == "live" and conn.last_tested_at is not None
    assert page.console_errors == []
