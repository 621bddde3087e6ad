"""An ops engineer watches the dashboard in a real browser: "Run now" queues the connection's jobs, the
dispatcher runs them, and the row shows the new run when it completes, with no page reload."""
from __future__ import annotations

import re
import time

import sqlalchemy as sa

from console.extensions import db
from console.models import IntegrationSyncJob, IntegrationSyncRun
from console.models.base import utcnow

from .. import factories
from ..reporting import synced_connection
from .conftest import running_dispatcher, screenshot, sign_in

SHOTS = "/tmp/dashboard-journey"


def test_dashboard_row_updates_after_a_run_without_reload(live_server, page, sandbox, app):
    conn, runs = synced_connection(sandbox, factories.client("Harbour Physio"))
    conn.status = "live"
    for job in db.session.scalars(sa.select(IntegrationSyncJob).where(IntegrationSyncJob.connection_id == conn.id)):
        job.enabled, job.next_run_at = True, utcnow().replace(year=2100)  # nothing runs until asked
    ops = factories.user("ops")
    db.session.commit()
    before = max(r.id for r in runs.values())
    with running_dispatcher(app):
        _run_now_and_watch(live_server, page, conn, ops, before)
    db.session.commit()  # a new snapshot: the dispatcher wrote on its own connections
    newest = db.session.scalar(sa.select(sa.func.max(IntegrationSyncRun.id)).where(
        IntegrationSyncRun.connection_id == conn.id))
    assert newest > before and page.console_errors == []


def _run_now_and_watch(live_server, page, conn, ops, before: int) -> None:
    try:
        sign_in(page, live_server, ops.email, factories.PASSWORD)
        page.goto(f"{live_server}/ops/")
        row = page.locator(f"#dashboard-row-{conn.id}")
        assert f"#{before}" in row.locator(".last-run").inner_text()
        assert page.locator("#dashboard-chart svg").count() == 2
        page.evaluate("window.__noReload = true")
        row.locator("button.run-now").click()
        page.wait_for_selector("#dashboard-rows .flash-success:has-text('due now')")
        text = _wait_for_new_run(page, conn.id, before)
        assert "Succeeded" in text and page.evaluate("window.__noReload") is True  # swapped in place
        screenshot(page, f"{SHOTS}.png")
    except Exception:
        screenshot(page, f"{SHOTS}-failure.png")
        raise


def _wait_for_new_run(page, connection_id: int, before: int, seconds: float = 40) -> str:
    """Read the row as the page's own polling refreshes it (wait_for_function would eval in the page,
    which the CSP forbids)."""
    cell = page.locator(f"#dashboard-row-{connection_id} .last-run")
    deadline = time.time() + seconds
    text = ""
    while time.time() < deadline:
        text = cell.inner_text()
        found = re.search(r"#(\d+)", text)
        if found and int(found.group(1)) > before and "Running" not in text:
            return text
        time.sleep(0.5)
    raise AssertionError(f"the row still shows: {text}")


def test_a_run_with_a_long_cursor_fits_the_window(live_server, page, app):
    """A cursor's JSON (thousands of ids at one instant) wraps inside its box; the page never scrolls sideways."""
    conn = factories.connection(factories.client("Wide Cursor Co"))
    cursor = {"mode": "incremental", "ms": 1_764_000_000_000, "ids": [str(1_000_000 + i) for i in range(2000)]}
    run = IntegrationSyncRun(connection_id=conn.id, object_type="contacts", kind="manual", status="succeeded",
                             cursor_before=cursor, cursor_after=cursor)
    ops = factories.user("ops")
    db.session.add(run)
    db.session.commit()
    sign_in(page, live_server, ops.email, factories.PASSWORD)
    page.goto(f"{live_server}/ops/runs/{run.id}")
    page.wait_for_selector("pre.mono")
    assert page.evaluate("document.documentElement.scrollWidth") <= page.evaluate("window.innerWidth")
    assert "1001999" in page.content()  # the whole cursor is there, wrapped, not cut


def test_focus_stays_on_run_now_across_three_polls(live_server, page, app):
    """The rows poll every 5 s; a person who tabbed to "Run now" keeps their place (the swap morphs)."""
    conn = factories.connection(factories.client("Focus Dental"), live=True)
    ops = factories.user("ops")
    db.session.commit()
    sign_in(page, live_server, ops.email, factories.PASSWORD)
    page.goto(f"{live_server}/ops/")
    button = f"run-now-{conn.id}"
    page.focus(f"#{button}")
    seen = {page.get_attribute("#dashboard-rows", "data-rendered-at")}
    deadline = time.time() + 30
    while len(seen) < 4 and time.time() < deadline:  # the first render and three polls
        time.sleep(0.25)
        seen.add(page.get_attribute("#dashboard-rows", "data-rendered-at"))
        assert page.evaluate("document.activeElement && document.activeElement.id") == button
    assert len(seen) >= 4, "the rows did not poll three times"
    assert page.console_errors == []


def test_run_now_and_pause_are_in_sight_on_a_phone(live_server, page, app):
    """Issue 32: at 390 px the actions sat 430 px to the right inside the table's scrolling box."""
    conn = factories.connection(factories.client("Phone Dental"), live=True)
    ops = factories.user("ops")
    db.session.commit()
    conn_id = conn.id
    sign_in(page, live_server, ops.email, factories.PASSWORD)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server}/ops/")
    for selector in (f"#run-now-{conn_id}", f"#dashboard-row-{conn_id} button.pause"):
        box = page.locator(selector).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, (selector, box)
    assert page.console_errors == []
