"""What the wizard's steps change: the connection, its provider account, and the monitor and client
settings (the credentials and the live check: credentials.py). Every change is audited."""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass

import sqlalchemy as sa

from .. import audit
from ..auth.policy import can
from ..choices import ConnectionStatus, CredentialStatus, WriteCondition
from ..connectors import registry
from ..extensions import db
from ..mapping.objects import label as object_label
from ..mapping.targets import label_of
from ..models import (
    Client,
    IntegrationConnection,
    IntegrationFieldMapping,
    IntegrationProvider,
    IntegrationProviderAccount,
    IntegrationSyncJob,
    IntegrationSyncRun,
    User,
)
from ..refusals import Refused
from ..security.vault import VaultError
from ..sync.outbound.push import start_push
from . import checklist


def default_scopes(provider: IntegrationProvider) -> str:
    """The scopes a read-only sync of the provider needs (its connector names them)."""
    return " ".join(registry.get(provider.key).default_scopes)


class WizardError(Refused):
    """A change refused with a message for one field (or the form when `field` is None)."""


def create_connection(client: Client, provider: IntegrationProvider, name: str, environment: str,
                      owner: User | None, reason: str, user: User) -> IntegrationConnection:
    conn = IntegrationConnection(client_id=client.id, provider_id=provider.id, name=name.strip(),
                                 environment=environment, status=ConnectionStatus.DRAFT.value,
                                 owner_user_id=owner.id if owner else None, reason=reason.strip())
    db.session.add(conn)
    db.session.flush()
    checklist.ensure(conn)
    audit.record("connection.created", conn, user, client=client.name, provider=provider.key, name=conn.name)
    db.session.commit()
    return conn


def account_of(conn: IntegrationConnection) -> IntegrationProviderAccount:
    if conn.account is None:
        account = IntegrationProviderAccount(provider_id=conn.provider_id, client_id=conn.client_id,
                                             environment=conn.environment, auth_type=conn.provider.auth_type,
                                             required_scopes=default_scopes(conn.provider))
        db.session.add(account)
        db.session.flush()
        conn.account_id = account.id
        conn.account = account
    return conn.account


def save_access(conn: IntegrationConnection, user: User, *, owner: User | None, auth_type: str, scopes: str,
                docs_url: str, revocation_path: str) -> None:
    account = account_of(conn)
    scope_list = " ".join(sorted(set(scopes.split())))
    if account.auth_type != auth_type and account.credentials_enc:
        raise WizardError("Credentials are stored for the current auth model: revoke them before switching.",
                          "auth_type")
    conn.owner_user_id = owner.id if owner else None
    account.auth_type, account.required_scopes, account.revocation_path = auth_type, scope_list, revocation_path.strip()
    conn.docs_url = docs_url.strip()
    checklist.prove(conn, "provider_docs", bool(conn.docs_url), user=user)
    checklist.prove(conn, "auth_documented", bool(scope_list), user=user)
    checklist.prove(conn, "revocation_documented", bool(account.revocation_path), user=user,
                    note="credentials are stored encrypted in the console vault (AES-256-GCM)")
    audit.record("connection.access_saved", conn, user, owner=owner.email if owner else None, auth_type=auth_type,
                 scopes=scope_list, docs_url=conn.docs_url)
    db.session.commit()


def portal_owners(conn: IntegrationConnection, portal_id: str) -> list[IntegrationConnection]:
    """Connections of other clients attached to the same provider portal (revoked ones let it go)."""
    return list(db.session.scalars(
        sa.select(IntegrationConnection).join(IntegrationProviderAccount,
                                              IntegrationConnection.account_id == IntegrationProviderAccount.id)
        .where(IntegrationProviderAccount.provider_id == conn.provider_id,
               IntegrationProviderAccount.external_account_id == portal_id.strip(),
               IntegrationConnection.client_id != conn.client_id,
               IntegrationConnection.status != ConnectionStatus.REVOKED.value)
        .order_by(IntegrationConnection.id)))


def webhook_receiver(conn: IntegrationConnection) -> IntegrationConnection | None:
    """The connection that receives this connection's portal's webhooks (the receiver's own routing:
    a live connection first, then the oldest)."""
    from ..webhooks.ingest import routes_for

    portal = conn.account.external_account_id if conn.account else None
    if not portal:
        return None
    try:
        routes = routes_for({portal}).get(portal) or []
    except VaultError:  # the secrets cannot be read with this key: the receiver refuses every event (503)
        return None
    return db.session.get(IntegrationConnection, routes[0].connection_id) if routes else None


def save_account(conn: IntegrationConnection, user: User, *, portal_id: str, environment: str, base_url: str,
                 oauth_client_id: str = "", override_reason: str = "") -> None:
    """One provider portal belongs to one client: another client's connection on the same portal would
    receive (and write) this client's webhooks. An admin may override, with a reason, audited."""
    connector = registry.get(conn.provider.key)
    if not re.fullmatch(connector.account_pattern, portal_id.strip()):
        raise WizardError(f"That is not a {connector.account_label}: check it in {connector.name}'s settings.", "portal_id")
    others = portal_owners(conn, portal_id)
    if others:
        names = ", ".join(f"{o.client.name}'s “{o.name}”" for o in others[:3])
        if not can(user, "administer"):
            raise WizardError(f"Portal {portal_id.strip()} is already attached to {names}. A portal belongs to one "
                              "client; ask an admin if it really is shared.", "portal_id")
        if not override_reason.strip():
            raise WizardError(f"Portal {portal_id.strip()} is already attached to {names}. To attach it to "
                              f"{conn.client.name} too, give the reason (kept in the audit log).", "override_reason")
        audit.record("connection.portal_shared", conn, user, portal_id=portal_id.strip(),
                     other_connections=[o.id for o in others], reason=override_reason.strip()[:500])
    account = account_of(conn)
    base_url = base_url.strip().rstrip("/")
    had_target = bool(account.external_account_id or account.base_url)
    changed_target = (account.external_account_id, account.base_url) != (portal_id.strip(), base_url)
    account.external_account_id, account.base_url = portal_id.strip(), base_url
    account.environment = conn.environment = environment
    if oauth_client_id.strip():
        account.oauth_client_id = oauth_client_id.strip()
    if changed_target and had_target:
        # Credentials stored for the old address or portal never travel to the new one: enter them again.
        for name in ("credentials", "client_secret"):
            account.set_secret(name, None)
        account.credentials_status, account.credentials_error, account.granted_scopes = (
            CredentialStatus.UNKNOWN.value, None, None)
        checklist.prove(conn, "credentials_verified", False, "account changed: enter the credentials again", user)
    checklist.prove(conn, "records_created", bool(account.external_account_id and account.base_url), user=user)
    audit.record("connection.account_saved", conn, user, portal_id=account.external_account_id,
                 environment=environment, base_url=account.base_url)
    db.session.commit()
    from ..webhooks.ingest import forget_secrets

    forget_secrets()  # the receiver routes by portal: it must not keep the old one


def save_report_text(conn: IntegrationConnection, user: User, explanation: str, next_action: str) -> None:
    conn.client_explanation, conn.next_action = explanation.strip(), next_action.strip()
    checklist.prove(conn, "client_explanation", bool(conn.client_explanation and conn.next_action), user=user)
    audit.record("connection.client_text_saved", conn, user)
    db.session.commit()


@dataclass(frozen=True)
class Thresholds:
    """What the monitor step's alert thresholds say, in the form's words."""

    stale_multiple: int
    pressure_pct: int
    failed_webhooks: int
    duplicate_events: int
    freshness_target: int
    freshness_objective: int
    completeness: int
    duplicate_records: int
    unresolved: int


def save_monitor(conn: IntegrationConnection, user: User, limits: Thresholds, *, channel: str, target: str,
                 visible: bool, visibility_note: str, failure_path: str, manual_fallback: str) -> None:
    conn.stale_multiple, conn.rate_limit_pressure_pct = limits.stale_multiple, limits.pressure_pct
    conn.failed_webhook_threshold, conn.duplicate_event_pct = limits.failed_webhooks, limits.duplicate_events
    conn.freshness_target_seconds, conn.freshness_objective_pct = limits.freshness_target, limits.freshness_objective
    conn.quality_completeness_pct, conn.quality_duplicate_pct = limits.completeness, limits.duplicate_records
    conn.quality_unresolved_pct = limits.unresolved
    conn.notify_channel, conn.notify_target = channel, target.strip()
    conn.client_visible, conn.client_visibility_note = visible, visibility_note.strip()
    conn.failure_path, conn.manual_fallback = failure_path.strip(), manual_fallback.strip()
    checklist.prove(conn, "monitoring_configured", bool(conn.notify_target), user=user)
    checklist.prove(conn, "client_visibility", bool(conn.client_visibility_note), user=user)
    checklist.prove(conn, "failure_path", bool(conn.failure_path), user=user)
    checklist.prove(conn, "manual_fallback", bool(conn.manual_fallback), user=user)
    audit.record("connection.monitor_saved", conn, user, **asdict(limits), channel=channel, visible=visible)
    db.session.commit()


def topology(conn: IntegrationConnection) -> list[str]:
    """One line per synced object type, in the intake's words: which way it flows, and per field which
    way and who is the record's owner ("Contacts: both ways. HubSpot → console: Email…")."""
    provider = conn.provider.name if conn.provider else "the CRM"
    jobs = db.session.scalars(sa.select(IntegrationSyncJob).where(
        IntegrationSyncJob.connection_id == conn.id, IntegrationSyncJob.enabled.is_(True))
        .order_by(IntegrationSyncJob.object_type)).all()
    lines = []
    for job in jobs:
        rows = db.session.scalars(sa.select(IntegrationFieldMapping).where(
            IntegrationFieldMapping.connection_id == conn.id, IntegrationFieldMapping.object_type == job.object_type)
            .order_by(IntegrationFieldMapping.position, IntegrationFieldMapping.id)).all()
        way = {"in": f"{provider} → console", "out": f"console → {provider}", "both": "both ways"}.get(job.direction, "")
        inbound = [label_of(job.object_type, r.target_field) for r in rows if r.direction == "in"]
        outbound = []
        for r in rows:
            if r.direction == "in" or job.direction == "in":
                continue
            notes = []
            if r.direction == "both":
                notes.append(f"{provider if r.system_of_record == 'provider' else 'the console'} is the system of record")
            if r.condition:
                notes.append(WriteCondition.label_of(r.condition).lower().replace("the crm", provider))
            outbound.append(label_of(job.object_type, r.target_field) + (f" ({'; '.join(notes)})" if notes else ""))
        parts = [f"{object_label(job.object_type, job.connection_id)}: {way}."]
        if inbound or job.direction == "in":
            parts.append(f"{provider} → console: {', '.join(inbound) or 'no fields'}.")
        if job.direction != "in":
            parts.append(f"Console → {provider}: {', '.join(outbound) or 'no fields yet (set a direction per field)'}.")
        lines.append(" ".join(parts))
    return lines


def queue_outbound_dry_run(conn: IntegrationConnection, job: IntegrationSyncJob, user: User) -> IntegrationSyncRun:
    """An outbound dry run of one object type, queued for the dispatcher (audited)."""
    run = start_push(job, dry_run=True, user_id=user.id, queued=True)
    audit.record("connection.outbound_dry_run_queued", conn, user, run_id=run.id, object_type=job.object_type)
    db.session.commit()
    return run
