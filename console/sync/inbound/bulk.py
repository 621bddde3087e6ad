"""Executemany INSERTs and UPDATEs handed to the driver as plain parameters, for the page writer's hot path.

SQLAlchemy's own executemany handles every row as a dict of bind parameters, converted one by one:
about a tenth of a backfill's time. Here each statement is compiled once per table, column set and
dialect; a row becomes a tuple in the compiled order (a dict for a named paramstyle) and goes through the very bind processors
SQLAlchemy would apply, and columns left out get the column's Python default as SQLAlchemy would
give it. What is stored is identical (tests/integration/test_bulk.py writes the same rows both ways
and compares the stored bytes, on SQLite and MariaDB).
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime
from functools import lru_cache
from operator import itemgetter
from typing import Any

import sqlalchemy as sa

Row = dict[str, Any]
ID_KEY = "_id"  # an UPDATE's rows name the row they change under this key


class Statement:
    """One compiled statement and how to turn a row dict into its positional parameters."""

    def __init__(self, stmt: sa.Insert | sa.Update, columns: tuple[str, ...], dialect: sa.Dialect) -> None:
        compiled = stmt.compile(dialect=dialect, column_keys=list(columns))
        # Positional (qmark for sqlite3, format) or named (pymysql's pyformat: rows become dicts).
        self._named = compiled.positiontup is None
        order = list(compiled.binds) if self._named else list(compiled.positiontup or ())
        self._order = order
        self.sql = compiled.string
        given = set(columns) | {ID_KEY}
        defaults = {c.key: _default(c.onupdate if isinstance(stmt, sa.Update) else c.default, c)
                    for c in (*compiled.insert_prefetch, *compiled.update_prefetch)}
        missing = [name for name in order if name not in given and name not in defaults]
        if missing:
            raise ValueError(f"no value for {missing} in {self.sql}")
        self._fill = [(i, defaults[name]) for i, name in enumerate(order) if name not in given]
        self._process = [(i, p) for i, name in enumerate(order) if (p := processor(compiled.binds[name].type, dialect))]
        names = [name for name in order if name in given]
        self._get: Callable[[Row], tuple] = itemgetter(*names) if len(names) > 1 else _one(names[0])
        self._positions = [i for i, name in enumerate(order) if name in given]
        self._width = len(order)

    def parameters(self, rows: Iterable[Row]) -> list[tuple] | list[dict]:
        values = self._values(rows)
        if self._named:
            return [dict(zip(self._order, row, strict=True)) for row in values]
        return values

    def _values(self, rows: Iterable[Row]) -> list[tuple]:
        if not self._fill and not self._process:
            return [self._get(row) for row in rows]
        out = []
        for row in rows:
            values: list[Any] = [None] * self._width
            for i, value in zip(self._positions, self._get(row), strict=True):
                values[i] = value
            for i, make in self._fill:
                values[i] = make()
            for i, process in self._process:
                values[i] = process(values[i])
            out.append(tuple(values))
        return out


class TupleInsert:
    """An INSERT of every column but the primary key, in the order the write plan builds its tuples (no
    reordering per row); the plan has already run each value through `processor`."""

    def __init__(self, table: sa.Table, columns: tuple[str, ...], dialect: sa.Dialect) -> None:
        every = {c.key for c in table.columns if not c.primary_key}
        if set(columns) != every or len(columns) != len(every):
            raise ValueError(f"{table.name}: the plan writes {sorted(columns)}, not every column {sorted(every)}")
        quote = dialect.identifier_preparer
        self._named = dialect.paramstyle in ("named", "pyformat")
        marks = {"qmark": "?", "format": "%s"}
        if not self._named and dialect.paramstyle not in marks:
            raise ValueError(f"{dialect.name}: paramstyle {dialect.paramstyle} is not supported")
        values = ", ".join(f":{c}" if dialect.paramstyle == "named" else f"%({c})s" if self._named
                           else marks[dialect.paramstyle] for c in columns)
        self.sql = (f"INSERT INTO {quote.format_table(table)} ({', '.join(quote.quote(c) for c in columns)}) "
                    f"VALUES ({values})")
        self._columns = columns

    def execute(self, conn: sa.Connection, rows: list[tuple]) -> None:
        if not rows:
            return
        params: list[Any] = rows
        if self._named:
            params = [dict(zip(self._columns, row, strict=True)) for row in rows]
        conn.exec_driver_sql(self.sql, params)


def insert_many(conn: sa.Connection, table: sa.Table, rows: list[Row]) -> None:
    """INSERT the rows; rows that leave different columns out go in separate statements."""
    for columns, group in _by_columns(rows):
        statement = _statement(table, "insert", columns, conn.dialect)
        conn.exec_driver_sql(statement.sql, statement.parameters(group))


def update_many(conn: sa.Connection, table: sa.Table, rows: list[Row]) -> None:
    """UPDATE each row's columns where the primary key `id` equals its `_id`."""
    for columns, group in _by_columns(rows):
        statement = _statement(table, "update", tuple(c for c in columns if c != ID_KEY), conn.dialect)
        conn.exec_driver_sql(statement.sql, statement.parameters(group))


def processor(type_: Any, dialect: sa.Dialect) -> Callable[[Any], Any] | None:
    """How SQLAlchemy would bind a value of this type for this dialect's driver (None: as it is)."""
    impl = type_.dialect_impl(dialect)
    process = impl.bind_processor(dialect)
    if process is None and dialect.name == "mysql" and isinstance(impl, sa.DateTime):
        return _mysql_datetime
    return process


def _mysql_datetime(value: Any) -> Any:
    """A naive datetime as ISO text: pymysql formats each datetime with str.format (8 % of a MariaDB
    backfill), and MariaDB reads the text as the very same DATETIME(6) value."""
    if type(value) is datetime and value.tzinfo is None:
        return value.isoformat(" ", "microseconds")
    return value


def _one(name: str) -> Callable[[Row], tuple]:
    """itemgetter of one name returns the value, not a 1-tuple."""
    return lambda row: (row[name],)


def _by_columns(rows: list[Row]) -> Iterable[tuple[tuple[str, ...], list[Row]]]:
    groups: dict[tuple[str, ...], list[Row]] = defaultdict(list)
    for row in rows:
        groups[tuple(row)].append(row)
    return groups.items()


@lru_cache(maxsize=256)
def _statement(table: sa.Table, kind: str, columns: tuple[str, ...], dialect: sa.Dialect) -> Statement:
    if kind == "insert":
        return Statement(sa.insert(table), columns, dialect)
    stmt = sa.update(table).where(table.c.id == sa.bindparam(ID_KEY))
    return Statement(stmt, columns, dialect)


def _default(default: Any, column: sa.Column) -> Callable[[], Any]:
    """The Python-side default (or on-update value) SQLAlchemy would compute for a column left out."""
    if default is None or not (default.is_scalar or default.is_callable):
        raise ValueError(f"{column}: no Python default to fill in")
    if default.is_scalar:
        value = default.arg
        return lambda: value
    make = default.arg  # SQLAlchemy wraps a no-argument callable to take a context
    return lambda: make(None)
