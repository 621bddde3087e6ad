"""Health check and the CLI (init, users, demo)."""
from __future__ import annotations

import json

import sqlalchemy as sa

from console.extensions import db
from console.models import Client, IntegrationConnection, User

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
    assert (count(Client), count(User), count(IntegrationConnection)) == counts == (2, 5, 2)
    assert facts["logins"] == second["logins"]
    roles = {login["role"] for login in facts["logins"]}
    assert roles == {"admin", "owner", "ops", "client"}
    assert {c["status"] for c in facts["connections"]} == {"testing", "draft"}
    assert facts["sandbox"]["synced_connection_id"] == facts["connections"][0]["id"]


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
