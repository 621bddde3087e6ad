"""The integration intake: what the client knows, captured once per connection (answers to the intake's
questions, and the real things attached: sample files, API documents)."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .accounts import User
from .base import DateTime, JsonText, Model, TimestampMixin


class IntakeAnswer(TimestampMixin, Model):
    """One answer; who gave it last and when. An answer cleared to nothing is kept (empty), with who cleared it."""
    __tablename__ = "intake_answers"
    __table_args__ = (sa.UniqueConstraint("connection_id", "question"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(sa.ForeignKey("integration_connections.id"))
    question: Mapped[str] = mapped_column(sa.String(60))
    text: Mapped[str] = mapped_column(sa.Text, default="")
    answered_by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    answered_at: Mapped[datetime] = mapped_column(DateTime)

    answered_by: Mapped[User | None] = relationship()


class IntakeAttachment(TimestampMixin, Model):
    """A sample CSV, JSON sample payloads or an API document. The file is stored as CSV uploads are (any
    node can read it); what was found in it (fields, types, picklist values) is kept here. Neither the
    file nor its values are ever shown to a client."""
    __tablename__ = "intake_attachments"
    __table_args__ = (sa.UniqueConstraint("connection_id", "file_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(sa.ForeignKey("integration_connections.id"))
    kind: Mapped[str] = mapped_column(sa.String(16))  # csv | json | openapi
    file_name: Mapped[str] = mapped_column(sa.String(255))
    file_hash: Mapped[str] = mapped_column(sa.String(64))
    size_bytes: Mapped[int] = mapped_column(sa.Integer)
    # [{"name", "type", "values": [...], "source": "contacts" | schema name | ""}], at most a few hundred
    fields: Mapped[list] = mapped_column(JsonText)
    uploaded_by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    uploaded_by: Mapped[User | None] = relationship()


class DesignVersion(TimestampMixin, Model):
    """A saved version of a connection's integration design: the document as it read (for staff, and in
    client-safe words), the live configuration it describes, and the client's sign-off when recorded."""
    __tablename__ = "design_versions"
    __table_args__ = (sa.UniqueConstraint("connection_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(sa.ForeignKey("integration_connections.id"))
    number: Mapped[int] = mapped_column(sa.Integer)
    content: Mapped[dict] = mapped_column(JsonText)
    client_content: Mapped[dict] = mapped_column(JsonText)
    # The configuration the design describes, by part ("contacts mapping", "monitoring"...), and its hash.
    configuration: Mapped[dict] = mapped_column(JsonText)
    fingerprint: Mapped[str] = mapped_column(sa.String(64))
    saved_by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    signed_off_at: Mapped[datetime | None] = mapped_column(DateTime)
    signed_off_by: Mapped[str | None] = mapped_column(sa.String(200))  # the client's person, as the owner recorded
    signed_off_how: Mapped[str | None] = mapped_column(sa.String(500))
    sign_off_recorded_by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    saved_by: Mapped[User | None] = relationship(foreign_keys=[saved_by_user_id])
    sign_off_recorded_by: Mapped[User | None] = relationship(foreign_keys=[sign_off_recorded_by_user_id])
