"""Every registered route carries an access rule, and every role gets exactly what it may."""
from __future__ import annotations

import re

import pytest

from console.auth.access import PUBLIC
from console.extensions import db

from .. import factories

ROLES = ("admin", "owner", "ops", "client")
NEEDS_QUERY = {"wizard.oauth_callback"}  # answers 400 without the provider's code and state


def _routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        view = app.view_functions[rule.endpoint]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, view, method


def _fill(rule, ids: dict[str, int]) -> str:
    return re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(ids.get(m.group(1), 1)), rule.rule)


def test_every_route_declares_who_may_use_it(app):
    missing = [r.endpoint for r, view, _ in _routes(app) if not hasattr(view, "allowed_roles")]
    assert missing == [], f"routes without role_required/public: {missing}"


@pytest.fixture
def world(app):
    """Objects the route ids point at: client A (the signed-in client's) and client B."""
    a, b = factories.client("Alpha Co"), factories.client("Beta Co")
    conn_a, conn_b = factories.connection(a, live=True), factories.connection(b, live=True)
    target = factories.user("ops")
    db.session.commit()
    return {"a": a, "b": b, "conn_a": conn_a, "conn_b": conn_b, "target": target}


@pytest.mark.parametrize("role", ROLES)
def test_role_matrix(app, login, world, role):
    browser = login(role, world["a"] if role == "client" else None)
    if role == "owner":  # role-level access; owning is object-level and tested with each area
        world["conn_a"].owner_user_id = browser.user.id
        db.session.commit()
    ids = {"client_id": world["b"].id, "user_id": world["target"].id, "connection_id": world["conn_a"].id}
    checked = 0
    for rule, view, method in _routes(app):
        if view.allowed_roles == PUBLIC or rule.endpoint == "auth.logout":
            continue
        url = _fill(rule, ids)
        resp = browser.get(url) if method == "GET" else browser.post(url)
        if role not in view.allowed_roles:
            expected = 404 if role == "client" else 403
            assert resp.status_code == expected, (role, method, url, resp.status_code)
        else:
            assert resp.status_code not in (401, 403), (role, method, url, resp.status_code)
            assert resp.status_code != 500, (role, method, url, "a bare request must never crash the server")
            if method == "GET" and "<" not in rule.rule and rule.endpoint not in NEEDS_QUERY:
                assert resp.status_code == 200, (role, url, resp.status_code)
        checked += 1
    assert checked > 10


def test_anonymous_is_sent_to_login(app, client):
    for rule, view, method in _routes(app):
        if view.allowed_roles == PUBLIC or method != "GET":
            continue
        resp = client.get(_fill(rule, {}))
        assert resp.status_code == 302 and "/login" in resp.headers["Location"], rule.rule


def test_anonymous_htmx_request_gets_401_with_redirect(client):
    resp = client.get("/admin/clients", headers={"HX-Request": "true"})
    assert resp.status_code == 401
    assert resp.headers["HX-Redirect"] == "/login"


def test_client_gets_404_for_another_clients_connection(login, world):
    browser = login("client", world["a"])
    assert browser.get(f"/portal/connections/{world['conn_a'].id}").status_code == 200
    assert browser.get(f"/portal/connections/{world['conn_b'].id}").status_code == 404
    assert browser.hx_get(f"/portal/connections/{world['conn_b'].id}").status_code == 404
    assert browser.get("/portal/connections/999999").status_code == 404
    page = browser.get("/portal/").get_data(as_text=True)
    assert "Alpha Co CRM" in page and "Beta Co CRM" not in page


def test_client_cannot_see_hidden_connection(app, login, world):
    hidden = factories.connection(world["a"], visible=False, name="Internal only")
    db.session.commit()
    browser = login("client", world["a"])
    assert browser.get(f"/portal/connections/{hidden.id}").status_code == 404
    assert "Internal only" not in browser.get("/portal/").get_data(as_text=True)
