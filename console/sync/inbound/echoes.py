"""Recognising our own writes when they come back: a copy of a record is our echo when it is the very
version our last write produced (the provider's modification time after that write) and every property
we wrote still maps to the value we wrote. Such a copy is no change: no lead event, no outbound write."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from ...connectors.base import SourceRecord
from ...extensions import db
from ...mapping.mapper import MappingSpec
from ...mapping.outbound import console_value
from ...models import CrmWriteLedger
from ..outbound.pusher import at_ms, value_hash

Entry = tuple[datetime | None, dict[str, str]]  # (the provider's time after our write, property -> value hash)


def ledger(connection_id: int, object_type: str, external_ids: list[str]) -> dict[str, Entry]:
    """The write ledger of these records (one query per page; records never written are absent)."""
    if not external_ids:
        return {}
    out: dict[str, Entry] = {}
    for ext, prop, digest, updated in db.session.execute(sa.select(
            CrmWriteLedger.external_id, CrmWriteLedger.property, CrmWriteLedger.value_hash,
            CrmWriteLedger.provider_updated_at).where(
            CrmWriteLedger.connection_id == connection_id, CrmWriteLedger.object_type == object_type,
            CrmWriteLedger.external_id.in_(external_ids))):
        at, hashes = out.get(ext, (None, {}))
        hashes[prop] = digest
        out[ext] = (max(filter(None, (at, updated)), default=None), hashes)
    return out


def is_echo(entry: Entry | None, rec: SourceRecord, spec: MappingSpec) -> bool:
    if entry is None or entry[0] is None or not rec.updated_ms:
        return False
    written_at, hashes = entry
    if at_ms(rec.updated_ms) != written_at:
        return False  # the record changed after our write (or this is an older copy)
    rules = {r.source: r for r in spec.outbound_rules}
    return all(prop in rules and value_hash(console_value(rules[prop], spec, rec.properties)) == digest
               for prop, digest in hashes.items())
