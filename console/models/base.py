"""Column types and helpers shared by every model module."""
from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import Mapped, mapped_column

# MySQL DATETIME drops sub-second precision unless asked; leases and event ordering need it.
DateTime = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql")
# 64-bit ids for high-volume traffic tables; SQLite only autoincrements INTEGER primary keys.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
# Money and metric values: exact decimals.
Money = sa.Numeric(18, 2)


class JsonText(sa.types.TypeDecorator):
    """A JSON document stored as text.

    MariaDB's JSON is LONGTEXT with a CHECK, which reflects differently from MySQL's JSON;
    plain text keeps the schema (and Alembic's comparison) identical on every engine.
    """

    impl = sa.Text().with_variant(mysql.LONGTEXT(), "mysql")
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        return None if value is None else json.dumps(value, separators=(",", ":"), default=str)

    def process_result_value(self, value: str | None, dialect: Any) -> Any:
        return None if value is None else json.loads(value)


def utcnow() -> datetime:
    """Naive UTC now: every timestamp column stores UTC without a zone (MySQL DATETIME has none)."""
    return datetime.now(UTC).replace(tzinfo=None)


class CreatedMixin:
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)


class TimestampMixin(CreatedMixin):
    updated_at: Mapped[datetime] = mapped_column(
        DateTime, default=utcnow, onupdate=utcnow, nullable=False
    )
