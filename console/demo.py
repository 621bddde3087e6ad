"""The demo data set: two clients, one user per role, a draft connection per client. Idempotent."""
from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import current_app

from .admin.services import slugify
from .choices import ConnectionStatus, Environment, Role
from .extensions import db
from .models import Client, IntegrationConnection, User
from .reference import ensure_providers

CLIENTS = ("Northwind Dental", "Maple Ridge Legal")
USERS = (
    ("admin@demo.example.com", "Avery Admin", Role.ADMIN, None),
    ("owner@demo.example.com", "Olive Owner", Role.OWNER, None),
    ("ops@demo.example.com", "Oscar Ops", Role.OPS, None),
    ("client@northwind.example.com", "Nia Northwind", Role.CLIENT, CLIENTS[0]),
    ("client@mapleridge.example.com", "Mark Maple", Role.CLIENT, CLIENTS[1]),
)


def _passwords() -> dict[str, str]:
    """Random demo passwords, made once per instance and kept (0600) so re-runs print the same."""
    path = Path(current_app.instance_path) / "demo-logins.json"
    known = json.loads(path.read_text()) if path.exists() else {}
    for email, *_ in USERS:
        known.setdefault(email, "demo-" + secrets.token_urlsafe(9))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(known, fh, indent=1)
    return known


SANDBOX_PORT = 8765


def sandbox_token() -> str:
    """The demo sandbox's private-app token, made once per instance (the demo's only, never real)."""
    path = Path(current_app.instance_path) / "demo-sandbox-token"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write("pat-demo-" + secrets.token_hex(16))
    return path.read_text().strip()


def webhook_secret() -> str:
    """The demo sandbox app's secret (signs its webhooks), made once per instance; the demo's only."""
    path = Path(current_app.instance_path) / "demo-webhook-secret"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write("demo-app-secret-" + secrets.token_hex(16))
    return path.read_text().strip()


DEMO_APP_ID = "4242"


def _client(name: str) -> Client:
    client = db.session.scalar(sa.select(Client).where(Client.name == name))
    if client is None:
        client = Client(name=name, slug=slugify(name))
        db.session.add(client)
        db.session.flush()
    return client


def _user(email: str, name: str, role: Role, client: Client | None, password: str) -> User:
    user = db.session.scalar(sa.select(User).where(User.email == email))
    if user is None:
        user = User(email=email, name=name, role=role.value, client_id=client.id if client else None)
        db.session.add(user)
    if not user.password_hash or not user.check_password(password):
        user.set_password(password)
    user.active = True
    return user


def _connection(client: Client, owner: User, provider_id: int) -> IntegrationConnection:
    conn = db.session.scalar(
        sa.select(IntegrationConnection).where(IntegrationConnection.client_id == client.id)
    )
    if conn is None:
        conn = IntegrationConnection(
            client_id=client.id, provider_id=provider_id, name=f"{client.name} CRM",
            environment=Environment.SANDBOX.value, status=ConnectionStatus.DRAFT.value,
            owner_user_id=owner.id, reason="Lead and deal reporting for the monthly client review.",
            client_visible=True,
        )
        db.session.add(conn)
        db.session.flush()
    return conn


def _connect_to_sandbox(conn: IntegrationConnection, url: str, token: str) -> None:
    """Point the first demo connection at the local sandbox with scheduled contacts and deals jobs."""
    from .choices import ConnectionStatus as CS
    from .models import IntegrationProviderAccount
    from .sync.runner import ensure_job

    if conn.account_id is None:
        account = IntegrationProviderAccount(provider_id=conn.provider_id, client_id=conn.client_id,
                                             external_account_id="62515", environment=Environment.SANDBOX.value,
                                             base_url=url, auth_type="private_app",
                                             required_scopes="crm.objects.contacts.read crm.objects.deals.read",
                                             revocation_path="Delete the private app in the sandbox portal settings.")
        db.session.add(account)
        account.set_secret("credentials", json.dumps({"token": token}), hint_source=token)
        conn.account_id = account.id
        conn.status = CS.TESTING.value
    account = conn.account
    if account.get_secret("webhook_secret") != webhook_secret():
        account.set_secret("webhook_secret", webhook_secret())
    account.app_id = DEMO_APP_ID
    for object_type in ("contacts", "deals"):
        job = ensure_job(conn, object_type, schedule_seconds=60, enabled=True)
        job.depends_on = None


def seed_demo(sandbox_port: int = SANDBOX_PORT) -> dict[str, Any]:
    """Create or refresh the demo set; return the facts `flask demo --json` prints."""
    providers = ensure_providers()
    clients = {name: _client(name) for name in CLIENTS}
    passwords = _passwords()
    users = {email: _user(email, name, role, clients.get(cname), passwords[email])
             for email, name, role, cname in USERS}
    db.session.flush()
    owner = users["owner@demo.example.com"]
    connections = [_connection(c, owner, providers["hubspot"].id) for c in clients.values()]
    sandbox_url = f"http://127.0.0.1:{sandbox_port}"
    _connect_to_sandbox(connections[0], sandbox_url, sandbox_token())
    db.session.commit()
    return {
        "logins": [
            {"email": u.email, "password": passwords[u.email], "role": u.role,
             "client": u.client.name if u.client else None}
            for u in users.values()
        ],
        "clients": [{"id": c.id, "name": c.name} for c in clients.values()],
        "connections": [{"id": c.id, "client": c.client.name, "status": c.status} for c in connections],
        "sandbox": {"url": sandbox_url, "private_app_token": sandbox_token(), "portal_id": "62515",
                    "synced_connection_id": connections[0].id},
        "webhooks": {"url": None, "app_id": DEMO_APP_ID, "portal_id": "62515", "signature_version": "v3",
                     "signing_secret": webhook_secret(),
                     "note": "the demo sandbox app's secret; deliveries start with `demo --serve`"},
    }


def prime_reports(connection_id: int) -> str:
    """First syncs of the demo connection from the running sandbox, its baselines, and a published note,
    so the portal has real cards from the first click. Skipped once the connection has baselines."""
    from .choices import NoteStatus
    from .metrics import baselines, notes
    from .models import ReportNote
    from .sync.runner import ensure_job, execute, start_run

    conn = db.session.get(IntegrationConnection, connection_id)
    if baselines.active(conn.id):
        return "Demo report already primed."
    admin = db.session.scalar(sa.select(User).where(User.email == USERS[0][0]))
    for object_type in ("deals", "contacts"):
        job = ensure_job(conn, object_type)
        for _ in range(2):  # a full backfill, then an incremental pass (the backfill may be partial)
            run = start_run(job, "backfill" if job.cursor is None else "manual", user_id=admin.id)
            execute(run)
            db.session.refresh(run)
            if baselines.refusal(run, conn) is None:
                baselines.capture(conn, run, admin)
                break
    if not conn.client_explanation:
        conn.client_explanation = ("Your CRM's leads and deals are copied here every minute so we can report "
                                   "on ownership, follow-ups, lead sources and the open pipeline.")
        conn.next_action = "Review the unassigned leads together at the next monthly meeting."
    if not db.session.scalar(sa.select(ReportNote).where(ReportNote.connection_id == conn.id)):
        note = notes.create(conn, admin, "Reporting is connected",
                            "The baseline below is the starting point we will measure progress against.")
        if note.status == NoteStatus.DRAFT:
            notes.publish(note, admin)
    db.session.commit()
    kept = baselines.active(conn.id)
    return f"Demo report primed: {len(kept)} baselines from the first complete syncs, one published note."
