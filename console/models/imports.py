"""Manual CSV imports: the uploaded file's facts, its header mapping, and saved mapping templates."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..choices import ImportStatus
from .accounts import User
from .base import JsonText, Model, TimestampMixin


class CsvImport(TimestampMixin, Model):
    __tablename__ = "csv_imports"
    # One import per file and object type: a concurrent second upload of the same file loses the insert.
    __table_args__ = (sa.UniqueConstraint("connection_id", "object_type", "file_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(sa.ForeignKey("integration_connections.id"))
    object_type: Mapped[str] = mapped_column(sa.String(40), default="contacts")
    file_name: Mapped[str] = mapped_column(sa.String(255))
    file_hash: Mapped[str] = mapped_column(sa.String(64))
    size_bytes: Mapped[int] = mapped_column(sa.Integer)
    encoding: Mapped[str] = mapped_column(sa.String(20))
    delimiter: Mapped[str] = mapped_column(sa.String(4))
    header: Mapped[list] = mapped_column(JsonText)
    row_count: Mapped[int] = mapped_column(sa.Integer, default=0)
    mapping: Mapped[dict | None] = mapped_column(JsonText)  # {"id_column": str, "fields": {target: column}}
    status: Mapped[str] = mapped_column(sa.String(16), default=ImportStatus.UPLOADED)
    run_id: Mapped[int | None] = mapped_column(sa.ForeignKey("integration_sync_runs.id"))
    duplicate_uploads: Mapped[int] = mapped_column(sa.Integer, default=0)
    error: Mapped[str | None] = mapped_column(sa.String(1000))
    uploaded_by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    # The whole-file check of the current mapping: {"mapping", "counts", "rows", "problems", "problem_count"}
    checked: Mapped[dict | None] = mapped_column(JsonText)

    uploaded_by: Mapped[User | None] = relationship()

    @property
    def blob_key(self) -> str:
        """Where the upload waits (console/blobs.py): in the traffic database's chunks."""
        return f"csv:{self.connection_id}:{self.object_type}:{self.file_hash}"

    @property
    def disk_name(self) -> str:
        """The upload's file name in a shared CONSOLE_UPLOAD_DIR (one file per connection and content)."""
        return f"{self.connection_id}-{self.file_hash}.csv"


class CsvImportTemplate(TimestampMixin, Model):
    """A saved header mapping, offered again when a file with the same columns arrives."""

    __tablename__ = "csv_import_templates"
    __table_args__ = (sa.UniqueConstraint("connection_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(sa.ForeignKey("integration_connections.id"))
    name: Mapped[str] = mapped_column(sa.String(120))
    object_type: Mapped[str] = mapped_column(sa.String(40))
    columns: Mapped[list] = mapped_column(JsonText)
    mapping: Mapped[dict] = mapped_column(JsonText)
    created_by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
