def test_login_page_renders(client):
    resp = client.get("/login")
    assert resp.status_code == 200
    assert b"Sign in" in resp.data


def test_admin_pages_render(login):
    admin = login("admin")
    for path in ("/connections", "/admin/clients", "/admin/users", "/admin/audit", "/account/password"):
        resp = admin.get(path)
        assert resp.status_code == 200, (path, resp.status_code)
