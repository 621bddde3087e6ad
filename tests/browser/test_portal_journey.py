"""The client's journey in a real browser: cards and trend charts for their own data, the CSV export,
and no way into any console page; and an owner publishing a note the client then reads."""
from __future__ import annotations

import csv
import io
from pathlib import Path

from console.extensions import db
from console.metrics import baselines

from .. import factories
from ..reporting import complete_run, synced_connection
from .conftest import sign_in


def test_client_sees_cards_and_charts_exports_csv_and_cannot_reach_the_console(live_server, page, sandbox):
    mine = factories.client("Harbour Physio")
    conn, runs = synced_connection(sandbox, mine)
    owner = factories.user("owner")
    baselines.capture(conn, runs["deals"], owner)
    baselines.capture(conn, complete_run(conn, "contacts"), owner)
    other, _ = synced_connection(sandbox, factories.client("Other Co"))
    user = factories.user("client", client=mine)
    db.session.commit()

    sign_in(page, live_server, user.email, factories.PASSWORD)
    assert page.url.endswith("/portal/")
    page.click(f"#portal-connection-{conn.id} h2 a")
    page.wait_for_selector("#metric-open_pipeline")
    for key in ("open_pipeline", "lead_owner", "follow_up", "source_attribution"):
        card = page.locator(f"#metric-{key}")
        assert card.locator(".metric-current").inner_text() != "—"
        assert card.locator(".metric-baseline").inner_text() != "—"
        assert card.locator(".metric-next").inner_text().strip()
    # every chart is an SVG the browser actually loaded and drew (natural size from the server's SVG)
    drawn = "[...document.querySelectorAll('img.metric-chart')].every(i => i.complete && i.naturalWidth > 0)"
    page.wait_for_load_state("networkidle")
    for _ in range(50):  # polled from here: wait_for_function would eval in the page, which the CSP forbids
        if page.evaluate(drawn):
            break
        page.wait_for_timeout(100)
    assert page.evaluate(drawn)
    assert page.locator("img.metric-chart").count() == 4

    with page.expect_download() as download_info:
        page.click("text=Export these figures (CSV)")
    rows = list(csv.reader(io.StringIO(Path(download_info.value.path()).read_text(encoding="utf-8-sig"))))
    assert [r[1] for r in rows[1:] if not r[12]] == ["Open pipeline", "Leads with an owner",
                                                     "Leads with a next step booked", "Leads with a known source"]
    assert any(r[12] for r in rows[1:])  # then the cards' breakdowns, line by line
    assert page.console_errors == []  # charts and pages load clean under the CSP

    for path in ("/connections", "/admin/users", f"/connections/{conn.id}/report/",
                 f"/clients/{mine.id}/as-client/", f"/portal/connections/{other.id}",
                 f"/portal/connections/{other.id}/export.csv"):
        response = page.goto(f"{live_server}{path}")
        assert response.status == 404, path
        assert "There is nothing here." in page.content()


def test_owner_publishes_a_note_and_previews_it_as_the_client(live_server, page, sandbox):
    owner = factories.user("owner")
    conn, _ = synced_connection(sandbox, factories.client("Quay Dental"), owner=owner)
    db.session.commit()
    sign_in(page, live_server, owner.email, factories.PASSWORD)
    page.goto(f"{live_server}/connections/{conn.id}/report/")
    page.evaluate("window.__noReload = true")
    page.click("#note-form button[type=submit]")  # empty: field errors, swapped in place
    page.wait_for_selector("#note-form .error")
    page.fill("#note-form input[name=title]", "November review")
    page.fill("#note-form textarea[name=body]", "Owners are now assigned within a day.")
    page.click("#note-form button[type=submit]")
    page.wait_for_selector("#report-notes .note:has-text('November review')")
    page.click("#report-notes .note button:has-text('Publish')")
    page.wait_for_selector("#report-notes .badge:has-text('Published')")
    assert page.evaluate("window.__noReload") is True
    page.click("text=View as client")
    page.wait_for_selector(".preview-banner")
    assert "November review" in page.inner_text("#report-notes")
    assert page.console_errors == []
