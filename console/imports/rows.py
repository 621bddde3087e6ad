"""Rows of one file that share an id: which one is imported, and what the others are told.

The first row of an id whose values map is kept. A later row of that id that maps too is skipped as a
duplicate naming the kept line and the columns whose values differ (a real conflict is never dropped
in silence); a row that does not map fails with its own reason, never as a duplicate. The kept lines
of a whole file are remembered in 16 bytes a row: the id's 59-bit hash as the key, its line and a
second, independent 32-bit hash as the value (a false match needs 91 bits to collide).
"""
from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from ..connectors.base import SourceRecord
from ..extensions import db
from ..mapping.mapper import Mapped, MappingSpec, map_record
from ..models import CrmLead
from ..sync.inbound.versions import IntMap, Versions

KEPT = ("created", "updated", "unchanged")


@dataclass(frozen=True)
class Settled:
    """A row decided here, before the writer: failed or a duplicate, with the reason shown to people."""
    record: SourceRecord
    bucket: str
    reason: str
    mapped: Mapped | None = None


class FileRows:
    def __init__(self, spec: MappingSpec, columns: dict[str, str], connection_id: int, object_type: str,
                 stored: bool = True) -> None:
        self.spec, self.columns = spec, columns  # columns: target field -> the file's column
        self.connection_id, self.object_type = connection_id, object_type
        self.stored = stored  # False in a dry run: a kept row of an earlier page was never written
        self._kept = IntMap()

    def split(self, records: list[SourceRecord], versions: Versions) -> tuple[list[SourceRecord], list[Settled]]:
        """The records the writer should apply (each id once, none kept before) and the rows settled here.
        Only rows whose id repeats are mapped here; the writer maps the rest, once."""
        counts = Counter(r.external_id for r in records)
        to_write: list[SourceRecord] = []
        settled: list[Settled] = []
        first: dict[str, tuple[int, dict]] = {}  # id -> (line, values) of this batch's kept row
        for rec in records:
            ext, line = rec.external_id, _line(rec)
            kept_line = self.kept_line(ext)
            if kept_line is None and counts[ext] == 1:
                versions.forget(ext)  # an earlier row with this id failed: this one is decided afresh
                to_write.append(rec)
                continue
            mapped = map_record(rec, self.spec)
            if mapped.failures:
                settled.append(Settled(rec, "failed", "; ".join(f.reason for f in mapped.failures), mapped))
                continue
            if kept_line is None and ext not in first:
                first[ext] = (line, mapped.values)
                versions.forget(ext)
                to_write.append(rec)
                continue
            kept_values: dict | None
            if ext in first:
                kept_line, kept_values = first[ext]
            else:
                kept_values = self._stored(ext) if self.stored else None
            reason = f"Line {line} has the same id “{ext}” as line {kept_line}; kept line {kept_line}"
            if kept_values is not None:
                differs = [column for target, column in self.columns.items()
                           if _text(mapped.values.get(target)) != _text(kept_values.get(target))]
                reason += f". This row differs in {', '.join(differs)}." if differs else ". The rows are identical."
            settled.append(Settled(rec, "duplicate", reason, mapped))
        return to_write, settled

    def keep(self, record: SourceRecord, bucket: str) -> None:
        """Remember the writer's outcome: a row imported (or already current) is the one kept for its id."""
        if bucket in KEPT:
            key, check = _hashes(record.external_id)
            self._kept.put(key, (_line(record) << 32) | check)

    def kept_line(self, external_id: str) -> int | None:
        key, check = _hashes(external_id)
        value = self._kept.get(key)
        if value is None or value & 0xFFFFFFFF != check:
            return None
        return value >> 32

    def _stored(self, external_id: str) -> dict[str, Any]:
        """The kept row's values as stored (it was written by an earlier page of this file)."""
        lead = db.session.scalar(sa.select(CrmLead).where(
            CrmLead.connection_id == self.connection_id, CrmLead.object_type == self.object_type,
            CrmLead.external_id == external_id))
        return {target: getattr(lead, target, None) for target in self.columns} if lead is not None else {}


def _hashes(external_id: str) -> tuple[int, int]:
    digest = hashlib.blake2b(external_id.encode("utf-8", "surrogatepass"), digest_size=12).digest()
    return (int.from_bytes(digest[:8], "big") >> 5) or 1, int.from_bytes(digest[8:], "big")


def _line(rec: SourceRecord) -> int:
    return int(getattr(rec, "line", 0))


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
