"""The audit log: one row per mutation, with redacted details."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from .base import CreatedMixin, JsonText, Model


class EventAdminAction(CreatedMixin, Model):
    __tablename__ = "event_admin_actions"
    __table_args__ = (
        sa.Index("ix_event_admin_actions_created", "created_at"),
        sa.Index("ix_event_admin_actions_action_created", "action", "created_at"),
        sa.Index("ix_event_admin_actions_target", "target_type", "target_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    actor_email: Mapped[str | None] = mapped_column(sa.String(254))
    action: Mapped[str] = mapped_column(sa.String(60))
    target_type: Mapped[str | None] = mapped_column(sa.String(60))
    target_id: Mapped[str | None] = mapped_column(sa.String(64))
    details: Mapped[dict | None] = mapped_column(JsonText)
    address: Mapped[str | None] = mapped_column(sa.String(64))
