"""The demo data set: three clients, one user per role, a connection per client. Idempotent.

Northwind's connection is taken live through the same code an owner's clicks run (access, the live
credentials check, the mapping, test batches, the first complete sync, waivers, baselines, the gate), so
the demo's live connection is live because it passed the gate. Maple Ridge's is a draft on its own
sandbox portal (62516, its own token), for a newcomer to take through the wizard; Harbour Physio's is a draft
to a local Salesforce org (demo_salesforce.py)."""
from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import current_app

from . import demo_salesforce
from .admin.services import slugify
from .choices import ConnectionStatus, Environment, Role
from .extensions import db
from .models import Client, IntegrationConnection, User
from .models.base import require
from .reference import ensure_providers

CLIENTS = ("Northwind Dental", "Maple Ridge Legal", demo_salesforce.CLIENT)
USERS = (
    ("admin@demo.example.com", "Avery Admin", Role.ADMIN, None),
    ("owner@demo.example.com", "Olive Owner", Role.OWNER, None),
    ("ops@demo.example.com", "Oscar Ops", Role.OPS, None),
    ("client@northwind.example.com", "Nia Northwind", Role.CLIENT, CLIENTS[0]),
    ("client@mapleridge.example.com", "Mark Maple", Role.CLIENT, CLIENTS[1]),
    demo_salesforce.USER,
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
PORTALS = ("62515", "62516")  # Northwind's portal, Maple Ridge's portal: one portal per client


def sandbox_token(portal_index: int = 0) -> str:
    """A demo sandbox portal's private-app token, made once per instance (the demo's only, never real)."""
    path = Path(current_app.instance_path) / ("demo-sandbox-token" + (f"-{portal_index}" if portal_index else ""))
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
    from .wizard import checklist

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
    checklist.ensure(conn)  # every connection has its checklist from creation
    return conn


def _connect_to_sandbox(conn: IntegrationConnection, url: str, token: str) -> None:
    """Point the first demo connection at the local sandbox with scheduled contacts and deals jobs."""
    from .models import IntegrationProviderAccount
    from .sync.inbound.runner import ensure_job

    if conn.account_id is None:
        account = IntegrationProviderAccount(provider_id=conn.provider_id, client_id=conn.client_id,
                                             external_account_id=PORTALS[0], environment=Environment.SANDBOX.value,
                                             base_url=url, auth_type="private_app",
                                             required_scopes="crm.objects.contacts.read crm.objects.deals.read",
                                             revocation_path="Delete the private app in the sandbox portal settings.")
        db.session.add(account)
        account.set_secret("credentials", json.dumps({"token": token}), hint_source=token)
        conn.account_id = account.id
    kept = conn.account
    assert kept is not None  # set just above, or by an earlier seed
    account = kept
    if account.get_secret("webhook_secret") != webhook_secret():
        account.set_secret("webhook_secret", webhook_secret())
    account.app_id = DEMO_APP_ID
    for object_type in ("contacts", "deals"):
        job = ensure_job(conn, object_type, schedule_seconds=60, enabled=True)
        job.depends_on = None


def seed_demo(sandbox_port: int = SANDBOX_PORT, salesforce_port: int = demo_salesforce.PORT) -> dict[str, Any]:
    """Create or refresh the demo set; return the facts `flask demo --json` prints."""
    providers = ensure_providers()
    clients = {name: _client(name) for name in CLIENTS}
    passwords = _passwords()
    users = {email: _user(email, name, role, clients.get(cname or ""), passwords[email])
             for email, name, role, cname in USERS}
    db.session.flush()
    owner = users["owner@demo.example.com"]
    connections = [_connection(clients[name], owner, providers["salesforce" if name == demo_salesforce.CLIENT else "hubspot"].id)
                   for name in CLIENTS]
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
        "sandbox": {"url": sandbox_url, "private_app_token": sandbox_token(), "portal_id": PORTALS[0],
                    "synced_connection_id": connections[0].id,
                    "portals": [{"portal_id": PORTALS[0], "private_app_token": sandbox_token(),
                                 "client": CLIENTS[0]},
                                {"portal_id": PORTALS[1], "private_app_token": sandbox_token(1),
                                 "client": CLIENTS[1], "draft_connection_id": connections[1].id}]},
        "salesforce": demo_salesforce.facts(salesforce_port, connections[2]),
        "oauth": {"client_id": DEMO_OAUTH_CLIENT_ID, "client_secret": webhook_secret(), "redirect_uri": None,
                  "note": "the demo sandbox's OAuth app (its secret also signs webhooks)"},
        "webhooks": {"url": None, "app_id": DEMO_APP_ID, "portal_id": PORTALS[0], "signature_version": "v3",
                     "signing_secret": webhook_secret(),
                     "note": "the demo sandbox app's secret; deliveries start with `demo --serve`"},
    }


DEMO_OAUTH_CLIENT_ID = "connector-console-demo"  # the demo sandbox's OAuth app, fixed so its prints stay true
DEMO_REASON = "Demo: the sandbox seeds unusable values on purpose, as real portals have them; the client knows."


def prime_reports(connection_id: int) -> str:
    """Take Northwind's connection live through the wizard's own services, against the running sandbox,
    and publish one report note, so the portal has real cards from the first click. Skipped once live."""
    from .choices import NoteStatus
    from .metrics import baselines, notes
    from .models import ReportNote
    from .sync.proof import testbatch
    from .wizard import gate, readiness

    conn = require(IntegrationConnection, connection_id)
    if conn.went_live_at is not None:
        return "Demo connection already live."
    admin = db.session.execute(sa.select(User).where(User.email == USERS[0][0])).scalar_one()
    _configure(conn, admin)
    jobs = readiness.enabled_jobs(conn)
    if not all(s.test_passes for s in readiness.objects(conn)):
        _run_queued(testbatch.queue(conn, jobs, 25, admin))
    if any(s.missing_metrics for s in readiness.objects(conn)):
        _run_queued(testbatch.queue_first_sync(conn, jobs, admin))
    for state in readiness.objects(conn):  # accept the seeded unusable values, with the reason, as an owner would
        for run in (state.test, state.sync):
            _accept_source_values(conn, run, admin)
    readiness.capture_from_first_sync(conn, admin)
    if not db.session.scalar(sa.select(ReportNote).where(ReportNote.connection_id == conn.id)):
        note = notes.create(conn, admin, "Reporting is connected",
                            "The baseline below is the starting point we will measure progress against.")
        if note.status == NoteStatus.DRAFT:
            notes.publish(note, admin)
    gate.go_live(conn, admin)
    kept = baselines.active(conn.id)
    return f"Demo connection live: {len(kept)} baselines from its first complete sync, one published note."


def _configure(conn: IntegrationConnection, admin: User) -> None:
    """What the owner types on each step, through the same services (each change audited)."""
    from .choices import AuthType
    from .mapping.service import ensure_default_mappings
    from .mapping.validate import validate
    from .sync import catalogue
    from .wizard import checklist, credentials, readiness, services

    account = conn.account
    if account is None:
        raise RuntimeError("The demo connection has no provider account; run `flask demo` first.")
    services.save_access(conn, admin, owner=conn.owner, auth_type=AuthType.PRIVATE_APP.value,
                         scopes=account.required_scopes, docs_url="https://developers.hubspot.com/docs/api/crm/contacts",
                         revocation_path=account.revocation_path or "Delete the private app in the portal settings.")
    services.save_account(conn, admin, portal_id=account.external_account_id or "", environment=conn.environment,
                          base_url=account.base_url or "")
    result = credentials.check_connection(conn, admin)
    if not result.ok:
        raise RuntimeError(f"The demo sandbox refused the demo token: {result.message}")
    for job in readiness.enabled_jobs(conn):
        props = catalogue.properties(conn, job.object_type)
        ensure_default_mappings(conn.id, job.object_type, props)
        problems = validate(conn.id, job.object_type, props)
        if problems:
            raise RuntimeError(f"The demo mapping of {job.object_type} is incomplete: {problems[0]}")
    checklist.prove(conn, "jobs_named", True, user=admin)
    checklist.prove(conn, "fields_mapped", True, "contacts and deals validated", admin)
    for key in ("account_access", "test_results_reviewed"):
        checklist.tick(conn, key, admin, True, "demo data set")
    services.save_report_text(conn, admin, "Your CRM's leads and deals are copied here every minute so we can "
                              "report on ownership, follow-ups, lead sources and the open pipeline.",
                              "Review the unassigned leads together at the next monthly meeting.")
    services.save_monitor(conn, admin, services.Thresholds(3, 20, 5, 20, 300, 99, 95, 5, 2), channel="email",
                          target="owner@demo.example.com", visible=True,
                          visibility_note="The four metric cards and published notes.",
                          failure_path="Runs retry, then dead-letter; the owner is emailed and ops replay them.",
                          manual_fallback="A weekly CSV export from HubSpot, imported on the manual CSV page.")
    db.session.commit()


def _run_queued(runs) -> None:
    """What the dispatcher's pool does with queued runs, here in the command's own thread."""
    from jobs.executors import run_queued

    from .sync.runs.lifecycle import claim_queued

    for run_id in claim_queued("demo", len(runs)):
        run_queued(run_id)
    db.session.commit()


def _accept_source_values(conn: IntegrationConnection, run, admin: User) -> None:
    from .sync.proof.verdict import judge, waive

    if run is None:
        return
    for group in judge(run, conn).groups:
        if group.failure_class == "source_value" and group.open:
            waive(conn, run, group.code, DEMO_REASON, admin)
