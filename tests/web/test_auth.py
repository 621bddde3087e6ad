"""Sign-in, throttling, sessions, CSRF and security headers."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from console.extensions import db
from console.models import Client, EventAdminAction, LoginAttempt

from .. import factories
from ..conftest import count, csrf_token, sign_in


def test_sign_in_and_out(app, client):
    user = factories.user("owner")
    db.session.commit()
    resp = sign_in(client, user.email.upper(), factories.PASSWORD)
    assert resp.status_code == 303 and resp.headers["Location"] == "/connections"
    assert client.get("/connections").status_code == 200
    token = csrf_token(client, "/connections")
    assert client.post("/logout", data={"csrf_token": token}).status_code == 303
    assert client.get("/connections").status_code == 302
    actions = db.session.scalars(sa.select(EventAdminAction.action)).all()
    assert "auth.login" in actions and "auth.logout" in actions


def test_client_user_lands_on_portal(client):
    user = factories.user("client")
    db.session.commit()
    resp = sign_in(client, user.email, factories.PASSWORD)
    assert resp.headers["Location"] == "/portal/"


def test_wrong_password_is_refused_with_a_clear_message(client):
    user = factories.user("ops")
    db.session.commit()
    resp = sign_in(client, user.email, "wrong password")
    assert resp.status_code == 401
    assert b"Email or password is not right" in resp.data
    assert count(LoginAttempt) == 1


def test_remember_me_is_off_by_default(client):
    html = client.get("/login").get_data(as_text=True)
    assert 'name="remember"' in html and "checked" not in html
    user = factories.user("ops")
    db.session.commit()
    resp = sign_in(client, user.email, factories.PASSWORD)
    cookies = resp.headers.getlist("Set-Cookie")
    assert not any(c.startswith("remember_token=") and not c.startswith("remember_token=;") for c in cookies)


def test_open_redirect_after_login_is_ignored(client):
    user = factories.user("ops")
    db.session.commit()
    token = csrf_token(client)
    resp = client.post("/login?next=//evil.example/x",
                       data={"email": user.email, "password": factories.PASSWORD, "csrf_token": token})
    assert resp.headers["Location"] == "/ops/"  # ops land on the dashboard they watch (issue 32)


def test_account_throttled_after_repeated_failures(client):
    user = factories.user("ops")
    db.session.commit()
    for _ in range(5):
        assert sign_in(client, user.email, "nope").status_code == 401
    resp = sign_in(client, user.email, factories.PASSWORD)  # even the right password waits
    assert resp.status_code == 429
    assert b"Too many failed sign-in attempts. Try again in" in resp.data
    from console.models import EventAdminAction

    rows = db.session.scalars(sa.select(EventAdminAction).where(EventAdminAction.action.like("auth.login_%"))).all()
    assert [r.action for r in rows].count("auth.login_failed") == 5  # each failure is in the audit log,
    assert [(r.action, r.details["account"]) for r in rows if r.action == "auth.login_locked_out"] == [
        ("auth.login_locked_out", user.email)]  # and the lock-out, with the account it protected


def test_address_throttled_across_accounts(app, client):
    app.config["LOGIN_MAX_FAILURES_PER_ADDRESS"] = 3
    users = [factories.user("ops") for _ in range(4)]
    db.session.commit()
    for u in users[:3]:
        assert sign_in(client, u.email, "nope").status_code == 401
    assert sign_in(client, users[3].email, factories.PASSWORD).status_code == 429


def test_success_resets_the_account_count(client):
    user = factories.user("ops")
    db.session.commit()
    for _ in range(4):
        sign_in(client, user.email, "nope")
    assert sign_in(client, user.email, factories.PASSWORD).status_code == 303


def test_deactivated_user_cannot_sign_in(client):
    user = factories.user("ops", active=False)
    db.session.commit()
    assert sign_in(client, user.email, factories.PASSWORD).status_code == 401


def test_session_ends_when_password_is_reset(login):
    browser = login("ops")
    browser.user.set_password("another long password")
    db.session.commit()
    assert browser.get("/connections").status_code == 302


def test_change_own_password(login):
    browser = login("client")
    strong = "violet tugboat ledger sunrise"
    bad = browser.post("/account/password", {"current": "wrong", "new": strong, "confirm": strong})
    assert bad.status_code == 422 and b"not your current password" in bad.data
    short = browser.post("/account/password", {"current": factories.PASSWORD, "new": "short", "confirm": "short"})
    assert short.status_code == 422 and b"at least 12 characters" in short.data
    # zxcvbn: guessable passwords, the user's own email, and the current password are refused.
    for weak in ("aaaaaaaaaaaa", "password1234", browser.user.email, factories.PASSWORD):
        resp = browser.post("/account/password", {"current": factories.PASSWORD, "new": weak, "confirm": weak})
        assert resp.status_code == 422 and (b"harder password" in resp.data or b"other than the current" in resp.data), weak
    ok = browser.post("/account/password", {"current": factories.PASSWORD, "new": "a brand new passphrase",
                                            "confirm": "a brand new passphrase"})
    assert ok.status_code == 303
    assert browser.get("/portal/").status_code == 200  # still signed in on this device
    db.session.refresh(browser.user)
    assert browser.user.check_password("a brand new passphrase")


def test_post_without_csrf_is_rejected_and_changes_nothing(login):
    admin = login("admin")
    resp = admin.client.post("/admin/clients", data={"name": "Sneaky"})
    assert resp.status_code == 400
    assert b"form expired" in resp.data
    resp = admin.client.post("/admin/clients", data={"name": "Sneaky"}, headers={"HX-Request": "true"})
    assert resp.status_code == 400
    assert db.session.scalar(sa.select(Client).where(Client.name == "Sneaky")) is None


def test_htmx_post_with_csrf_header_is_accepted(login):
    admin = login("admin")
    resp = admin.hx_post("/admin/clients", {"name": "Via Htmx"})
    assert resp.status_code == 200
    assert db.session.scalar(sa.select(Client).where(Client.name == "Via Htmx")) is not None


def test_base_template_sends_csrf_header_for_htmx(login):
    html = login("ops").get("/connections").get_data(as_text=True)
    assert 'hx-headers=\'{"X-CSRFToken": "' in html


def test_security_headers(client):
    resp = client.get("/login")
    csp = resp.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Referrer-Policy"] == "same-origin"


def test_htmx_is_served_locally(client):
    html = client.get("/login").get_data(as_text=True)
    assert "/static/vendor/htmx-2.0.11.min.js" in html and "https://" not in html.split("<body")[0]
    resp = client.get("/static/vendor/htmx-2.0.11.min.js")
    assert resp.status_code == 200 and b"htmx" in resp.data
    resp.close()


@pytest.mark.parametrize("hops,expected", [(0, "127.0.0.1"), (1, "203.0.113.9")])
def test_forwarded_address_is_trusted_only_behind_configured_proxies(tmp_path, sqlite_template, hops, expected):
    import shutil

    from ..conftest import TEST_DATABASE_URL, build_app

    if TEST_DATABASE_URL:
        pytest.skip("configuration only: covered by the SQLite run")
    for name in ("console.db", "traffic.db"):
        shutil.copy(sqlite_template / name, tmp_path / name)
    app = build_app(tmp_path, f"sqlite:///{tmp_path}/console.db", f"sqlite:///{tmp_path}/traffic.db",
                    PROXY_HOPS=hops)
    with app.app_context():
        http = app.test_client()
        token = csrf_token(http)
        http.post("/login", data={"email": "a@example.com", "password": "x", "csrf_token": token},
                  headers={"X-Forwarded-For": "203.0.113.9"})
        assert db.session.scalar(sa.select(LoginAttempt.address)) == expected
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()
