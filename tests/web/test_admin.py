"""Admin pages: clients and users, inline HTMX edits, field errors, audit rows."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from console.extensions import db
from console.models import Client, EventAdminAction, User, UserInvitation

from .. import factories
from ..conftest import count, csrf_token


def audit_actions() -> list[str]:
    return list(db.session.scalars(sa.select(EventAdminAction.action).order_by(EventAdminAction.id)))


@pytest.fixture
def admin(login):
    return login("admin")


def test_create_client_htmx_returns_fresh_form_and_trigger(admin):
    resp = admin.hx_post("/admin/clients", {"name": "  Acme   Dental "})
    assert resp.status_code == 200
    assert "clientsChanged" in resp.headers["HX-Trigger"]
    assert 'id="client-form"' in resp.get_data(as_text=True)
    client = db.session.scalar(sa.select(Client).where(Client.name == "Acme Dental"))
    assert client.slug == "acme-dental"
    assert "client.created" in audit_actions()


def test_create_client_plain_post_redirects(admin):
    resp = admin.post("/admin/clients", {"name": "Plain Co"})
    assert resp.status_code == 303 and resp.headers["Location"] == "/admin/clients"


@pytest.mark.parametrize("name,message", [("", "This field is required."), ("x", "between 2 and 120"),
                                          ("Taken Co", "already exists"), ("taken co", "already exists")])
def test_bad_client_name_rerenders_with_error_and_saves_nothing(admin, name, message):
    factories.client("Taken Co")
    db.session.commit()
    before, audits = count(Client), count(EventAdminAction)
    resp = admin.hx_post("/admin/clients", {"name": name})
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert message in html and f'value="{name}"' in html or name == ""
    assert count(Client) == before and count(EventAdminAction) == audits


def test_rename_inline(admin):
    client = factories.client("Old Name")
    db.session.commit()
    edit = admin.hx_get(f"/admin/clients/{client.id}/edit")
    assert edit.status_code == 200 and f'id="client-{client.id}"' in edit.get_data(as_text=True)
    bad = admin.hx_post(f"/admin/clients/{client.id}", {"name": ""})
    assert bad.status_code == 422
    ok = admin.hx_post(f"/admin/clients/{client.id}", {"name": "New Name"})
    assert ok.status_code == 200 and "New Name" in ok.get_data(as_text=True)
    db.session.refresh(client)
    assert client.name == "New Name"
    row = db.session.scalar(sa.select(EventAdminAction).where(EventAdminAction.action == "client.renamed"))
    assert row.details == {"old": "Old Name", "new": "New Name"} and row.target_id == str(client.id)


def test_archive_and_restore(admin):
    client = factories.client()
    db.session.commit()
    assert "Restore" in admin.hx_post(f"/admin/clients/{client.id}/archive").get_data(as_text=True)
    assert client.archived
    admin.hx_post(f"/admin/clients/{client.id}/archive")
    assert not client.archived
    assert audit_actions()[-2:] == ["client.archived", "client.restored"]


def test_unknown_client_is_404(admin):
    assert admin.hx_post("/admin/clients/99999", {"name": "Ghost"}).status_code == 404


def _user_form(**over):
    data = {"email": "new.person@example.com", "name": "New Person", "role": "owner", "client_id": "0"}
    data.update(over)
    return data


def test_create_user_makes_a_single_use_invitation(app, admin, client):
    app.config["PASSWORD_HASH_METHOD"] = None  # the real hash, as in production (the suite uses a cheap one)
    resp = admin.hx_post("/admin/users", _user_form(email="New.Person@Example.com"))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "usersChanged" in resp.headers["HX-Trigger"]
    user = db.session.scalar(sa.select(User).where(User.email == "new.person@example.com"))
    assert user.role == "owner" and user.client_id is None and not user.has_password
    assert not user.check_password("") and not user.check_password("!")  # no password opens it yet
    link = re.search(r'value="(http://localhost/invite/[^"]+)"', html).group(1)
    token = link.rsplit("/", 1)[1]
    stored = db.session.scalar(sa.select(UserInvitation).where(UserInvitation.user_id == user.id))
    assert token not in stored.token_hash and len(token) >= 40  # only a hash of the token is kept

    path = link.replace("http://localhost", "")
    page = client.get(path)
    assert page.status_code == 200 and "new.person@example.com" in page.get_data(as_text=True)
    token_field = csrf_token(client, path)
    weak = client.post(path, data={"new": "new.person", "confirm": "new.person", "csrf_token": token_field})
    assert weak.status_code == 422 and not db.session.get(User, user.id).has_password
    done = client.post(path, data={"new": "a long enough password", "confirm": "a long enough password",
                                   "csrf_token": token_field})
    assert done.status_code == 303 and client.get("/connections").status_code == 200  # signed in
    db.session.expire_all()
    assert user.password_hash.startswith("scrypt:") and user.check_password("a long enough password")
    again = client.get(path)
    assert again.status_code == 410 and "already used" in again.get_data(as_text=True)
    assert client.get("/invite/not-a-real-token").status_code == 404
    assert "user.invitation_refused" not in audit_actions()  # opening a spent link writes nothing (issue 32)
    reuse = client.post(path, data={"new": "another long password", "confirm": "another long password",
                                    "csrf_token": csrf_token(client, "/connections")})
    assert reuse.status_code == 410
    actions = audit_actions()
    assert {"user.created", "user.invited", "user.invitation_accepted", "user.invitation_refused"} <= set(actions)
    assert all(token not in str(row.details) for row in db.session.scalars(sa.select(EventAdminAction)))


def test_a_newer_link_an_expiry_or_a_deactivation_stops_a_link(admin, client):
    from datetime import timedelta

    from console.models.base import utcnow

    admin.hx_post("/admin/users", _user_form())
    user = db.session.scalar(sa.select(User).where(User.email == "new.person@example.com"))
    first = re.search(r'/invite/([^"]+)"', admin.hx_post(f"/admin/users/{user.id}/invite").get_data(as_text=True))
    second = re.search(r'/invite/([^"]+)"', admin.hx_post(f"/admin/users/{user.id}/invite").get_data(as_text=True))
    replaced = client.get(f"/invite/{first.group(1)}")
    assert replaced.status_code == 410 and "replaced by a newer link" in replaced.get_data(as_text=True)
    assert client.get(f"/invite/{second.group(1)}").status_code == 200
    db.session.execute(sa.update(UserInvitation).values(expires_at=utcnow() - timedelta(minutes=1)))
    db.session.commit()
    assert "has expired" in client.get(f"/invite/{second.group(1)}").get_data(as_text=True)
    third = re.search(r'/invite/([^"]+)"', admin.hx_post(f"/admin/users/{user.id}/invite").get_data(as_text=True))
    admin.hx_post(f"/admin/users/{user.id}/active")  # deactivated
    gone = client.get(f"/invite/{third.group(1)}")
    assert gone.status_code == 410 and "deactivated" in gone.get_data(as_text=True)
    refused = admin.hx_post(f"/admin/users/{user.id}/invite")
    assert refused.status_code == 422 and "Reactivate" in refused.get_data(as_text=True)


def test_every_admin_action_works_as_a_plain_form_post(admin):
    """Without JavaScript: edit pages of their own, and each post answers with a redirect and a message."""
    target = factories.client("Plain Co")
    db.session.commit()
    edit = admin.get(f"/admin/clients/{target.id}/edit")
    assert edit.status_code == 200 and "<html" in edit.get_data(as_text=True)
    assert 'method="post"' in edit.get_data(as_text=True)
    renamed = admin.post(f"/admin/clients/{target.id}", {"name": "Plain Company"})
    assert renamed.status_code == 303 and renamed.headers["Location"].endswith("/admin/clients")
    bad = admin.post(f"/admin/clients/{target.id}", {"name": "x"})
    assert bad.status_code == 422 and "<html" in bad.get_data(as_text=True)
    assert admin.post(f"/admin/clients/{target.id}/archive").status_code == 303
    db.session.expire_all()
    assert target.name == "Plain Company" and target.archived
    assert "archived" in admin.get("/admin/clients").get_data(as_text=True)

    created = admin.post("/admin/users", _user_form())
    assert created.status_code == 303
    listing = admin.get("/admin/users").get_data(as_text=True)
    assert "Send them this link" in listing and "/invite/" in listing
    user = db.session.scalar(sa.select(User).where(User.email == "new.person@example.com"))
    page = admin.get(f"/admin/users/{user.id}/edit").get_data(as_text=True)
    assert "<html" in page and f'action="/admin/users/{user.id}"' in page
    assert admin.post(f"/admin/users/{user.id}", {"name": "Renamed Person", "role": "ops", "client_id": "0"}
                      ).status_code == 303
    assert admin.post(f"/admin/users/{user.id}/active").status_code == 303
    assert admin.post(f"/admin/users/{user.id}/active").status_code == 303
    assert admin.post(f"/admin/users/{user.id}/invite").status_code == 303
    mine = admin.post(f"/admin/users/{admin.user.id}/active")
    assert mine.status_code == 303 and "cannot deactivate yourself" in admin.get("/admin/users").get_data(as_text=True)
    db.session.expire_all()
    assert (user.name, user.role, user.active) == ("Renamed Person", "ops", True)
    rows = admin.get("/admin/users").get_data(as_text=True)
    for needs_js in re.findall(r"<button[^>]*>", rows):  # every button posts a form of its own
        assert "hx-get" not in needs_js and "hx-post" not in needs_js, needs_js


def test_create_client_user_needs_a_client(admin):
    client = factories.client()
    db.session.commit()
    bad = admin.hx_post("/admin/users", _user_form(role="client"))
    assert bad.status_code == 422 and "must belong to an active client" in bad.get_data(as_text=True)
    assert "new.person@example.com" in bad.get_data(as_text=True)  # what was typed is kept
    ok = admin.hx_post("/admin/users", _user_form(role="client", client_id=str(client.id)))
    assert ok.status_code == 200


@pytest.mark.parametrize("over,message", [
    ({"email": "not-an-email"}, "Invalid email"),
    ({"role": "superuser"}, "Not a valid choice"),
    ({"role": ""}, "Choose the user&#39;s role"),  # no default: never an Admin by accident
    ({"role": "ops", "client_id": "__client__"}, "Staff users do not belong to a client"),
    ({"client_id": "abc"}, "Invalid Choice"),
])
def test_bad_user_input_saves_nothing(admin, over, message):
    client = factories.client()
    db.session.commit()
    if over.get("client_id") == "__client__":
        over["client_id"] = str(client.id)
    before = count(User)
    resp = admin.hx_post("/admin/users", _user_form(**over))
    assert resp.status_code == 422 and message in resp.get_data(as_text=True)
    assert count(User) == before


def test_duplicate_email_refused(admin):
    factories.user("ops", email="dupe@example.com")
    db.session.commit()
    resp = admin.hx_post("/admin/users", _user_form(email="DUPE@example.com"))
    assert resp.status_code == 422 and "already exists" in resp.get_data(as_text=True)


def test_edit_role_and_client_signs_the_user_out(admin, login):
    other = login("ops")
    client = factories.client()
    db.session.commit()
    resp = admin.hx_post(f"/admin/users/{other.user.id}",
                         {"name": "Now Client", "role": "client", "client_id": str(client.id)})
    assert resp.status_code == 200
    db.session.refresh(other.user)
    assert other.user.role == "client" and other.user.client_id == client.id
    assert other.get("/connections").status_code == 302  # old session no longer valid
    assert "user.updated" in audit_actions()


def test_admin_cannot_demote_or_deactivate_self(admin):
    me = admin.user
    resp = admin.hx_post(f"/admin/users/{me.id}", {"name": me.name, "role": "ops", "client_id": "0"})
    assert resp.status_code == 422 and "cannot change your own role" in resp.get_data(as_text=True)
    resp = admin.hx_post(f"/admin/users/{me.id}/active")
    assert resp.status_code == 422 and "cannot deactivate yourself" in resp.get_data(as_text=True)
    db.session.refresh(me)
    assert me.role == "admin" and me.active


def test_deactivate_and_reset_password(admin, login):
    other = login("owner")
    resp = admin.hx_post(f"/admin/users/{other.user.id}/active")
    assert resp.status_code == 200 and "Deactivated" in resp.get_data(as_text=True)
    assert other.get("/connections").status_code == 302
    admin.hx_post(f"/admin/users/{other.user.id}/active")
    bad = admin.hx_post(f"/admin/users/{other.user.id}/password", {"password": "short"})
    assert bad.status_code == 422
    ok = admin.hx_post(f"/admin/users/{other.user.id}/password", {"password": "a fresh long password"})
    assert ok.status_code == 200
    db.session.refresh(other.user)
    assert other.user.check_password("a fresh long password")
    assert audit_actions()[-3:] == ["user.deactivated", "user.activated", "user.password_reset"]


def test_audit_page_filters(admin):
    admin.hx_post("/admin/clients", {"name": "Audit Me"})
    admin.hx_post("/admin/users", _user_form())
    page = admin.get("/admin/audit?action=client.").get_data(as_text=True)
    assert "client.created" in page and "user.created" not in page
    partial = admin.hx_get(f"/admin/audit?actor={admin.user.email}")
    assert partial.status_code == 200 and 'id="audit-table"' in partial.get_data(as_text=True)
    assert "<html" not in partial.get_data(as_text=True)
    assert admin.get("/admin/audit?since=not-a-date").status_code == 422
    future = admin.get("/admin/audit?since=2999-01-01").get_data(as_text=True)
    assert "No matching entries" in future


def test_page_and_partial_share_one_url(admin):
    full = admin.get("/admin/clients")
    part = admin.hx_get("/admin/clients")
    assert "<html" in full.get_data(as_text=True) and "<html" not in part.get_data(as_text=True)
    assert 'id="client-table"' in part.get_data(as_text=True)
    assert "HX-Request" in part.headers["Vary"]


def test_a_new_user_form_has_no_role_chosen(admin):
    page = admin.get("/admin/users").get_data(as_text=True)
    select = page.split('name="role"')[1].split("</select>")[0]
    assert select.split("<option")[1].startswith(' value="">Choose a role…') and "selected" not in select


def test_the_audit_log_names_targets_in_words_and_records_failed_sign_ins(admin, client):
    from ..conftest import sign_in

    admin.hx_post("/admin/clients", {"name": "Northwind Dental"})
    target = factories.user("ops", email="ana.ruiz@example.com")
    target.name = "Ana Ruiz"
    db.session.commit()
    assert admin.hx_post(f"/admin/users/{target.id}/active", {"active": "0"}).status_code == 200
    for _ in range(2):
        sign_in(client, "ana.ruiz@example.com", "not the password at all")
    page = admin.get("/admin/audit").get_data(as_text=True)
    table = page.split('id="audit-table"')[1]
    assert "client Northwind Dental" in table and "user Ana Ruiz" in table
    assert "users #" not in table and "{&#34;" not in table  # no bare numbers, no raw JSON
    failed = admin.get("/admin/audit?action=auth.login_failed").get_data(as_text=True).split('id="audit-table"')[1]
    assert failed.count("auth.login_failed") == 2 and "ana.ruiz@example.com" in failed
