"""Sessions that end and sign-in that holds under attack: logout kills copied session and remember-me
cookies, remember-me is bounded, archived clients' people are signed out; throttling is atomic (forty
parallel guesses, at most the limit checked), per (account, address) with growing delays, and the
per-account ceiling slows a spray without locking the owner out."""
from __future__ import annotations

import re
import threading
from datetime import timedelta

import requests
import sqlalchemy as sa

from console.extensions import db
from console.models import LoginAttempt

from .. import factories
from ..conftest import csrf_token


def sign_in(client, email: str, password: str, address: str = "127.0.0.1", **extra):
    token = csrf_token(client)
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token, **extra},
                       environ_base={"REMOTE_ADDR": address})


def test_logout_ends_copied_session_and_remember_cookies(app):
    user = factories.user("ops")
    db.session.commit()
    browser = app.test_client()
    assert sign_in(browser, user.email, factories.PASSWORD, remember="y").status_code == 303
    session_cookie, remember = browser.get_cookie("session"), browser.get_cookie("remember_token")
    assert remember is not None and remember.max_age is None or remember.expires is not None
    assert app.config["REMEMBER_COOKIE_DURATION"] <= timedelta(days=14)
    token = csrf_token(browser, "/account/password")
    assert browser.post("/logout", data={"csrf_token": token}).status_code == 303
    for name, cookie in (("session", session_cookie), ("remember_token", remember)):
        thief = app.test_client()
        thief.set_cookie(name, cookie.value)
        assert thief.get("/connections").status_code == 302, f"the copied {name} cookie still opens the console"


def test_archiving_a_client_signs_its_people_out_and_refuses_them(app, login):
    client_obj = factories.client("Winding Down Ltd")
    person = login("client", client_obj)
    assert person.get("/portal/").status_code == 200
    admin = login("admin")
    assert admin.hx_post(f"/admin/clients/{client_obj.id}/archive").status_code in (200, 303)
    db.session.refresh(client_obj)
    assert client_obj.archived
    assert person.get("/portal/").status_code == 302
    again = sign_in(app.test_client(), person.user.email, factories.PASSWORD)
    assert again.status_code == 401 and "access to this portal has ended" in again.get_data(as_text=True)


def test_forty_parallel_guesses_check_at_most_the_limit(app, live_server):
    user = factories.user("ops")
    db.session.commit()
    email, answers, lock = user.email, [], threading.Lock()

    def guess(n: int) -> None:
        http = requests.Session()
        page = http.get(f"{live_server}/login", timeout=10).text
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        resp = http.post(f"{live_server}/login", timeout=30, allow_redirects=False,
                         data={"email": email, "password": f"wrong guess number {n}", "csrf_token": token})
        with lock:
            answers.append(resp.status_code)

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    checked, throttled = answers.count(401), answers.count(429)
    assert checked + throttled == 40, answers
    assert 1 <= checked <= app.config["LOGIN_MAX_FAILURES_PER_ACCOUNT"], answers


def test_a_locked_pair_does_not_lock_the_owner_elsewhere_and_delays_grow(app):
    user = factories.user("admin")
    db.session.commit()
    attacker = app.test_client()
    statuses = [sign_in(attacker, user.email, f"guess {n}", "203.0.113.9").status_code for n in range(7)]
    assert statuses == [401] * 5 + [429, 429]
    assert "Try again in 4 minutes" in sign_in(attacker, user.email, "guess", "203.0.113.9").get_data(
        as_text=True)  # refused tries count too: hammering makes the wait longer
    assert sign_in(app.test_client(), user.email, factories.PASSWORD, "198.51.100.7").status_code == 303
    # The delay grows: with the last failure two minutes old, a 6th failed try opens, a 7th waits 2 minutes.
    rows = db.session.scalars(sa.select(LoginAttempt).where(LoginAttempt.address == "203.0.113.9")
                              .order_by(LoginAttempt.id)).all()
    for row in rows[5:]:
        db.session.delete(row)  # keep the first five failures, as if the refused tries never came
    for row in rows[:5]:
        row.created_at -= timedelta(minutes=2)
    db.session.commit()
    assert sign_in(attacker, user.email, "guess 6", "203.0.113.9").status_code == 401
    assert "Try again in 2 minutes" in sign_in(attacker, user.email, "guess 7", "203.0.113.9").get_data(as_text=True)


def test_the_account_ceiling_slows_a_spray_but_not_the_owner(app):
    app.config["LOGIN_ACCOUNT_CEILING"] = 8
    user = factories.user("ops")
    db.session.commit()
    assert sign_in(app.test_client(), user.email, factories.PASSWORD, "198.51.100.7").status_code == 303  # known
    for n in range(8):  # one guess from each of eight addresses reaches the ceiling
        assert sign_in(app.test_client(), user.email, "spray", f"203.0.113.{n}").status_code == 401
    stranger = sign_in(app.test_client(), user.email, factories.PASSWORD, "192.0.2.50")
    assert stranger.status_code == 429
    assert sign_in(app.test_client(), user.email, factories.PASSWORD, "198.51.100.7").status_code == 303


def test_a_next_parameter_cannot_split_headers_or_leave_the_site(app):
    user = factories.user("ops")
    db.session.commit()
    for target in ("/\r\nSet-Cookie:x=1", "/\\evil.example", "//evil.example", "https://evil.example/", "/%0d%0a"):
        http = app.test_client()
        token = csrf_token(http)
        resp = http.post("/login", query_string={"next": target},
                         data={"email": user.email, "password": factories.PASSWORD, "csrf_token": token})
        assert resp.status_code == 303 and "evil" not in resp.headers["Location"] and "\n" not in resp.headers["Location"]
        assert "x=1" not in resp.headers.get("Set-Cookie", "")
