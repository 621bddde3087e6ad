"""HubSpot streams: a full backfill through the list endpoint, then incremental reads through search on
the last-modified property, and a cheap inventory of every id and modification time for reconciliation.

Cursor (JSON, stored on the job, advanced only with a committed page):
  backfill:    {"mode": "backfill", "after": <list token of the page in progress>, "page_done": [ids of that
                page already committed], "started_ms": S, "archived_ms": A}
  incremental: {"mode": "incremental", "ms": M, "ids": [ids done at exactly M], "strict": bool,
                "phase": "range"|"tie", "after_id": X, "read_at": R, "archived_ms": A}

The incremental read is keyset paging, never offset paging. Each search asks for modified >= M (> M when
strict), sorted ascending, from offset 0, and skips the ids already done at M. Invariant: after a
committed page, every record whose modification time is below M, or equal to M with its id in `ids`, has
been read at that version or a newer one. It holds because each reply holds the smallest modification
times at or past M, so the page's newest instant bounds everything before it. Three consequences:
  * the 10,000-result cap never applies, since the offset is always 0;
  * a record edited mid-run moves to a later instant and is read again (its newer copy wins), and an
    edit or an archive mid-run cannot shift unread records past an offset, because nothing is offset;
  * if one instant fills a whole page, "tie" pages that instant by record id (EQ M, id > X, sorted by id),
    then continues strictly after it.
Search is eventually consistent: a record modified shortly before a search may be missing from it. So
each run starts `lookback_ms` before R, the time the last committed search was sent, when the saved
position is later than that; a record missed then was modified after R minus the index lag. Records
re-read that way are already held and land in "unchanged". A backfill hands over the time it started,
not the newest instant it listed, so a record edited while the backfill paged is read again. A run cut
by a record limit stores the exact position: the list page's token plus the ids taken from it, or the
keyset position of the last record taken.
"""
from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from datetime import datetime

from ..base import Page, SourceRecord
from .client import HubSpotClient
from .paging import Pages

SEARCH_LIMIT, LIST_LIMIT, BATCH_READ = 200, 100, 100
DEFAULT_LOOKBACK_MS = 5 * 60 * 1000
MODIFIED = {"contacts": "lastmodifieddate", "companies": "hs_lastmodifieddate", "deals": "hs_lastmodifieddate"}


def to_ms(value: str | None) -> int | None:
    if not value:
        return None
    if value.isdigit():
        return int(value)
    return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)


def now_ms() -> int:
    return int(time.time() * 1000)


class HubSpotStream:
    def __init__(self, client: HubSpotClient, object_type: str, properties: list[str],
                 lookback_ms: int = DEFAULT_LOOKBACK_MS) -> None:
        self.client, self.object_type, self.lookback_ms = client, object_type, lookback_ms
        self.modified = MODIFIED.get(object_type, "hs_lastmodifieddate")  # every other object type, custom ones too
        self.properties = sorted(set(properties) | {self.modified, "createdate"})
        self.page_size = LIST_LIMIT

    def _record(self, raw: dict) -> SourceRecord:
        """The modification time is the property the search filters on (the cursor's own clock);
        an archived record's is the time it was archived."""
        archived = bool(raw.get("archived"))
        props = raw.get("properties") or {}
        if archived:
            updated = to_ms(raw.get("archivedAt")) or to_ms(raw.get("updatedAt")) or 0
        else:
            updated = to_ms(props.get(self.modified)) or to_ms(raw.get("updatedAt")) or 0
        return SourceRecord(str(raw["id"]), props, updated, to_ms(raw.get("createdAt")), archived)

    # ---- public ---------------------------------------------------------------------------------
    def pages(self, cursor: dict | None, limit: int | None = None, page_size: int = LIST_LIMIT) -> Iterator[Page]:
        """Pages from `cursor` (None: a full backfill). A small `page_size` makes a short test batch
        report progress page by page."""
        self.page_size = max(1, min(page_size, LIST_LIMIT))
        budget = [limit]
        cursor = dict(cursor) if cursor else new_backfill_cursor()
        if cursor["mode"] == "backfill":
            page = None
            for page in self._backfill(_upgrade_backfill(cursor), budget):
                yield page
                if page.done:
                    return
            if page is None:  # a backfill always yields at least its last page
                return
            cursor = page.cursor
        yield from self._incremental(cursor, budget)

    def read(self, ids: list[str]) -> list[SourceRecord]:
        """Batch read of active records; ids that are archived or unknown are simply absent."""
        found: list[SourceRecord] = []
        for i in range(0, len(ids), BATCH_READ):
            body = {"properties": self.properties, "inputs": [{"id": x} for x in ids[i:i + BATCH_READ]]}
            reply = self.client.post(f"/crm/v3/objects/{self.object_type}/batch/read", body) or {}
            found += [self._record(r) for r in reply.get("results", [])]
        return found

    def inventory(self, archived: bool, properties: Sequence[str] = ()) -> Iterator[SourceRecord]:
        """Every record's id and modification time (plus `properties`), straight from the list endpoint:
        the provider's side of a reconciliation. Costs one call per 100 records."""
        props = ",".join(sorted({self.modified, *properties}))
        params = {"limit": LIST_LIMIT, "properties": props, "archived": "true" if archived else "false"}
        pages = Pages()
        while not pages.finished:
            reply = self.client.get(f"/crm/v3/objects/{self.object_type}", pages.params(params)) or {}
            yield from (self._record(r) for r in reply.get("results", []))
            pages.advance(reply)

    # ---- backfill -------------------------------------------------------------------------------
    def _backfill(self, cursor: dict, budget: list) -> Iterator[Page]:
        params = {"limit": self.page_size, "properties": ",".join(self.properties)}
        pages = Pages(cursor.get("after"))
        while True:
            reply = self.client.get(f"/crm/v3/objects/{self.object_type}", pages.params(params)) or {}
            fetched = [self._record(r) for r in reply.get("results", [])]
            done = set(cursor.get("page_done") or [])
            fresh = [r for r in fetched if r.external_id not in done]
            records, cut = _take(fresh, budget)
            nxt = pages.advance(reply)
            if cut and len(records) < len(fresh):  # stop inside this page: remember what it took
                page_done = sorted(done | {r.external_id for r in records})
                yield Page(records, {**cursor, "page_done": page_done}, skipped=len(fetched) - len(fresh), done=True)
                return
            if nxt:
                cursor = {**cursor, "after": nxt, "page_done": []}
                yield Page(records, dict(cursor), skipped=len(fetched) - len(fresh), done=cut)
                if cut:
                    return
                continue
            start = cursor["started_ms"]
            final = {"mode": "incremental", "ms": start, "ids": [], "strict": False, "phase": "range",
                     "after_id": "0", "read_at": start, "archived_ms": cursor["archived_ms"]}
            yield Page(records, final, skipped=len(fetched) - len(fresh), done=cut)
            return

    # ---- incremental ----------------------------------------------------------------------------
    def _search(self, filters: list[dict], sort: str) -> dict:
        body = {"filterGroups": [{"filters": filters}], "sorts": [{"propertyName": sort, "direction": "ASCENDING"}],
                "properties": self.properties, "limit": SEARCH_LIMIT}
        return self.client.post(f"/crm/v3/objects/{self.object_type}/search", body, search=True) or {}

    def start_position(self, cursor: dict) -> dict:
        """Where a run's read starts: the saved position, or the lookback before the last search when
        the position is later than that (what the index had not yet shown may lie in between)."""
        cursor = {"strict": False, "ids": [], "after_id": "0", "phase": "range", **cursor}
        floor = int(cursor.get("read_at", cursor["ms"])) - self.lookback_ms
        if cursor["phase"] == "tie" or cursor["ms"] <= floor:
            return cursor
        return {**cursor, "ms": floor, "ids": [], "strict": False}

    def _incremental(self, cursor: dict, budget: list) -> Iterator[Page]:
        cursor = self.start_position(cursor)
        while cursor["phase"] == "tie":
            page = self._tie_page(cursor, budget)
            yield page
            if page.done:
                return
            cursor = page.cursor
        while True:
            op = "GT" if cursor["strict"] else "GTE"
            cursor = {**cursor, "read_at": now_ms()}
            reply = self._search([{"propertyName": self.modified, "operator": op, "value": str(cursor["ms"])}],
                                 self.modified)
            fetched = [self._record(r) for r in reply.get("results", [])]
            done_at = set(cursor["ids"])
            fresh = [r for r in fetched if not (r.updated_ms == cursor["ms"] and r.external_id in done_at)]
            records, cut = _take(fresh, budget)
            advanced = _advance(cursor, records)
            skipped = len(fetched) - len(fresh)
            if cut:
                yield Page(records, advanced, skipped=skipped, done=True)
                return
            more = bool((reply.get("paging") or {}).get("next"))
            if more and fetched and all(r.updated_ms == fetched[0].updated_ms for r in fetched):
                # One instant fills the whole reply: no later record can be reached by time, so page
                # that instant by id, then continue strictly after it.
                tie = {**advanced, "ms": fetched[0].updated_ms, "phase": "tie", "after_id": "0",
                       "ids": advanced["ids"] if advanced["ms"] == fetched[0].updated_ms else []}
                yield Page(records, tie, skipped=skipped)
                yield from self._incremental(tie, budget)
                return
            if not more:
                yield Page(records, advanced, skipped=skipped)
                yield from self._archived(advanced, budget)
                return
            yield Page(records, advanced, skipped=skipped)
            cursor = advanced

    def _tie_page(self, cursor: dict, budget: list) -> Page:
        filters = [{"propertyName": self.modified, "operator": "EQ", "value": str(cursor["ms"])},
                   {"propertyName": "hs_object_id", "operator": "GT", "value": cursor["after_id"]}]
        cursor = {**cursor, "read_at": now_ms()}
        reply = self._search(filters, "hs_object_id")
        fetched = [self._record(r) for r in reply.get("results", [])]
        done_at = set(cursor["ids"])
        fresh, cut = _take([r for r in fetched if r.external_id not in done_at], budget)
        last_id = fresh[-1].external_id if cut and fresh else (fetched[-1].external_id if fetched else cursor["after_id"])
        cursor = {**cursor, "after_id": last_id}  # ids ascend here: after_id alone marks progress
        if not fetched:  # the instant is exhausted: continue strictly after it
            cursor = {**cursor, "phase": "range", "strict": True, "ids": [], "after_id": "0"}
        return Page(fresh, cursor, skipped=len(fetched) - len(fresh), done=cut)

    def _archived(self, cursor: dict, budget: list) -> Iterator[Page]:
        """Records archived since the last run (a lookback earlier, like the search) become archived
        leads, never silent deletes. The next pass starts from this pass's start time."""
        pages, started = Pages(), now_ms()
        since = cursor["archived_ms"] - self.lookback_ms
        params = {"limit": LIST_LIMIT, "archived": "true", "properties": self.modified}
        while True:
            reply = self.client.get(f"/crm/v3/objects/{self.object_type}", pages.params(params)) or {}
            records = [r for r in (self._record(x) for x in reply.get("results", [])) if r.updated_ms > since]
            records, cut = _take(records, budget)
            final = pages.advance(reply) is None or cut
            page_cursor = {**cursor, "archived_ms": max(cursor["archived_ms"], started)} if final and not cut else cursor
            yield Page(records, page_cursor, done=cut)
            if final:
                return


def new_backfill_cursor() -> dict:
    started = now_ms()
    return {"mode": "backfill", "after": None, "page_done": [], "started_ms": started, "archived_ms": started}


def _upgrade_backfill(cursor: dict) -> dict:
    """Cursors saved before the start-time handover began their backfill at `archived_ms`."""
    return {"page_done": [], "started_ms": cursor.get("started_ms", cursor.get("archived_ms", now_ms())), **cursor}


def _advance(cursor: dict, records: list[SourceRecord]) -> dict:
    """Move the position to the last record read (sorted ascending by modification time).

    The last record, not the newest: a reply is sorted by the index's values, but a record edited while
    the reply was built may show a newer time than its place in the order. Taking the maximum would then
    jump past every record between; the last record's time is where the reply really ends."""
    if not records:
        return cursor
    last = records[-1].updated_ms
    if last < cursor["ms"]:  # cannot happen with a GTE/GT query; never move backwards if it does
        return cursor
    same = [r.external_id for r in records if r.updated_ms == last]
    if last == cursor["ms"]:
        return {**cursor, "ids": list(cursor["ids"]) + same}
    return {**cursor, "ms": last, "ids": same, "strict": False}


def _take(records: list[SourceRecord], budget: list) -> tuple[list[SourceRecord], bool]:
    """Apply the run's record limit (budget[0], None for none); return the records and whether it cut."""
    if budget[0] is None:
        return records, False
    taken = records[: budget[0]]
    budget[0] -= len(taken)
    return taken, budget[0] <= 0
