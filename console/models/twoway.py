"""Two-way sync: console-side changes waiting for their outbound write, the ledger of what we wrote,
and the conflicts between the two sides."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..choices import ChangeStatus
from .base import CreatedMixin, DateTime, Model, TimestampMixin


class OutboxMixin:
    """What waits for the outbound push: its status (choices.ChangeStatus), attempts, the run that last
    handled it and why it ended as it did."""

    status: Mapped[str] = mapped_column(sa.String(16), default=ChangeStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    run_id: Mapped[int | None] = mapped_column(sa.Integer)
    note: Mapped[str] = mapped_column(sa.String(500), default="")
    done_at: Mapped[datetime | None] = mapped_column(DateTime)


class CrmLeadChange(OutboxMixin, TimestampMixin, Model):
    """One field of one lead changed on the console side (a correction, a CSV import): the outbox.
    `base_value` is the value the console held before, i.e. what it believed the CRM held: a CRM value
    that differs from both it and `value` at write time means the field changed on both sides."""

    __tablename__ = "crm_lead_changes"
    __table_args__ = (sa.Index("ix_crm_lead_changes_due", "connection_id", "object_type", "status", "id"),
                      sa.Index("ix_crm_lead_changes_lead", "lead_id", "field"))

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(sa.ForeignKey("integration_connections.id"))
    object_type: Mapped[str] = mapped_column(sa.String(40))
    # The lead changed; None for a record the console does not hold (it failed mapping: an email the CRM
    # holds invalid, corrected from its sync error), which `external_id` names.
    lead_id: Mapped[int | None] = mapped_column(sa.ForeignKey("crm_leads.id"))
    external_id: Mapped[str | None] = mapped_column(sa.String(255))
    field: Mapped[str] = mapped_column(sa.String(80))
    value: Mapped[str | None] = mapped_column(sa.String(500))
    base_value: Mapped[str | None] = mapped_column(sa.String(500))
    origin: Mapped[str] = mapped_column(sa.String(20))  # lead_page | csv_import | conflict | sync_error
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))


class CrmWriteLedger(Model):
    """Per record and provider property: a hash of the value we last wrote and the record's provider
    modification time after that write. An inbound copy carrying exactly these values is our own echo."""

    __tablename__ = "crm_write_ledger"
    __table_args__ = (sa.UniqueConstraint("connection_id", "object_type", "external_id", "property"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(sa.ForeignKey("integration_connections.id"))
    object_type: Mapped[str] = mapped_column(sa.String(40))
    external_id: Mapped[str] = mapped_column(sa.String(255))
    property: Mapped[str] = mapped_column(sa.String(200))
    value_hash: Mapped[str] = mapped_column(sa.String(64))
    written_at: Mapped[datetime] = mapped_column(DateTime)
    provider_updated_at: Mapped[datetime | None] = mapped_column(DateTime)
    run_id: Mapped[int | None] = mapped_column(sa.Integer)


class CrmSyncConflict(CreatedMixin, Model):
    """A field changed on both sides since the last sync: both values, both times, and who won."""

    __tablename__ = "crm_sync_conflicts"
    __table_args__ = (sa.Index("ix_crm_sync_conflicts_connection", "connection_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(sa.ForeignKey("integration_connections.id"))
    object_type: Mapped[str] = mapped_column(sa.String(40))
    lead_id: Mapped[int] = mapped_column(sa.ForeignKey("crm_leads.id"))
    field: Mapped[str] = mapped_column(sa.String(80))
    console_value: Mapped[str | None] = mapped_column(sa.String(500))
    provider_value: Mapped[str | None] = mapped_column(sa.String(500))
    console_at: Mapped[datetime | None] = mapped_column(DateTime)
    provider_at: Mapped[datetime | None] = mapped_column(DateTime)
    winner: Mapped[str] = mapped_column(sa.String(10))  # console | provider
    run_id: Mapped[int | None] = mapped_column(sa.Integer)
    # Set when a person applied the losing value instead.
    overridden_at: Mapped[datetime | None] = mapped_column(DateTime)
    overridden_by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))


class CrmLeadLink(OutboxMixin, TimestampMixin, Model):
    """An association made on the console side (a contact to its company, a deal to its contact), with an
    optional label, waiting for (or done with) its write to the CRM. "" is the default association."""

    __tablename__ = "crm_lead_links"
    __table_args__ = (sa.UniqueConstraint("from_lead_id", "to_lead_id", "label"),
                      sa.Index("ix_crm_lead_links_due", "connection_id", "object_type", "status", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(sa.ForeignKey("integration_connections.id"))
    object_type: Mapped[str] = mapped_column(sa.String(40))  # the "from" lead's type: it is pushed with it
    from_lead_id: Mapped[int] = mapped_column(sa.ForeignKey("crm_leads.id"))
    to_lead_id: Mapped[int] = mapped_column(sa.ForeignKey("crm_leads.id"))
    label: Mapped[str] = mapped_column(sa.String(120), default="")
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
