"""A page's associations: read with the page (in the prefetch thread, beside the records' own reads) and
written in the page's transaction, so the cursor never moves past a page whose associations are not stored.

What a page holds for a record is every association it has now, so writing is a replacement: rows the
provider no longer has are deleted, new ones inserted, a renamed label rewritten. An association changed
without touching either record's modification time (HubSpot does not touch it) is not in any incremental
page: it arrives through the associationChange webhook, or with the record's next change or full run."""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import sqlalchemy as sa

from ...connectors.base import Link, Links, Page
from ...extensions import db
from ...mapping.targets import custom_type
from ...models import CrmAssociation, IntegrationSyncJob
from ...models.base import table, utcnow
from . import bulk

CHUNK = 500  # from-ids per query of the stored rows

Key = tuple[str, str, str, int]  # from id, to id, category, type id


def linked_types(session, connection_id: int, object_type: str) -> tuple[str, ...]:
    """The types whose associations from `object_type` are read: those the provider's sync reads from it (a
    custom object: those its schema, as the connection stored it, associates it with), among the connection's
    synced objects."""
    synced = set(db.session.scalars(sa.select(IntegrationSyncJob.object_type).where(
        IntegrationSyncJob.connection_id == connection_id)))
    custom = custom_type(connection_id, object_type)
    declared = session.linked_types(object_type) if custom is None else tuple(custom.associations)
    return tuple(t for t in declared if t in synced)


def read(session, object_type: str, to_types: tuple[str, ...], ids: list[str]) -> Links:
    return {to: session.links(object_type, to, ids) for to in to_types} if ids else {}


def with_links(pages: Iterator[Page], session, object_type: str, to_types: tuple[str, ...], batch: int = 500,
               clock: Callable[[str, float], None] | None = None) -> Iterator[Page]:
    """The pages, each with its records' associations, read where the pages are read (the prefetch thread)
    for `batch` records at a time (a page of 100 alone would spend one more call per 100 records and type);
    `clock` hears the seconds spent reading them ("links")."""
    if not to_types:
        yield from pages
        return
    held: list[Page] = []
    for page in pages:
        held.append(page)
        if sum(len(p.records) for p in held) >= batch or page.done:
            yield from _attached(held, session, object_type, to_types, clock)
            held = []
    yield from _attached(held, session, object_type, to_types, clock)


def _attached(held: list[Page], session, object_type: str, to_types: tuple[str, ...],
              clock: Callable[[str, float], None] | None) -> Iterator[Page]:
    started = time.perf_counter()
    found = read(session, object_type, to_types, list(dict.fromkeys(r.external_id for p in held for r in p.records)))
    if clock and held:
        clock("links", time.perf_counter() - started)
    for page in held:
        page.links = {to: {r.external_id: by_id[r.external_id] for r in page.records} for to, by_id in found.items()}
        yield page


class LinkWriter:
    """Replaces the stored associations of a page's records with the ones read."""

    def __init__(self, connection_id: int, from_type: str) -> None:
        self.connection_id, self.from_type = connection_id, from_type

    def write(self, conn: sa.Connection, links: Links) -> tuple[int, int]:
        """(added, removed) association rows."""
        added = removed = 0
        for to_type, by_id in links.items():
            ids = list(by_id)
            for start in range(0, len(ids), CHUNK):
                a, r = self._replace(conn, to_type, {i: by_id[i] for i in ids[start:start + CHUNK]})
                added, removed = added + a, removed + r
        return added, removed

    def _replace(self, conn: sa.Connection, to_type: str, by_id: dict[str, list[Link]]) -> tuple[int, int]:
        t = table(CrmAssociation)
        have = {(r.from_id, r.to_id, r.category, r.type_id): (r.id, r.label) for r in conn.execute(
            sa.select(t.c.id, t.c.from_id, t.c.to_id, t.c.category, t.c.type_id, t.c.label).where(
                t.c.connection_id == self.connection_id, t.c.from_type == self.from_type, t.c.to_type == to_type,
                t.c.from_id.in_(list(by_id))))}
        want: dict[Key, str | None] = {(from_id, link.to_id, link.category, link.type_id): link.label
                                       for from_id, found in by_id.items() for link in found}
        gone = [have[k][0] for k in have.keys() - want.keys()]
        if gone:
            conn.execute(sa.delete(t).where(t.c.id.in_(gone)))
        now = utcnow()
        renamed = [{"_id": have[k][0], "label": want[k], "updated_at": now}
                   for k in have.keys() & want.keys() if have[k][1] != want[k]]
        bulk.update_many(conn, t, renamed)
        new = sorted(want.keys() - have.keys())
        bulk.insert_many(conn, t, [{"connection_id": self.connection_id, "from_type": self.from_type, "from_id": k[0],
                                    "to_type": to_type, "to_id": k[1], "category": k[2], "type_id": k[3],
                                    "label": want[k], "created_at": now, "updated_at": now} for k in new])
        return len(new), len(gone)
