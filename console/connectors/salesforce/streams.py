"""Salesforce streams: keyset reads over (SystemModstamp, Id) in SOQL, deletions from the recycle bin
(queryAll, IsDeleted = true), and every record's id and SystemModstamp for reconciliation.

Cursor (JSON, stored on the job, advanced only with a committed page):
  {"mode": "keyset", "stamp": S, "id": X, "read_at": R, "deleted_ms": D}
Invariant: after a committed page, every record whose (SystemModstamp, Id) is at or below (S, X) has been
read at that version or a newer one. Each query asks for the records after (S, X), ordered by
SystemModstamp then Id, so a record edited mid-run moves past the position and is read again, and ties at
one instant page by Id (a bulk update gives thousands the same SystemModstamp). No offset, no cursor
locator: a run can stop and resume at any committed page. A transaction that commits late can carry a
SystemModstamp earlier than records already read, so each run starts `lookback_ms` before R, the time
the last committed query was sent; what it reads again lands in "unchanged". Deleted records stay in
the recycle bin for 15 days: each pass asks for those deleted since the last pass (a lookback earlier)
and hands them over as archived; a reconciliation finds any older one missed.
"""
from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime

from ..base import Page, SourceRecord
from .client import SalesforceClient

SOBJECT = {"contacts": "Contact", "companies": "Account", "deals": "Opportunity", "leads": "Lead"}
STAMP, PAGE_SIZE, READ_CHUNK = "SystemModstamp", 2000, 200
DEFAULT_LOOKBACK_MS = 5 * 60 * 1000
FRAME = ("Id", STAMP, "CreatedDate")


def to_ms(value: str | None) -> int | None:
    if not value:
        return None
    return int(datetime.fromisoformat(value.replace("+0000", "+00:00").replace("Z", "+00:00")).timestamp() * 1000)


def literal(ms: int) -> str:
    """A SOQL datetime literal, to the millisecond (what SystemModstamp holds)."""
    moment = datetime.fromtimestamp(ms / 1000, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def now_ms() -> int:
    return int(time.time() * 1000)


def quoted(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


class SalesforceStream:
    def __init__(self, client: SalesforceClient, object_type: str, properties: list[str],
                 lookback_ms: int = DEFAULT_LOOKBACK_MS) -> None:
        self.client, self.object_type, self.lookback_ms = client, object_type, lookback_ms
        self.sobject = SOBJECT.get(object_type, object_type)
        self.fields = list(dict.fromkeys([*FRAME, *sorted(set(properties) - set(FRAME))]))
        self.page_size = PAGE_SIZE

    def _record(self, raw: dict) -> SourceRecord:
        props = {k: v for k, v in raw.items() if k != "attributes"}
        return SourceRecord(str(raw["Id"]), props, to_ms(raw.get(STAMP)) or 0, to_ms(raw.get("CreatedDate")),
                            bool(raw.get("IsDeleted")))

    # ---- public ---------------------------------------------------------------------------------
    def pages(self, cursor: dict | None, limit: int | None = None, page_size: int = PAGE_SIZE) -> Iterator[Page]:
        self.page_size = max(1, min(page_size, PAGE_SIZE))
        budget = limit
        cursor = self.start_position(dict(cursor) if cursor else {"mode": "keyset", "stamp": None, "id": "",
                                                                  "read_at": now_ms(), "deleted_ms": now_ms()})
        while True:
            size = self.page_size if budget is None else min(self.page_size, budget)
            sent = now_ms()
            # every batch of the page: Salesforce may answer a LIMIT in smaller batches than asked
            rows = [r for batch in self.client.query(self._keyset(cursor, size)) for r in batch]
            records = [self._record(r) for r in rows]
            if records:
                last = records[-1]
                cursor = {**cursor, "stamp": last.updated_ms, "id": last.external_id, "read_at": sent}
            if budget is not None:
                budget -= len(records)
            cut = budget is not None and budget <= 0
            if cut or len(records) == size and size == self.page_size:
                yield Page(records, dict(cursor), done=cut)
                if cut:
                    return
                continue
            yield Page(records, dict(cursor))
            yield self._deleted(cursor)
            return

    def start_position(self, cursor: dict) -> dict:
        """The saved position, or the lookback before the last query when the position is later than that."""
        if cursor.get("stamp") is None:
            return cursor
        floor = int(cursor.get("read_at", cursor["stamp"])) - self.lookback_ms
        return cursor if cursor["stamp"] <= floor else {**cursor, "stamp": floor, "id": ""}

    def _keyset(self, cursor: dict, size: int) -> str:
        where = ""
        if cursor.get("stamp") is not None:
            at = literal(int(cursor["stamp"]))
            where = f" WHERE {STAMP} > {at} OR ({STAMP} = {at} AND Id > {quoted(cursor.get('id') or '')})"
        return f"SELECT {', '.join(self.fields)} FROM {self.sobject}{where} ORDER BY {STAMP} ASC, Id ASC LIMIT {size}"

    def _deleted(self, cursor: dict) -> Page:
        """Records deleted since the last pass (a lookback earlier), as archived; the next pass starts at
        this one's start."""
        started, since = now_ms(), int(cursor.get("deleted_ms") or 0) - self.lookback_ms
        soql = (f"SELECT Id, {STAMP}, CreatedDate, IsDeleted FROM {self.sobject} WHERE IsDeleted = true "
                f"AND {STAMP} > {literal(max(0, since))} ORDER BY {STAMP} ASC, Id ASC")
        gone = [self._record(r) for batch in self.client.query(soql, deleted=True) for r in batch]
        return Page([r for r in gone if r.archived], {**cursor, "deleted_ms": max(int(cursor.get("deleted_ms") or 0), started)})

    def read(self, ids: list[str]) -> list[SourceRecord]:
        """The active records among `ids` (deleted or unknown ones are absent)."""
        found: list[SourceRecord] = []
        for i in range(0, len(ids), READ_CHUNK):
            chunk = ", ".join(quoted(x) for x in ids[i:i + READ_CHUNK])
            soql = f"SELECT {', '.join(self.fields)} FROM {self.sobject} WHERE Id IN ({chunk})"
            found += [self._record(r) for batch in self.client.query(soql) for r in batch]
        return found

    def inventory(self, archived: bool, properties: Sequence[str] = ()) -> Iterator[SourceRecord]:
        """Every record's id and SystemModstamp (plus `properties`): the provider's side of a reconciliation;
        with `archived`, those in the recycle bin."""
        fields = ", ".join(dict.fromkeys([*FRAME, *properties, *(["IsDeleted"] if archived else [])]))
        soql = f"SELECT {fields} FROM {self.sobject}" + (" WHERE IsDeleted = true" if archived else "")
        for batch in self.client.query(soql, deleted=archived):
            yield from (self._record(r) for r in batch)
