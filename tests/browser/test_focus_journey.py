"""Keyboard focus and announcements survive htmx swaps (issue 32): ticking a checklist item and saving a
step no longer drop focus to <body> in silence."""
from __future__ import annotations

import re
import time

from console.extensions import db

from .. import factories
from .conftest import sign_in


def _focus_settles(page) -> None:
    """Until focus is back somewhere other than <body> (page CSP forbids wait_for_function's eval)."""
    deadline = time.time() + 5
    while page.evaluate("document.activeElement === document.body") and time.time() < deadline:
        time.sleep(0.05)
    assert not page.evaluate("document.activeElement === document.body"), "focus fell to <body>"


def test_tick_and_save_keep_focus_and_say_what_changed(live_server, page):
    owner = factories.user("owner")
    conn = factories.connection(factories.client("Focus Physio"), owner_user_id=owner.id)
    db.session.commit()
    conn_id = conn.id
    sign_in(page, live_server, owner.email, factories.PASSWORD)
    page.goto(f"{live_server}/connections/{conn_id}/wizard/access")
    page.focus("#item-account_access button")
    page.keyboard.press("Enter")
    page.wait_for_selector("#item-account_access.done")
    page.wait_for_selector(".htmx-request", state="detached")
    _focus_settles(page)
    assert page.evaluate("document.activeElement.closest('#item-account_access') !== null")
    assert "Account access confirmed" in page.inner_text("#announcer")

    page.fill("input[name=docs_url]", "https://developers.hubspot.com/docs/api/crm/contacts")
    page.fill("textarea[name=revocation_path]", "Delete the private app; tell the client.")
    save = page.locator(f"#access-{conn_id} button:has-text('Save access')")
    save.focus()
    page.keyboard.press("Enter")
    page.wait_for_selector(f"#access-{conn_id} .flash-success")
    page.wait_for_selector(".htmx-request", state="detached")
    _focus_settles(page)
    assert page.inner_text("#announcer").strip()
    assert page.console_errors == []


def test_leaving_a_step_with_unsaved_edits_asks_first(live_server, page):
    owner = factories.user("owner")
    conn = factories.connection(factories.client("Guard Physio"), owner_user_id=owner.id)
    db.session.commit()
    conn_id = conn.id
    sign_in(page, live_server, owner.email, factories.PASSWORD)
    page.goto(f"{live_server}/connections/{conn_id}/wizard/access")
    page.fill("input[name=docs_url]", "https://example.org/docs")
    asked: list[str] = []

    def answer(dialog) -> None:
        asked.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", answer)
    page.click("#continue-connection")
    time.sleep(0.5)
    assert asked and "not saved" in asked[0]
    assert page.url.endswith("/wizard/access") and page.input_value("input[name=docs_url]") == "https://example.org/docs"
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#continue-connection")
    page.wait_for_url(re.compile(r".*/wizard/connection$"))
    # a saved form is clean: no question
    page.goto(f"{live_server}/connections/{conn_id}/wizard/access")
    page.fill("input[name=docs_url]", "https://example.org/docs")
    page.fill("textarea[name=revocation_path]", "Delete the private app; tell the client.")
    page.click(f"#access-{conn_id} button:has-text('Save access')")
    page.wait_for_selector(f"#access-{conn_id} .flash-success")
    page.on("dialog", lambda dialog: (asked.append("again"), dialog.dismiss()))
    page.click("#continue-connection")
    page.wait_for_url(re.compile(r".*/wizard/connection$"))
    assert asked.count("again") == 0 and page.console_errors == []
