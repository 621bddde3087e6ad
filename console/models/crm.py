"""Clean business records: leads (contacts, companies, deals) and their change events."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from .base import CreatedMixin, DateTime, JsonText, Model, Money, TimestampMixin


class CrmLead(TimestampMixin, Model):
    """One provider record, mapped. Never merged across sources: `source_label` is required."""

    __tablename__ = "crm_leads"
    __table_args__ = (
        sa.UniqueConstraint("connection_id", "object_type", "external_id"),
        sa.Index("ix_crm_leads_client_type", "client_id", "object_type"),
        sa.Index("ix_crm_leads_connection_updated", "connection_id", "provider_updated_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(sa.ForeignKey("clients.id"))
    connection_id: Mapped[int] = mapped_column(sa.ForeignKey("integration_connections.id"))
    object_type: Mapped[str] = mapped_column(sa.String(40))
    external_id: Mapped[str] = mapped_column(sa.String(255))
    source_label: Mapped[str] = mapped_column(sa.String(80))
    email: Mapped[str | None] = mapped_column(sa.String(254), index=True)
    first_name: Mapped[str | None] = mapped_column(sa.String(120))
    last_name: Mapped[str | None] = mapped_column(sa.String(120))
    phone: Mapped[str | None] = mapped_column(sa.String(32))
    company_name: Mapped[str | None] = mapped_column(sa.String(200))
    domain: Mapped[str | None] = mapped_column(sa.String(253))  # companies: the CRM matches them on it
    lifecycle_stage: Mapped[str | None] = mapped_column(sa.String(60))
    lead_status: Mapped[str | None] = mapped_column(sa.String(60))
    owner_external_id: Mapped[str | None] = mapped_column(sa.String(64))
    owner_name: Mapped[str | None] = mapped_column(sa.String(200))
    deal_name: Mapped[str | None] = mapped_column(sa.String(200))
    pipeline: Mapped[str | None] = mapped_column(sa.String(120))
    deal_stage: Mapped[str | None] = mapped_column(sa.String(120))
    deal_state: Mapped[str | None] = mapped_column(sa.String(8))  # open | won | lost, from the stage
    amount: Mapped[Decimal | None] = mapped_column(Money)
    currency: Mapped[str | None] = mapped_column(sa.String(3))
    amount_base: Mapped[Decimal | None] = mapped_column(Money)
    source_attribution: Mapped[str | None] = mapped_column(sa.String(120))
    next_activity_at: Mapped[datetime | None] = mapped_column(DateTime)
    follow_up_state: Mapped[str | None] = mapped_column(sa.String(20))
    attributes: Mapped[dict | None] = mapped_column(JsonText)
    archived: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    archived_at: Mapped[datetime | None] = mapped_column(DateTime)
    provider_created_at: Mapped[datetime | None] = mapped_column(DateTime)
    provider_updated_at: Mapped[datetime | None] = mapped_column(DateTime)
    content_hash: Mapped[str | None] = mapped_column(sa.String(64))


class CrmLeadEvent(CreatedMixin, Model):
    """A real change to a lead (stage, owner, status, archive…), never a no-op rewrite."""

    __tablename__ = "crm_lead_events"
    __table_args__ = (
        sa.Index("ix_crm_lead_events_lead_occurred", "lead_id", "occurred_at"),
        sa.Index("ix_crm_lead_events_connection_created", "connection_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(sa.ForeignKey("crm_leads.id"))
    connection_id: Mapped[int] = mapped_column(sa.ForeignKey("integration_connections.id"))
    run_id: Mapped[int | None] = mapped_column(sa.Integer)
    kind: Mapped[str] = mapped_column(sa.String(30))
    field: Mapped[str | None] = mapped_column(sa.String(80))
    old_value: Mapped[str | None] = mapped_column(sa.String(500))
    new_value: Mapped[str | None] = mapped_column(sa.String(500))
    occurred_at: Mapped[datetime | None] = mapped_column(DateTime)


class CrmAssociation(TimestampMixin, Model):
    """An association the provider holds between two of a connection's records, as last read: one row per
    association type (the default one, and each label), keyed by the records' provider ids, so a link to a
    record not synced yet is kept and joins once that record arrives. Each pair is kept in one direction,
    the one the connector reads (contacts → companies, deals → contacts, deals → companies for HubSpot)."""

    __tablename__ = "crm_associations"
    __table_args__ = (
        sa.UniqueConstraint("connection_id", "from_type", "from_id", "to_type", "to_id", "category", "type_id",
                            name="uq_crm_associations_link"),
        sa.Index("ix_crm_associations_to", "connection_id", "to_type", "to_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(sa.ForeignKey("integration_connections.id"))
    from_type: Mapped[str] = mapped_column(sa.String(40))
    from_id: Mapped[str] = mapped_column(sa.String(64))
    to_type: Mapped[str] = mapped_column(sa.String(40))
    to_id: Mapped[str] = mapped_column(sa.String(64))
    category: Mapped[str] = mapped_column(sa.String(24))  # HUBSPOT_DEFINED | USER_DEFINED | INTEGRATOR_DEFINED
    type_id: Mapped[int] = mapped_column(sa.Integer)
    label: Mapped[str | None] = mapped_column(sa.String(120))  # None: the default association
