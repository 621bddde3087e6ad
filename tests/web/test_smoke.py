def test_login_page_renders(client):
    resp = client.get("/login")
    assert resp.status_code == 200
    assert b"Sign in" in resp.data


def test_admin_pages_render(login):
    admin = login("admin")
    for path in ("/connections", "/admin/clients", "/admin/users", "/admin/audit", "/account/password"):
        resp = admin.get(path)
        assert resp.status_code == 200, (path, resp.status_code)


def test_connections_page_shows_the_last_runs(app, login, sandbox):
    from console.extensions import db
    from console.sync.inbound.runner import ensure_job, execute, start_run

    from .. import factories

    conn = factories.hubspot_connection(sandbox.url, sandbox.token)
    job = ensure_job(conn, "contacts")
    db.session.commit()
    execute(start_run(job, "manual", limit=40))
    html = login("ops").get("/connections").get_data(as_text=True)
    assert "seen 40" in html and sandbox.token not in html
