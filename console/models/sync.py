"""Sync jobs (schedule, cursor, lease), their runs, and per-record errors."""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..choices import ErrorStatus, RunStatus
from .base import CreatedMixin, DateTime, JsonText, Model, TimestampMixin


class IntegrationSyncJob(TimestampMixin, Model):
    __tablename__ = "integration_sync_jobs"
    __table_args__ = (
        sa.UniqueConstraint("connection_id", "object_type"),
        sa.Index("ix_integration_sync_jobs_due", "enabled", "next_run_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(sa.ForeignKey("integration_connections.id"))
    object_type: Mapped[str] = mapped_column(sa.String(40))
    schedule_seconds: Mapped[int] = mapped_column(sa.Integer, default=300)
    enabled: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    cursor: Mapped[dict | None] = mapped_column(JsonText)
    lease_owner: Mapped[str | None] = mapped_column(sa.String(120))
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime)
    next_run_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_run_id: Mapped[int | None] = mapped_column(sa.Integer)
    eligibility: Mapped[list | None] = mapped_column(JsonText)
    blackout: Mapped[dict | None] = mapped_column(JsonText)
    depends_on: Mapped[str | None] = mapped_column(sa.String(40))
    webhook_events: Mapped[str] = mapped_column(sa.Text, default="")
    reconcile_next_at: Mapped[datetime | None] = mapped_column(DateTime)  # the scheduled reconcile's claim
    # Which way the object type flows (choices.Direction): an outbound or two-way object pushes its
    # console-side changes to the provider.
    direction: Mapped[str] = mapped_column(sa.String(8), default="in", server_default="in")
    # What a record created from the console is matched on in the CRM, in order (comma-separated CRM
    # properties, e.g. "email,connector_console_id"); None: the object's usual key (sync/outbound/pusher.match_keys).
    match_on: Mapped[str | None] = mapped_column(sa.String(120))
    # Why the job is held (the provider's schema broke its mapping and the connection's drift policy is
    # "pause"); None: it runs. Claims skip a held job; it resumes once the mapping no longer depends on it.
    paused_reason: Mapped[str | None] = mapped_column(sa.String(500))


class IntegrationSyncRun(CreatedMixin, Model):
    __tablename__ = "integration_sync_runs"
    __table_args__ = (
        sa.Index("ix_integration_sync_runs_connection_created", "connection_id", "created_at"),
        sa.Index("ix_integration_sync_runs_status_created", "status", "created_at"),
        # the newest real (not dry) run of each connection, read index-only by the ops dashboard
        sa.Index("ix_integration_sync_runs_connection_dry_run_id", "connection_id", "dry_run", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int | None] = mapped_column(sa.ForeignKey("integration_sync_jobs.id"), index=True)
    connection_id: Mapped[int] = mapped_column(sa.ForeignKey("integration_connections.id"))
    object_type: Mapped[str] = mapped_column(sa.String(40))
    kind: Mapped[str] = mapped_column(sa.String(16))
    status: Mapped[str] = mapped_column(sa.String(16), default=RunStatus.QUEUED)
    dry_run: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    record_limit: Mapped[int | None] = mapped_column(sa.Integer)
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    seen: Mapped[int] = mapped_column(sa.Integer, default=0)
    created: Mapped[int] = mapped_column(sa.Integer, default=0)
    updated: Mapped[int] = mapped_column(sa.Integer, default=0)
    unchanged: Mapped[int] = mapped_column(sa.Integer, default=0)
    duplicate: Mapped[int] = mapped_column(sa.Integer, default=0)
    failed: Mapped[int] = mapped_column(sa.Integer, default=0)
    # Outbound runs: writes a condition or the system of record decided against.
    skipped: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    # Associations the run found added or removed at the provider (a relabel is one of each); they are
    # counted apart from the records, which they do not make changed.
    links_added: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    links_removed: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    api_calls: Mapped[int] = mapped_column(sa.Integer, default=0)
    rate_limited: Mapped[int] = mapped_column(sa.Integer, default=0)
    cursor_before: Mapped[dict | None] = mapped_column(JsonText)
    cursor_after: Mapped[dict | None] = mapped_column(JsonText)
    error_message: Mapped[str | None] = mapped_column(sa.String(1000))
    # The run stopped between pages so other clients' waiting jobs could start (a long first sync); the
    # job's next run continues from the cursor it committed.
    yielded: Mapped[bool] = mapped_column(sa.Boolean, default=False, server_default=sa.false())
    outcomes: Mapped[list | None] = mapped_column(JsonText)  # test batches: [[external id, bucket, reason]]
    worker: Mapped[str | None] = mapped_column(sa.String(120))
    triggered_by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime)  # the last beat (sync/runs/lifecycle.py)
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime)  # held by `worker` until then

    @property
    def buckets_balance(self) -> bool:
        """The accounting invariant: every record read (counted as it arrived) lands in exactly one bucket."""
        return self.seen == (
            self.created + self.updated + self.unchanged + self.duplicate + self.failed + self.skipped
        )


class IntegrationSyncError(TimestampMixin, Model):
    __tablename__ = "integration_sync_errors"
    __table_args__ = (
        sa.Index("ix_integration_sync_errors_connection_status", "connection_id", "status"),
        sa.Index("ix_integration_sync_errors_retry", "status", "next_retry_at"),
        sa.Index("ix_integration_sync_errors_group", "status", "connection_id", "object_type", "code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int | None] = mapped_column(sa.ForeignKey("integration_sync_runs.id"), index=True)
    connection_id: Mapped[int] = mapped_column(sa.ForeignKey("integration_connections.id"))
    object_type: Mapped[str] = mapped_column(sa.String(40))
    external_id: Mapped[str | None] = mapped_column(sa.String(255))
    stage: Mapped[str] = mapped_column(sa.String(16))
    code: Mapped[str] = mapped_column(sa.String(60))
    message: Mapped[str] = mapped_column(sa.String(1000))
    attempts: Mapped[int] = mapped_column(sa.Integer, default=1)
    next_retry_at: Mapped[datetime | None] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(sa.String(16), default=ErrorStatus.OPEN)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime)
    resolved_by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    resolution_reason: Mapped[str | None] = mapped_column(sa.String(500))
    field: Mapped[str | None] = mapped_column(sa.String(80))  # our field the failure is about
    value: Mapped[str | None] = mapped_column(sa.String(200))  # the offending value; masked for a sensitive field
    # Who works on it (a staff user), by when, and whether telling them failed (ops/assignments.py)
    assignee_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    due_on: Mapped[date | None] = mapped_column(sa.Date)
    assigned_at: Mapped[datetime | None] = mapped_column(DateTime)
    notice_error: Mapped[str | None] = mapped_column(sa.String(300))

    run: Mapped[IntegrationSyncRun | None] = relationship()


class IntegrationErrorNote(CreatedMixin, Model):
    """A note on a sync error: a person's (assignment, findings), or the console's (resolved by a run)."""

    __tablename__ = "integration_error_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    error_id: Mapped[int] = mapped_column(sa.ForeignKey("integration_sync_errors.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))  # None: written by the console
    body: Mapped[str] = mapped_column(sa.String(2000))


class IntegrationValueWaiver(CreatedMixin, Model):
    """A record's unusable source value, accepted by a person with a reason (an invalid email that the
    client will not fix, say). The record still fails and is still counted; a waiver lets a run whose only
    failures are waived count as complete, and a test batch pass."""

    __tablename__ = "integration_value_waivers"
    __table_args__ = (sa.UniqueConstraint("connection_id", "object_type", "external_id", "code",
                                          name="uq_value_waivers_record_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(sa.ForeignKey("integration_connections.id"))
    object_type: Mapped[str] = mapped_column(sa.String(40))
    external_id: Mapped[str] = mapped_column(sa.String(255))
    code: Mapped[str] = mapped_column(sa.String(60))
    reason: Mapped[str] = mapped_column(sa.String(500))
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))


class IntegrationReconciliation(CreatedMixin, Model):
    """One comparison of the provider's records with the stored ones (sync/proof/reconcile.py), and its repair."""

    __tablename__ = "integration_reconciliations"
    __table_args__ = (
        sa.Index("ix_integration_reconciliations_connection_type_id", "connection_id", "object_type", "id"),
        sa.Index("ix_integration_reconciliations_status", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(sa.ForeignKey("integration_connections.id"))
    object_type: Mapped[str] = mapped_column(sa.String(40))
    trigger: Mapped[str] = mapped_column(sa.String(16))  # manual | scheduled | cli
    repair: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    status: Mapped[str] = mapped_column(sa.String(16), default=RunStatus.QUEUED)
    requested_by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    worker: Mapped[str | None] = mapped_column(sa.String(120))
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime)  # held by `worker` until then
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    in_flight_since: Mapped[datetime | None] = mapped_column(DateTime)  # changes after this await the next run
    provider_active: Mapped[int] = mapped_column(sa.Integer, default=0)
    provider_archived: Mapped[int] = mapped_column(sa.Integer, default=0)
    stored_active: Mapped[int] = mapped_column(sa.Integer, default=0)
    stored_archived: Mapped[int] = mapped_column(sa.Integer, default=0)
    missing: Mapped[int] = mapped_column(sa.Integer, default=0)
    extra: Mapped[int] = mapped_column(sa.Integer, default=0)
    stale: Mapped[int] = mapped_column(sa.Integer, default=0)
    wrongly_archived: Mapped[int] = mapped_column(sa.Integer, default=0)
    link_drift: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")  # associations differ
    failing: Mapped[int] = mapped_column(sa.Integer, default=0)
    ignored: Mapped[int] = mapped_column(sa.Integer, default=0)
    in_flight: Mapped[int] = mapped_column(sa.Integer, default=0)
    value_drift: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")  # same version, other values
    pending_push: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")  # created here, not pushed yet
    repaired: Mapped[int | None] = mapped_column(sa.Integer)
    repair_run_id: Mapped[int | None] = mapped_column(sa.ForeignKey("integration_sync_runs.id"))
    # kind -> up to 10 external ids; "fields" -> {external id: the fields that differ} for value_drift examples
    examples: Mapped[dict | None] = mapped_column(JsonText)
    error_message: Mapped[str | None] = mapped_column(sa.String(1000))

    KINDS = ("missing", "extra", "stale", "value_drift", "wrongly_archived", "link_drift")

    @property
    def differences(self) -> int:
        return sum(getattr(self, k) or 0 for k in self.KINDS)


class ConnectionHour(Model):
    """One connection's runs summed per UTC hour (of the run's creation), added as each run finishes
    (sync/runs/hourly.py), and the freshness measured in that hour once it has settled: the ops dashboard
    and the alert pass read a day of these per connection instead of every run."""

    __tablename__ = "connection_hours"
    __table_args__ = (sa.UniqueConstraint("connection_id", "hour"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(sa.ForeignKey("integration_connections.id"))
    hour: Mapped[datetime] = mapped_column(DateTime)  # the hour's start, UTC
    runs_succeeded: Mapped[int] = mapped_column(sa.Integer, default=0)
    runs_partial: Mapped[int] = mapped_column(sa.Integer, default=0)
    runs_failed: Mapped[int] = mapped_column(sa.Integer, default=0)
    runs_cancelled: Mapped[int] = mapped_column(sa.Integer, default=0)
    seen: Mapped[int] = mapped_column(sa.Integer, default=0)
    written: Mapped[int] = mapped_column(sa.Integer, default=0)  # created + updated
    failed: Mapped[int] = mapped_column(sa.Integer, default=0)
    api_calls: Mapped[int] = mapped_column(sa.Integer, default=0)
    rate_limited: Mapped[int] = mapped_column(sa.Integer, default=0)
    unbalanced: Mapped[int] = mapped_column(sa.Integer, default=0)  # runs whose records do not add up
    stopped: Mapped[int] = mapped_column(sa.Integer, default=0)  # runs failed because their process died
    # Freshness of the changes written in this hour, at the connection's target of the time (NULL until
    # the hour has settled and been summed from the traffic database; monitoring/freshness.py).
    fresh_target_seconds: Mapped[int | None] = mapped_column(sa.Integer)
    fresh_measured: Mapped[int | None] = mapped_column(sa.Integer)
    fresh_within: Mapped[int | None] = mapped_column(sa.Integer)
    fresh_worst_ms: Mapped[int | None] = mapped_column(sa.Integer)
