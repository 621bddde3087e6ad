"""The associations half of reconciliation: every active provider record's associations, read from the
provider (one batch read per chunk of the inventory and associated type), against the stored rows; and
stored associations of records the provider no longer holds as active.

  link_drift  a record whose stored associations are not the ones the provider holds now (one missing,
              one too many, a label changed), or stored associations of a record the provider does not
              hold as active. An association changed without a webhook reaching us (HubSpot does not mark
              the record changed) is found here, and a repair reads it again.

Associations have no version to tell "changed a moment ago" from "lost", so none is in flight: a
comparison that runs while associationChange webhooks wait for normalization reports them."""
from __future__ import annotations

from collections.abc import Callable, Iterator

import sqlalchemy as sa

from ...extensions import db
from ...models import CrmAssociation
from ..inbound import links

Held = set[tuple[str, str, str, int, str | None]]  # to type, to id, category, type id, label


class LinkComparison:
    """Compares the associations of one connection's object type, a chunk of provider ids at a time."""

    def __init__(self, session, connection_id: int, object_type: str) -> None:
        self.session, self.connection_id, self.object_type = session, connection_id, object_type
        self.to_types = links.linked_types(session, connection_id, object_type)
        self.drifted: list[str] = []

    def check(self, ids: list[str]) -> None:
        """Note each record of `ids` (active at the provider) whose stored associations differ."""
        if not self.to_types or not ids:
            return
        found = links.read(self.session, self.object_type, self.to_types, ids)
        want: dict[str, Held] = {i: set() for i in ids}
        for to_type, by_id in found.items():
            for from_id, held in by_id.items():
                want[from_id].update((to_type, x.to_id, x.category, x.type_id, x.label) for x in held)
        stored = self._stored(ids)
        self.drifted += [i for i in ids if want[i] != stored.get(i, set())]

    def orphans(self, active: Callable[[str], bool]) -> None:
        """Note the records holding stored associations that are not active at the provider."""
        if not self.to_types:
            return
        self.drifted += [from_id for from_id in self._every_from_id() if not active(from_id)]

    def _stored(self, ids: list[str]) -> dict[str, Held]:
        t = CrmAssociation
        out: dict[str, Held] = {}
        for row in db.session.execute(sa.select(t.from_id, t.to_type, t.to_id, t.category, t.type_id, t.label).where(
                t.connection_id == self.connection_id, t.from_type == self.object_type, t.to_type.in_(self.to_types),
                t.from_id.in_(ids))):
            out.setdefault(row.from_id, set()).add((row.to_type, row.to_id, row.category, row.type_id, row.label))
        return out

    def _every_from_id(self) -> Iterator[str]:
        """Each record holding stored associations, by keyset over the from id."""
        t, after = CrmAssociation, ""
        while True:
            ids = list(db.session.scalars(sa.select(t.from_id).where(
                t.connection_id == self.connection_id, t.from_type == self.object_type, t.from_id > after)
                .group_by(t.from_id).order_by(t.from_id).limit(5000)))
            if not ids:
                return
            yield from ids
            after = ids[-1]
