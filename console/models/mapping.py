"""Field and enum mappings from provider properties to internal records."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from .base import JsonText, Model, TimestampMixin


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
