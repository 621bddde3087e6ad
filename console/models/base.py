"""Column types and helpers shared by every model module."""
from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar, cast

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import mysql, sqlite
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db

if TYPE_CHECKING:  # Flask-SQLAlchemy builds db.Model at run time; a type checker sees a declarative base
    from sqlalchemy.orm import DeclarativeBase

    class Model(DeclarativeBase):
        __bind_key__: str | None
else:
    Model = db.Model


class SqliteDateTime(sqlite.DATETIME):
    """SQLite's DATETIME bound by datetime.isoformat: the very text SQLAlchemy's own processor writes
    ('YYYY-MM-DD HH:MM:SS.ffffff'), in a fraction of the time; a sync page binds eleven per record."""

    def bind_processor(self, dialect: Any) -> Any:
        general = super().bind_processor(dialect)

        def process(value: Any) -> Any:
            if type(value) is datetime and value.tzinfo is None:
                return value.isoformat(" ", "microseconds")
            return general(value)  # type: ignore[misc]
        return process


# MySQL DATETIME drops sub-second precision unless asked; leases and event ordering need it.
DateTime = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql").with_variant(SqliteDateTime(), "sqlite")
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
        return None if value is None else dumps(value)

    def process_result_value(self, value: str | None, dialect: Any) -> Any:
        return None if value is None else json.loads(value)


# orjson writes what json.dumps(separators=(",", ":"), default=str) writes (UTF-8 rather than \u escapes,
# the same value), several times faster: payloads are the larger part of every page's writes. Values it
# does not take (an integer beyond 64 bits, a key that is not a string) go through json as before.
_ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def dumps(value: Any) -> str:
    try:
        return orjson.dumps(value, default=str, option=_ORJSON_OPTIONS).decode()
    except TypeError:  # orjson.JSONEncodeError
        return json.dumps(value, separators=(",", ":"), default=str)


def utcnow() -> datetime:
    """Naive UTC now: every timestamp column stores UTC without a zone (MySQL DATETIME has none)."""
    return datetime.now(UTC).replace(tzinfo=None)


class CreatedMixin:
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)


class TimestampMixin(CreatedMixin):
    updated_at: Mapped[datetime] = mapped_column(
        DateTime, default=utcnow, onupdate=utcnow, nullable=False
    )


T = TypeVar("T")


def table(model: Any) -> sa.Table:
    """A model's table for Core statements (executemany inserts, updates on a connection of their own)."""
    return cast(sa.Table, model.__table__)


def changed_rows(result: Any) -> int:
    """How many rows an UPDATE or DELETE changed (a CursorResult's rowcount; typed loosely by SQLAlchemy)."""
    return int(result.rowcount)


def require(model: type[T], ident: Any) -> T:
    """A row the caller knows exists (its id came from a committed row); a missing one is a bug, said plainly."""
    row = db.session.get(model, ident)
    if row is None:
        raise LookupError(f"{model.__name__} {ident} does not exist")
    return row

