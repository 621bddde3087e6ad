"""`flask ...` commands: init, users, demo, keys (and the groups of sandbox, sync, jobs, retention, monitoring)."""
from __future__ import annotations

import json
import os

import click
from flask import Flask, current_app
from werkzeug.serving import run_simple

from .extensions import db, this_app, upgrade
from .refusals import Refused


def init_app(app: Flask) -> None:
    app.cli.add_command(init_command)
    app.cli.add_command(users_group)
    app.cli.add_command(demo_command)
    app.cli.add_command(keys_group)
    from jobs.cli import jobs_group

    from .monitoring.cli import monitoring_group
    from .retention.cli import retention_group
    from .sandbox.cli import sandbox_group
    from .sync.cli import sync_group

    app.cli.add_command(sandbox_group)
    app.cli.add_command(sync_group)
    app.cli.add_command(jobs_group)
    app.cli.add_command(retention_group)
    app.cli.add_command(monitoring_group)


def _upgrade_databases() -> None:
    """Apply Alembic migrations to both databases (needs a schema-privileged database user)."""
    upgrade()


@click.command("init")
@click.option("--admin-email", help="Create this first admin if no admin exists.")
@click.option("--admin-name", default="Administrator")
@click.option("--no-migrate", is_flag=True, help="Skip `db upgrade` (migrations run separately).")
def init_command(admin_email: str | None, admin_name: str, no_migrate: bool) -> None:
    """Create or upgrade both databases, the provider rows, and optionally the first admin."""
    from .admin.services import create_user
    from .reference import ensure_providers

    if not no_migrate:
        _upgrade_databases()
    ensure_providers()
    if admin_email:
        password = os.environ.get("CONSOLE_ADMIN_PASSWORD") or click.prompt(
            "Password for " + admin_email, hide_input=True, confirmation_prompt=True
        )
        from .auth.services import password_problem

        problem = password_problem(password, admin_email, admin_name)
        if problem:
            raise click.ClickException(problem)
        try:
            create_user(admin_email, admin_name, "admin", None, password)
        except Refused as err:
            raise click.ClickException(str(err)) from err
    db.session.commit()
    click.echo("Databases ready.")


@click.group("users")
def users_group() -> None:
    """Manage console users."""


@users_group.command("create")
@click.argument("email")
@click.option("--name", required=True)
@click.option("--role", type=click.Choice(["admin", "owner", "ops", "client"]), required=True)
@click.option("--client", "client_name", help="Client name (client users only).")
@click.password_option(help="Prompted for when not given.")
def users_create(email: str, name: str, role: str, client_name: str | None, password: str) -> None:
    import sqlalchemy as sa

    from .admin.services import create_user
    from .auth.services import password_problem
    from .models import Client

    problem = password_problem(password, email, name)
    if problem:
        raise click.ClickException(problem)
    client_id = None
    if client_name:
        client_id = db.session.scalar(sa.select(Client.id).where(Client.name == client_name))
        if client_id is None:
            raise click.ClickException(f"No client named {client_name!r}.")
    try:
        user = create_user(email, name, role, client_id, password)
    except Refused as err:
        raise click.ClickException(str(err)) from err
    db.session.commit()
    click.echo(f"Created {user.email} ({user.role}).")


@click.command("demo")
@click.option("--json", "as_json", is_flag=True, help="Print the demo facts as one JSON object.")
@click.option("--serve", is_flag=True, help="Then serve the console (development server).")
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=5000, type=int)
@click.option("--sandbox-port", default=8765, type=int, help="Where --serve starts the HubSpot sandbox.")
@click.option("--salesforce-port", default=8767, type=int, help="Where --serve starts the Salesforce sandbox.")
def demo_command(as_json: bool, serve: bool, host: str, port: int, sandbox_port: int, salesforce_port: int) -> None:
    """Seed the demo data set (idempotent) and print its logins; --serve also runs the sandbox."""
    from . import demo_salesforce
    from .demo import seed_demo

    if current_app.config["CONSOLE_ENV"] == "production":
        raise click.ClickException("The demo data set is for local use; refusing with CONSOLE_ENV=production.")
    _upgrade_databases()
    # The demo's sandbox is a local address: allow it in this process, explicitly (outbound allowlist).
    current_app.config["PROVIDER_HOSTS"] = (*current_app.config["PROVIDER_HOSTS"], f"127.0.0.1:{sandbox_port}",
                                            f"127.0.0.1:{salesforce_port}")
    facts = seed_demo(sandbox_port, salesforce_port)
    facts["console_url"] = f"http://{host}:{port}/"
    facts["webhooks"]["url"] = f"http://{host}:{port}/webhooks/hubspot"
    facts["oauth"]["redirect_uri"] = f"http://{host}:{port}/connections/oauth/callback"
    if as_json:
        click.echo(json.dumps(facts, indent=2))
    else:
        _print_demo(facts)
    if serve:
        sandbox = _start_demo_sandbox([p["private_app_token"] for p in facts["sandbox"]["portals"]], sandbox_port,
                                      facts["webhooks"]["signing_secret"], facts["webhooks"]["url"],
                                      facts["oauth"]["client_id"])
        salesforce = demo_salesforce.start(salesforce_port)
        from .demo import prime_reports

        click.echo(prime_reports(facts["sandbox"]["synced_connection_id"]))
        app = this_app()
        if app.config["SCHEDULER_ENABLED"] and "scheduler" not in app.extensions:
            from jobs.scheduler import start_scheduler

            start_scheduler(app, app.config["SCHEDULER_INTERVAL_SECONDS"])
            click.echo("Sync dispatcher running: Northwind's live connection syncs contacts and deals every minute.")
        try:
            # app.run() refuses to block inside a `flask` command; run_simple is what it wraps.
            run_simple(host, port, app, threaded=True)
        finally:
            sandbox.stop()
            salesforce.stop()


def _start_demo_sandbox(tokens: list[str], port: int, secret: str, webhook_url: str, client_id: str):
    """The local HubSpot sandbox the demo points at: a portal per client (each with its own token),
    realistic data, HubSpot's default limits, and signed webhook deliveries from the first portal to
    this console for every change (`flask sandbox change`)."""
    from .sandbox import SandboxConfig, SandboxServer

    try:
        server = SandboxServer(SandboxConfig(contacts=2000, deals=600, seed=42, token=tokens[0], client_secret=secret,
                                             client_id=client_id, extra_portals=len(tokens) - 1,
                                             extra_tokens=tuple(tokens[1:])),
                               port=port)
        server.state.webhooks.config.url = webhook_url
    except OSError as err:
        raise click.ClickException(f"Cannot start the HubSpot sandbox on port {port}: {err}. "
                                   "Free the port or pass --sandbox-port.") from err
    click.echo(f"HubSpot sandbox: {server.url}  (private-app token above; `flask sandbox change` makes edits,"
               f" delivered as signed webhooks to {webhook_url})")
    return server.start()


def _print_demo(facts: dict) -> None:
    click.echo(f"\nConnector Console demo: {facts['console_url']}\n")
    click.echo(f"{'role':<8} {'email':<34} {'password':<20} client")
    for login in facts["logins"]:
        click.echo(f"{login['role']:<8} {login['email']:<34} {login['password']:<20} {login['client'] or ''}")
    sandbox = facts["sandbox"]
    click.echo(f"\nHubSpot sandbox {sandbox['url']}")
    for portal in sandbox["portals"]:
        click.echo(f"  portal {portal['portal_id']} ({portal['client']}): "
                   f"private-app token {portal['private_app_token']}")
    oauth = facts["oauth"]
    click.echo(f"OAuth app: client id {oauth['client_id']}, client secret {oauth['client_secret']}, "
               f"redirect URI {oauth['redirect_uri']}")
    from . import demo_salesforce

    click.echo(demo_salesforce.printed(facts["salesforce"]))
    hooks = facts["webhooks"]
    click.echo(f"Webhooks -> {hooks['url']}  app {hooks['app_id']}, portal {hooks['portal_id']}, v3, "
               f"signing secret {hooks['signing_secret']} (the demo's only)\n")


@click.group("keys")
def keys_group() -> None:
    """Credential vault keys."""


@keys_group.command("generate")
def keys_generate() -> None:
    """Print a new keyring entry for CONSOLE_MASTER_KEY."""
    from .security.vault import new_master_key_entry

    click.echo(new_master_key_entry())


@keys_group.command("status")
def keys_status() -> None:
    """How many secrets each key id protects."""
    from .models import SECRET_MODELS
    from .security.rotation import count_by_key, unreadable
    from .security.vault import get_vault

    vault = get_vault()
    click.echo(f"active key: {vault.active_kid}")
    for kid, count in sorted(count_by_key(SECRET_MODELS).items()):
        click.echo(f"{kid}: {count} secret(s)")
    broken = unreadable(SECRET_MODELS)
    if broken:
        click.echo(f"UNREADABLE with this keyring: {len(broken)} secret(s): {', '.join(broken[:20])}"
                   + (" …" if len(broken) > 20 else ""))
        click.echo("The master key is wrong or missing an old entry: restore CONSOLE_MASTER_KEY (or the key file).")
        raise SystemExit(1)


@keys_group.command("rotate")
@click.option("--new-key", is_flag=True, help="First add a new active key to the local key file.")
def keys_rotate(new_key: bool) -> None:
    """Re-encrypt every secret under the active key (old keys stay readable meanwhile)."""
    from .models import SECRET_MODELS
    from .security.rotation import add_local_key, rotate_secrets
    from .security.vault import VaultError, get_vault

    vault = get_vault()
    try:
        if new_key:
            click.echo(f"New active key: {add_local_key(vault)}")
        count = rotate_secrets(vault, SECRET_MODELS)
    except VaultError as err:
        raise click.ClickException(str(err)) from err
    click.echo(f"Re-encrypted {count} secret(s) under key {vault.active_kid}.")
