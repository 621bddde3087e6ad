"""Main journeys of the foundation in a real browser: HTMX edits without reloads, CSP-clean pages,
field errors swapped in place, and a client who can reach nothing but their own portal."""
from __future__ import annotations

import sqlalchemy as sa

from console.extensions import db
from console.models import Client, EventAdminAction

from .. import factories
from .conftest import sign_in


def test_admin_creates_renames_and_archives_a_client_without_reloading(live_server, page):
    admin = factories.user("admin")
    db.session.commit()
    sign_in(page, live_server, admin.email, factories.PASSWORD)
    page.goto(f"{live_server}/admin/clients")
    page.evaluate("window.__noReload = true")  # survives only if the page never reloads

    page.fill("#client-form input[name=name]", "x")
    page.click("#client-form button[type=submit]")
    page.wait_for_selector("#client-form .error")
    assert "between 2 and 120" in page.inner_text("#client-form")

    page.fill("#client-form input[name=name]", "Harbour Physio")
    page.click("#client-form button[type=submit]")
    page.wait_for_selector("#client-table td:has-text('Harbour Physio')")
    db.session.commit()  # new snapshot: the server wrote on its own connection (MariaDB: REPEATABLE READ)
    client = db.session.scalar(sa.select(Client).where(Client.name == "Harbour Physio"))
    assert client is not None

    row = f"#client-{client.id}"
    page.click(f"{row} a:has-text('Rename')")
    page.fill(f"{row} input[name=name]", "Harbour Physio & Rehab")
    page.click(f"{row} button:has-text('Save')")
    page.wait_for_selector(f"{row} td:has-text('Harbour Physio & Rehab')")

    page.once("dialog", lambda d: d.accept())
    page.click(f"{row} button:has-text('Archive')")
    page.wait_for_selector(f"{row} .badge:has-text('Archived')")
    assert page.evaluate("window.__noReload") is True
    assert page.console_errors == []  # no CSP violations, no script errors

    db.session.commit()
    actions = set(db.session.scalars(sa.select(EventAdminAction.action)))
    assert {"client.created", "client.renamed", "client.archived"} <= actions
    page.goto(f"{live_server}/admin/audit?action=client.")
    assert "client.renamed" in page.inner_text("#audit-table")


def test_client_sees_only_their_portal(live_server, page):
    mine, theirs = factories.client("Mine Co"), factories.client("Theirs Co")
    factories.connection(mine, name="Mine CRM", live=True)
    other = factories.connection(theirs, name="Theirs CRM", live=True)
    user = factories.user("client", client=mine)
    db.session.commit()
    sign_in(page, live_server, user.email, factories.PASSWORD)
    assert page.url.endswith("/portal/")
    assert "Mine CRM" in page.content() and "Theirs CRM" not in page.content()
    nav = page.inner_text("nav")
    assert "Users" not in nav and "Clients" not in nav
    for path in ("/admin/users", "/admin/clients", "/admin/audit", "/connections",
                 f"/portal/connections/{other.id}"):
        response = page.goto(f"{live_server}{path}")
        assert response.status == 404, path
        assert "There is nothing here." in page.content()


def test_login_throttle_message_in_the_browser(live_server, page, app):
    app.config["LOGIN_MAX_FAILURES_PER_ACCOUNT"] = 2
    user = factories.user("ops")
    db.session.commit()
    for _ in range(2):
        sign_in(page, live_server, user.email, "wrong password")
        assert "Email or password is not right" in page.content()
    sign_in(page, live_server, user.email, factories.PASSWORD)
    assert "Too many failed sign-in attempts" in page.content()


def test_an_invited_user_sets_their_own_password(live_server, page, browser):
    """The admin creates a user and sees the link once; the new user opens it in a browser of their own,
    sets a password and is signed in; the link then says it was used."""
    admin = factories.user("admin")
    db.session.commit()
    sign_in(page, live_server, admin.email, factories.PASSWORD)
    page.goto(f"{live_server}/admin/users")
    page.fill("#user-form input[name=email]", "ana.ruiz@example.com")
    page.fill("#user-form input[name=name]", "Ana Ruiz")
    page.select_option("#user-form select[name=role]", "ops")
    page.click("#user-form button[type=submit]")
    link = page.wait_for_selector("#invitation-link").input_value()
    page.wait_for_selector("#user-table td:has-text('ana.ruiz@example.com')")
    assert "Invited: no password yet" in page.inner_text("#user-table")

    newcomer = browser.new_context().new_page()
    newcomer.goto(link)
    assert "ana.ruiz@example.com" in newcomer.content()
    newcomer.fill("input[name=new]", "harbour lights at dawn")
    newcomer.fill("input[name=confirm]", "harbour lights at dawn")
    newcomer.click("button[type=submit]")
    newcomer.wait_for_url(f"{live_server}/ops/")  # an ops user's home: the dashboard
    assert "Your password is set" in newcomer.inner_text("main")
    newcomer.goto(link)
    assert "already used" in newcomer.inner_text("#invitation-refused")
    newcomer.context.close()
    assert page.console_errors == []
