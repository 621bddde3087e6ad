"""Field and enum mappings from provider properties to internal records."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from .base import CreatedMixin, DateTime, JsonText, Model, TimestampMixin


class IntegrationFieldMapping(TimestampMixin, Model):
    __tablename__ = "integration_field_mappings"
    __table_args__ = (sa.UniqueConstraint("connection_id", "object_type", "target_field"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(sa.ForeignKey("integration_connections.id"))
    object_type: Mapped[str] = mapped_column(sa.String(40))
    source_field: Mapped[str] = mapped_column(sa.String(200))
    target_field: Mapped[str] = mapped_column(sa.String(80))
    transform: Mapped[str] = mapped_column(sa.String(40), default="none")
    transform_args: Mapped[dict | None] = mapped_column(JsonText)
    sensitive: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    required: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    position: Mapped[int] = mapped_column(sa.Integer, default=0)
    # Two-way sync (choices.Direction / SystemOfRecord / WriteCondition).
    direction: Mapped[str] = mapped_column(sa.String(8), default="in", server_default="in")
    system_of_record: Mapped[str] = mapped_column(sa.String(10), default="provider", server_default="provider")
    condition: Mapped[str] = mapped_column(sa.String(16), default="", server_default="")


class IntegrationEnumMapping(TimestampMixin, Model):
    __tablename__ = "integration_enum_mappings"
    __table_args__ = (
        sa.UniqueConstraint("connection_id", "object_type", "source_field", "source_value"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(sa.ForeignKey("integration_connections.id"))
    object_type: Mapped[str] = mapped_column(sa.String(40))
    source_field: Mapped[str] = mapped_column(sa.String(200))
    source_value: Mapped[str] = mapped_column(sa.String(200))
    source_label: Mapped[str | None] = mapped_column(sa.String(200))
    target_value: Mapped[str | None] = mapped_column(sa.String(200))
    ignored: Mapped[bool] = mapped_column(sa.Boolean, default=False)


class IntegrationSchemaSnapshot(Model):
    """The provider's schema of one object type as the connection last saw it: each property's label, type,
    field type, options and whether it is read-only. What the next run or daily check compares against."""

    __tablename__ = "integration_schema_snapshots"
    __table_args__ = (sa.UniqueConstraint("connection_id", "object_type"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(sa.ForeignKey("integration_connections.id"))
    object_type: Mapped[str] = mapped_column(sa.String(40))
    properties: Mapped[dict] = mapped_column(JsonText)  # name -> {label, type, fieldType, options, readOnly}
    taken_at: Mapped[datetime] = mapped_column(DateTime)
    checked_at: Mapped[datetime] = mapped_column(DateTime)  # the last comparison (a run or the daily check)


class IntegrationSchemaDrift(CreatedMixin, Model):
    """One change in the provider's schema, found by a run or the daily check. Breaking when it breaks the
    mapping (a mapped property gone or retyped, a mapped option removed, a written field made read-only);
    open until the mapping no longer depends on it."""

    __tablename__ = "integration_schema_drift"
    __table_args__ = (sa.Index("ix_integration_schema_drift_open", "connection_id", "resolved_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(sa.ForeignKey("integration_connections.id"))
    object_type: Mapped[str] = mapped_column(sa.String(40))
    property: Mapped[str] = mapped_column(sa.String(200))
    # added | removed | retyped | option_added | option_removed | read_only | relabelled
    kind: Mapped[str] = mapped_column(sa.String(20))
    detail: Mapped[str] = mapped_column(sa.String(500))
    option_value: Mapped[str | None] = mapped_column(sa.String(200))  # the option added or removed
    breaking: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    found_by: Mapped[str] = mapped_column(sa.String(40))  # "run #12" | "daily check"
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime)


class IntegrationObjectType(TimestampMixin, Model):
    """A custom object type of the connection's portal, as its schema read when a person chose to sync it:
    the object registry's portal-specific part (mapping/objects.py). Type ids such as "2-7351" mean
    different objects in different portals, so each connection keeps its own: name, labels, the property
    that names a record, its properties (name, label, type) and the standard objects it associates with."""

    __tablename__ = "integration_object_types"
    __table_args__ = (sa.UniqueConstraint("connection_id", "object_type"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(sa.ForeignKey("integration_connections.id"))
    object_type: Mapped[str] = mapped_column(sa.String(40))  # the provider's type id ("2-7351")
    name: Mapped[str] = mapped_column(sa.String(100))
    singular: Mapped[str] = mapped_column(sa.String(120))
    plural: Mapped[str] = mapped_column(sa.String(120))
    primary_property: Mapped[str | None] = mapped_column(sa.String(100))
    properties: Mapped[list] = mapped_column(JsonText)  # [{name, label, type}]
    associations: Mapped[list] = mapped_column(JsonText)  # the standard object types it associates with
