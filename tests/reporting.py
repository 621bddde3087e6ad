"""Helpers for metric and portal tests: a client whose connection has really synced from the sandbox."""
from __future__ import annotations

from console.extensions import db
from console.models import IntegrationSyncRun
from console.models.base import utcnow
from console.sync.inbound.runner import ensure_job, execute, start_run

from . import factories

FAST = {"backoff_base": 0.01, "timeout": 5.0}


def sync(job, kind: str = "manual", **kw) -> IntegrationSyncRun:
    run = start_run(job, kind, limit=kw.pop("limit", None), dry_run=kw.pop("dry_run", False))
    execute(run, client_options=FAST, **kw)
    db.session.refresh(run)
    return run


def synced_connection(sandbox, client_obj=None, owner=None, visible: bool = True, live: bool = True):
    """A connection to the sandbox with contacts and deals synced in full; returns (connection, runs).
    Live by default (the portal shows only live connections); `live=False` leaves it staged (testing)."""
    conn = factories.hubspot_connection(sandbox.url, sandbox.token, client_obj)
    conn.client_visible, conn.owner_user_id = visible, owner.id if owner else None
    conn.status = "live" if live else "testing"
    conn.went_live_at = utcnow() if live else None
    runs = {}
    for object_type in ("contacts", "deals"):
        job = ensure_job(conn, object_type)
        job.depends_on = None
        db.session.commit()
        runs[object_type] = sync(job)
    return conn, runs


def complete_run(connection, object_type: str) -> IntegrationSyncRun:
    """A follow-up incremental run: with nothing new and no retry due yet, it succeeds in full."""
    job = ensure_job(connection, object_type)
    run = sync(job)
    assert run.status == "succeeded", (run.status, run.error_message)
    return run
