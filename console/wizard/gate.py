"""The go-live gate and the connection's lifecycle actions (pause, resume, revoke).

The server decides: a connection goes live only with an owner, verified credentials, a failure path, a
manual fallback, an enabled job, every required checklist item done, and for every enabled object type a
passing test batch and a baseline (or "not applicable") for each of its metrics. Going live is the only
thing that starts the schedule: its jobs are due at once."""
from __future__ import annotations

import sqlalchemy as sa

from .. import audit
from ..choices import ConnectionStatus, CredentialStatus
from ..extensions import db
from ..models import IntegrationConnection, IntegrationSyncJob, IntegrationSyncRun, User
from ..models.base import utcnow
from ..refusals import Refused
from ..sync.proof.verdict import judge
from . import checklist, readiness
from .readiness import FINAL


class GateRefused(Refused):
    def __init__(self, reasons: list[str], by_object: dict[str, list[str]] | None = None) -> None:
        super().__init__(reasons=reasons)
        self.by_object = by_object or {}


def passing_test(conn: IntegrationConnection) -> IntegrationSyncRun | None:
    run = db.session.get(IntegrationSyncRun, conn.last_test_run_id) if conn.last_test_run_id else None
    if run and run.connection_id == conn.id and run.status in FINAL and judge(run, conn).passes:
        return run
    return None


def missing(conn: IntegrationConnection) -> list[str]:
    """Everything that stands between this connection and going live, in words an owner can act on
    (the per-object test and baseline reasons are in `readiness.missing_by_object`)."""
    reasons = []
    if conn.owner_user_id is None:
        reasons.append("No owner: assign the integration owner on the access step.")
    if conn.last_tested_at is None or passing_test(conn) is None:
        reasons.append("No last-tested date from a passing test batch (test step).")
    if not conn.failure_path.strip():
        reasons.append("No failure path: say who is alerted and what happens when a sync fails (monitor step).")
    if not conn.manual_fallback.strip():
        reasons.append("No manual fallback: describe the manual import path (monitor step).")
    if not any(j.enabled for j in _jobs(conn)):
        reasons.append("No sync job is enabled (mapping step).")
    if conn.account is None or conn.account.credentials_status != CredentialStatus.VALID:
        reasons.append("Credentials are not verified (connection step).")
    for row in checklist.items(conn):
        if row.required and row.done_at is None:
            reasons.append(f"Checklist: {row.label} ({row.step}).")
    return reasons


def _jobs(conn: IntegrationConnection) -> list[IntegrationSyncJob]:
    return list(db.session.scalars(sa.select(IntegrationSyncJob).where(IntegrationSyncJob.connection_id == conn.id)))


def go_live(conn: IntegrationConnection, user: User) -> None:
    if conn.status not in (ConnectionStatus.DRAFT, ConnectionStatus.TESTING):
        raise GateRefused([f"A {ConnectionStatus.label_of(conn.status).lower()} connection cannot go live from here."])
    readiness.refresh(conn, user)
    reasons, by_object = missing(conn), readiness.missing_by_object(conn)
    if reasons or by_object:
        audit.record("connection.go_live_refused", conn, user, missing=reasons, by_object=by_object)
        db.session.commit()
        raise GateRefused(reasons, by_object)
    old = conn.status
    conn.status, conn.went_live_at, conn.paused_at = ConnectionStatus.LIVE.value, utcnow(), None
    for job in _jobs(conn):
        if job.enabled:
            job.next_run_at = utcnow()
    audit.record("connection.went_live", conn, user, test_run_id=conn.last_test_run_id, old=old)
    db.session.commit()


def pause(conn: IntegrationConnection, user: User, reason: str) -> None:
    if conn.status not in (ConnectionStatus.LIVE, ConnectionStatus.TESTING):
        raise GateRefused(["Only a live or testing connection can be paused."])
    conn.status, conn.paused_at = ConnectionStatus.PAUSED.value, utcnow()
    audit.record("connection.paused", conn, user, reason=reason.strip() or None)
    db.session.commit()


def resume(conn: IntegrationConnection, user: User) -> None:
    if conn.status != ConnectionStatus.PAUSED:
        raise GateRefused(["Only a paused connection can be resumed."])
    target = ConnectionStatus.LIVE if conn.went_live_at else ConnectionStatus.TESTING
    if target == ConnectionStatus.LIVE:
        reasons = [r for r in missing(conn) if not r.startswith("Checklist")]
        if reasons:
            raise GateRefused(reasons)
    conn.status, conn.paused_at = target.value, None
    audit.record("connection.resumed", conn, user, status=target.value)
    db.session.commit()


def revoke(conn: IntegrationConnection, user: User, reason: str) -> None:
    """Delete the stored credentials and stop every job; the history stays."""
    if conn.status == ConnectionStatus.REVOKED:
        raise GateRefused(["The connection is already revoked."])
    account = conn.account
    if account is not None:
        for name in ("credentials", "client_secret", "webhook_secret"):
            account.set_secret(name, None)
        account.credentials_status, account.token_expires_at = CredentialStatus.REVOKED.value, None
        account.granted_scopes = None
    for job in _jobs(conn):
        job.enabled = False
    conn.status, conn.revoked_at = ConnectionStatus.REVOKED.value, utcnow()
    checklist.prove(conn, "credentials_verified", False, "credentials revoked")
    audit.record("connection.revoked", conn, user, reason=reason.strip() or None)
    db.session.commit()
