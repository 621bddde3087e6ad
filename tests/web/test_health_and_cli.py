"""Health check and the CLI (init, users, demo)."""
from __future__ import annotations

import json

import sqlalchemy as sa

from console.extensions import db
from console.models import Client, ConnectionChecklistItem, EventAdminAction, IntegrationConnection, User

from ..conftest import count, sign_in


def test_healthz_reports_both_databases(client):
    resp = client.get("/healthz")
    assert resp.status_code == 200
    assert resp.get_json() == {"status": "ok", "checks": {"primary_db": "ok", "traffic_db": "ok", "vault": "ok"}}


def test_healthz_degraded_when_a_database_is_down(app, client):
    engines = app.extensions["sqlalchemy"]._app_engines[app]  # swap in an unreachable database
    original = engines["traffic"]
    engines["traffic"] = sa.create_engine("sqlite:////nonexistent/dir/x.db")
    try:
        resp = client.get("/healthz")
    finally:
        engines["traffic"].dispose()
        engines["traffic"] = original
    assert resp.status_code == 503
    assert resp.get_json()["checks"] == {"primary_db": "ok", "traffic_db": "unreachable", "vault": "ok"}


def test_a_wrong_master_key_is_reported_by_healthz_and_keys_status(app, client, runner):
    from console.security.vault import build_vault

    from .. import factories

    account = factories.account(factories.client())
    account.set_secret("webhook_secret", "a-signing-secret-0000")
    db.session.commit()
    assert client.get("/healthz").get_json()["checks"]["vault"] == "ok"
    assert runner.invoke(args=["keys", "status"]).exit_code == 0
    app.extensions["vault"] = build_vault("kwrong:" + "B" * 43)  # the console restarted with another key
    app.extensions.pop("vault_health", None)
    resp = client.get("/healthz")
    assert resp.status_code == 503 and resp.get_json()["checks"]["vault"] == "unreadable secrets"
    out = runner.invoke(args=["keys", "status"])
    assert out.exit_code == 1 and f"integration_provider_accounts.webhook_secret#{account.id}" in out.output


def demo_json(runner) -> dict:
    result = runner.invoke(args=["demo", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output[result.output.index("{"):])


def test_demo_is_idempotent_and_prints_json(app, runner):
    facts = demo_json(runner)
    counts = (count(Client), count(User), count(IntegrationConnection))
    second = demo_json(runner)
    assert (count(Client), count(User), count(IntegrationConnection)) == counts == (3, 6, 3)
    assert facts["logins"] == second["logins"]
    roles = {login["role"] for login in facts["logins"]}
    assert roles == {"admin", "owner", "ops", "client"}
    # nothing is live before `--serve` takes Northwind through the gate; each client has its own portal
    assert {c["status"] for c in facts["connections"]} == {"draft"}
    assert facts["sandbox"]["synced_connection_id"] == facts["connections"][0]["id"]
    portals = facts["sandbox"]["portals"]
    assert [p["portal_id"] for p in portals] == ["62515", "62516"] and len({p["private_app_token"] for p in portals}) == 2
    oauth = facts["oauth"]  # what a newcomer trying the OAuth path needs: the app's id and the exact redirect URI
    assert oauth["client_id"] == "connector-console-demo" and oauth["client_secret"] == facts["webhooks"]["signing_secret"]
    assert oauth["redirect_uri"] == "http://127.0.0.1:5000/connections/oauth/callback"
    for c in facts["connections"]:  # every connection has its checklist from creation: never "0 of 0"
        assert count(ConnectionChecklistItem, ConnectionChecklistItem.connection_id == c["id"]) == 16


def test_demo_serve_takes_northwind_live_through_the_gate(app, runner):
    """What `demo --serve` does before serving: Northwind's connection passes the real gate (test batches,
    the first complete sync, the seeded invalid emails ignored with a reason, baselines), Maple Ridge's
    stays a draft on its own portal."""
    from console.demo import prime_reports
    from console.metrics.baselines import active
    from console.sandbox import SandboxConfig, SandboxServer
    from console.wizard import gate, readiness

    facts = demo_json(runner)
    tokens = [p["private_app_token"] for p in facts["sandbox"]["portals"]]
    with SandboxServer(SandboxConfig(contacts=300, deals=80, seed=42, token=tokens[0], limits=False,
                                     extra_portals=1, extra_tokens=(tokens[1],))) as sb:
        conn = db.session.get(IntegrationConnection, facts["sandbox"]["synced_connection_id"])
        conn.account.base_url = sb.url
        db.session.commit()
        assert prime_reports(conn.id).startswith("Demo connection live")
        assert prime_reports(conn.id) == "Demo connection already live."
    db.session.refresh(conn)
    assert conn.status == "live" and conn.went_live_at is not None
    assert gate.missing(conn) == [] and readiness.missing_by_object(conn) == {}
    assert len(active(conn.id)) == 4
    assert count(EventAdminAction, EventAdminAction.action == "connection.went_live") == 1
    assert count(EventAdminAction, EventAdminAction.action == "sync.values_ignored") >= 1  # the seeded invalid emails
    draft = db.session.get(IntegrationConnection, facts["sandbox"]["portals"][1]["draft_connection_id"])
    assert draft.status == "draft" and draft.account_id is None


def test_demo_logins_work(app, runner):
    facts = demo_json(runner)
    for login in facts["logins"]:
        http = app.test_client()
        resp = sign_in(http, login["email"], login["password"])
        assert resp.status_code == 303, login["email"]


def test_demo_refused_in_production(app, runner):
    app.config["CONSOLE_ENV"] = "production"
    result = runner.invoke(args=["demo"])
    assert result.exit_code != 0 and "refusing" in result.output


def test_users_create_cli(app, runner):
    db.session.add(Client(name="Cli Client", slug="cli-client"))
    db.session.commit()
    ok = runner.invoke(args=["users", "create", "cli@example.com", "--name", "Cli", "--role", "client",
                             "--client", "Cli Client", "--password", "a long cli password"])
    assert ok.exit_code == 0, ok.output
    user = db.session.scalar(sa.select(User).where(User.email == "cli@example.com"))
    assert user.client.name == "Cli Client"
    dupe = runner.invoke(args=["users", "create", "cli@example.com", "--name", "Cli", "--role", "ops",
                               "--password", "a long cli password"])
    assert dupe.exit_code != 0 and "already exists" in dupe.output
    short = runner.invoke(args=["users", "create", "x@example.com", "--name", "X", "--role", "ops",
                                "--password", "short"])
    assert short.exit_code != 0 and "at least 12" in short.output


def test_init_creates_providers_and_admin(app, runner, monkeypatch):
    monkeypatch.setenv("CONSOLE_ADMIN_PASSWORD", "first admin password")
    result = runner.invoke(args=["init", "--no-migrate", "--admin-email", "boss@example.com"])
    assert result.exit_code == 0, result.output
    admin = db.session.scalar(sa.select(User).where(User.email == "boss@example.com"))
    assert admin.role == "admin" and admin.check_password("first admin password")


def test_healthz_reports_the_scheduler_heartbeat(app, client):
    from datetime import timedelta

    from console.models.base import utcnow

    class FakeDispatcher:  # only the heartbeat attribute is read; the real one is tested elsewhere
        last_tick = utcnow()

    app.extensions["dispatcher"] = FakeDispatcher()
    try:
        assert client.get("/healthz").get_json()["checks"]["scheduler"] == "ok"
        FakeDispatcher.last_tick = utcnow() - timedelta(minutes=5)
        resp = client.get("/healthz")
        assert resp.status_code == 503 and resp.get_json()["checks"]["scheduler"] == "stalled"
    finally:
        del app.extensions["dispatcher"]


def test_a_revalidated_static_file_is_closed(app, client):
    """A browser revalidating the stylesheet gets a 304 and no body; the file opened for it is closed by
    the app, not left to the server (one that drops the body without closing it, as a server does when the
    browser has gone, would leave it to the garbage collector: a ResourceWarning and a file handle)."""
    import gc
    import warnings

    from werkzeug.test import EnvironBuilder

    first = client.get("/static/css/console.css")
    etag = first.headers["ETag"]
    first.close()
    environ = EnvironBuilder(path="/static/css/console.css", headers={"If-None-Match": etag}).get_environ()
    statuses = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        body = app.wsgi_app(environ, lambda status, headers, exc_info=None: statuses.append(status))
        del body  # dropped without close(), like a server whose client went away
        gc.collect()
    assert statuses == ["304 NOT MODIFIED"]
    assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []
