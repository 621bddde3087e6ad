"""One way to claim background work: a lease on a row, taken by a conditional UPDATE.

Every kind of background work is a row with an owner column and a lease-until column: a sync job, a
queued run (test batch, first complete sync, CSV import), a reconciliation, a webhook event, an alert's
notification. `Lease.claim` takes a batch of candidate rows in one statement,

    UPDATE t SET owner = :me, until = :deadline WHERE id IN (...) AND <still free> AND <still wanted>

and reads back the rows it won (owner and deadline both its own). The database serialises the writes,
on SQLite and on MariaDB alike, so each row goes to exactly one process. The holder renews the lease
while it works (`renewing`, on a thread with its own connection, so a run waiting out a 429 storm keeps
it) and releases it at the end. A holder that dies stops renewing; when the lease runs out the row is
free again: claimed again (jobs, webhook events, notifications) or failed by the sweep (runs and
reconciliations, sync/runs/lifecycle.py), which says what the run had committed."""
from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa

from ...extensions import db
from ...models.base import changed_rows, table, utcnow
from .repeating import repeating

log = logging.getLogger(__name__)


def worker_id() -> str:
    """This process's name as a lease owner: host, pid and a random part (pids are reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass(frozen=True)
class Lease:
    model: Any     # the mapped class; its rows have an integer `id`
    owner: Any     # column attribute: who holds the row
    until: Any     # column attribute: when the lease runs out (NULL: never held, or released)
    seconds: float

    def free(self, now: datetime) -> sa.ColumnElement[bool]:
        return sa.or_(self.until.is_(None), self.until <= now)

    def deadline(self, now: datetime) -> datetime:
        return now + timedelta(seconds=self.seconds)

    def claim(self, ids: Iterable[int], owner: str, *, where: Iterable[Any] = (), now: datetime | None = None,
              **values: Any) -> list[int]:
        """Take every row of `ids` that is still free (and still matches `where`) in one UPDATE, setting
        `values` with the lease; commit; return the ids won, in the order given."""
        ids = list(ids)
        if not ids:
            return []
        now = now or utcnow()
        until = self.deadline(now)
        if self.bind().dialect.name in ("mysql", "mariadb"):
            # Rows another process is claiming this instant are skipped, not waited for (MariaDB 10.6+): the
            # locks taken here hold until the commit below, so the UPDATE decides only among rows no one else holds.
            ids = list(db.session.scalars(sa.select(self.model.id).where(self.model.id.in_(ids), self.free(now), *where)
                                          .with_for_update(skip_locked=True)))
            if not ids:
                db.session.commit()
                return []
        db.session.execute(sa.update(self.model).where(self.model.id.in_(ids), self.free(now), *where)
                           .values({self.owner.key: owner, self.until.key: until, **values})
                           .execution_options(synchronize_session=False))
        db.session.commit()  # a new transaction (MariaDB's REPEATABLE READ) sees what the UPDATE won
        won = set(db.session.scalars(sa.select(self.model.id).where(
            self.model.id.in_(ids), self.owner == owner, self.until == until)))
        db.session.commit()
        return [i for i in ids if i in won]

    def bind(self) -> sa.Engine:
        return cast(sa.Engine, db.session.get_bind(self.model.__mapper__))

    def renew(self, row_id: int, owner: str, *, where: Iterable[Any] = (), engine: sa.Engine | None = None,
              **values: Any) -> bool:
        """Extend a lease this owner still holds, on a connection of its own: safe from any thread, given the
        engine (a thread without the app's context cannot look it up)."""
        rows = table(self.model)
        statement = (sa.update(rows).where(rows.c.id == row_id, rows.c[self.owner.key] == owner, *where)
                     .values({self.until.key: self.deadline(utcnow()), **values}))
        with (engine or self.bind()).begin() as conn:
            return changed_rows(conn.execute(statement)) == 1

    def release(self, row_id: int, owner: str, **values: Any) -> bool:
        """Give the row back (and set `values` with it) if this owner still holds it; commits."""
        changed = changed_rows(db.session.execute(
            sa.update(self.model).where(self.model.id == row_id, self.owner == owner)
            .values({self.owner.key: None, self.until.key: None, **values})
            .execution_options(synchronize_session=False)))
        db.session.commit()
        return changed == 1

    @contextmanager
    def renewing(self, row_id: int, owner: str, *, where: Iterable[Any] = (), beat: Any = None,
                 every: float | None = None) -> Iterator[None]:
        """Renew (by default every third of the lease) while the block runs; `beat(now)` gives extra values
        to set with each renewal."""
        engine = self.bind()

        def renew() -> None:
            if not self.renew(row_id, owner, where=where, engine=engine, **(beat(utcnow()) if beat else {})):
                log.warning("%s %s: the lease of %s is gone", self.model.__tablename__, row_id, owner)

        with repeating(every or self.seconds / 3, renew, f"lease-{self.model.__tablename__}-{row_id}"):
            yield
