"""Accessible by default, checked on every page a role can open: a skip link to the main content, one
live region for htmx results, no table header without words, and errors tied to their fields."""
from __future__ import annotations

import re

import pytest

from .. import factories

EMPTY_HEADER = re.compile(r"<th(\s[^>]*)?>\s*</th>")


def _pages(app):
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if "GET" in rule.methods and not rule.arguments and getattr(view, "allowed_roles", None) not in (None,):
            yield rule.rule, view.allowed_roles


@pytest.mark.parametrize("role", ["admin", "ops", "owner", "client"])
def test_every_page_has_a_skip_link_a_live_region_and_named_headers(app, login, role):
    client_obj = factories.client("Alpha Co") if role == "client" else None
    browser = login(role, client_obj)
    factories.connection(client_obj or factories.client("Beta Co"), live=True)
    checked = 0
    for path, roles in _pages(app):
        if roles != "public" and role not in roles or path.startswith(("/health", "/metrics", "/webhooks", "/static")):
            continue
        resp = browser.get(path)
        if resp.status_code != 200 or resp.mimetype != "text/html":
            continue
        html = resp.get_data(as_text=True)
        assert not EMPTY_HEADER.search(html), (path, EMPTY_HEADER.search(html).group(0))
        if not html.lstrip().lower().startswith("<!doctype html"):
            continue  # a fragment a page polls for (the page itself is checked)
        assert '<a class="skip-link" href="#main">Skip to content</a>' in html and 'id="main"' in html, path
        assert 'id="announcer"' in html and 'aria-live="polite"' in html, path
        checked += 1
    assert checked >= (2 if role == "client" else 8)


def test_a_field_error_is_tied_to_its_field(login):
    admin = login("admin")
    resp = admin.hx_post("/admin/users", {"email": "new@example.com", "name": "New", "role": "",
                                          "password": "a long enough passphrase 42"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    field = re.search(r'<select[^>]*name="role"[^>]*>', html).group(0)
    assert 'aria-invalid="true"' in field and 'aria-describedby="role-error"' in field
    assert 'id="role-error"' in html and "Choose the user&#39;s role" in html
