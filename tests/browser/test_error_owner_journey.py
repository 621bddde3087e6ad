"""An ops engineer at 2 a.m. in a real browser: assigns a sync error to a colleague with a due date and a
note, adds a note, and the colleague finds it under "Assigned to: me" — all without a reload, CSP-clean."""
from __future__ import annotations

from console.extensions import db

from .. import factories
from ..sinks import SmtpSink
from ..web.test_triage import _errors
from .conftest import sign_in


def test_assign_note_and_find_it_under_mine(app, live_server, page, browser):
    sink = SmtpSink()
    try:
        app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=sink.port)
        conn = factories.connection(factories.client("Harbour Physio"))
        conn.notify_channel, conn.notify_target = "email", "team@example.com"
        err, other = _errors(conn, 2)
        ops, colleague = factories.user("ops"), factories.user("ops")
        db.session.commit()
        sign_in(page, live_server, ops.email, factories.PASSWORD)
        page.goto(f"{live_server}/ops/errors/{err.id}")
        page.evaluate("window.__noReload = true")
        page.select_option("#error-assign-to", str(colleague.id))
        page.fill("#error-due-on", "2027-02-01")
        page.fill("#error-assign-note", "Typos from the booking form")
        page.click("#error-assign")
        page.wait_for_selector(f"#error-assignee:has-text('{colleague.name}')")
        assert "due 2027-02-01" in page.inner_text("#error-assignee")
        page.fill("#error-note-text", "Asked the clinic to validate emails")
        page.click("#error-add-note")
        page.wait_for_selector("#error-notes li:has-text('Asked the clinic')")
        assert "Typos from the booking form" in page.inner_text("#error-notes")
        assert page.evaluate("window.__noReload") is True and page.console_errors == []
        assert len(sink.messages) == 1 and sink.recipients[0] == [colleague.email]

        other_context = browser.new_context(viewport={"width": 1280, "height": 900})
        theirs = other_context.new_page()
        sign_in(theirs, live_server, colleague.email, factories.PASSWORD)
        theirs.goto(f"{live_server}/ops/errors")
        theirs.select_option("select[name=assignee]", "mine")
        theirs.wait_for_selector(f"#error-{err.id}")
        theirs.wait_for_selector(f"#error-{other.id}", state="detached")  # no wait_for_function: the CSP forbids eval
        assert "assignee=mine" in theirs.url  # the filter is in the address, for the next visit
        other_context.close()
    finally:
        sink.close()
