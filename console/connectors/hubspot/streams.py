"""HubSpot streams: a full backfill through the list endpoint, then incremental pulls through search
on the last-modified property, crossing the 10,000-result cap without skipping or double-counting.

Cursor (JSON, stored on the job, advanced only with a committed page):
  backfill:    {"mode": "backfill", "after": <list token>, "max_ms": M, "max_ids": [...], "archived_ms": A}
  incremental: {"mode": "incremental", "ms": M, "ids": [ids done at exactly M], "strict": bool,
                "phase": "range"|"tie", "after_id": X, "archived_ms": A}
"range" searches modified >= M (> M when strict) sorted ascending, skipping ids already done at M;
when paging would pass the cap it restarts at the newest instant seen; if one instant alone fills
a whole capped window, "tie" pages that instant by record id (EQ M, id > X), then moves past it.
"""
from __future__ import annotations

import time
from datetime import datetime
from typing import Iterator

from ..base import Page, SourceRecord
from .client import HubSpotClient

SEARCH_CAP, SEARCH_LIMIT, LIST_LIMIT, BATCH_READ = 10_000, 200, 100, 100
MODIFIED = {"contacts": "lastmodifieddate", "companies": "hs_lastmodifieddate", "deals": "hs_lastmodifieddate"}


def to_ms(value: str | None) -> int | None:
    if not value:
        return None
    if value.isdigit():
        return int(value)
    return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)


def _record(raw: dict) -> SourceRecord:
    archived = bool(raw.get("archived"))
    updated = to_ms(raw.get("archivedAt") if archived else raw.get("updatedAt")) or 0
    return SourceRecord(str(raw["id"]), raw.get("properties") or {}, updated, to_ms(raw.get("createdAt")), archived)


class HubSpotStream:
    def __init__(self, client: HubSpotClient, object_type: str, properties: list[str]) -> None:
        self.client, self.object_type = client, object_type
        self.modified = MODIFIED[object_type]
        self.properties = sorted(set(properties) | {self.modified, "createdate"})

    # ---- public ---------------------------------------------------------------------------------
    def pages(self, cursor: dict | None, limit: int | None = None, page_size: int = LIST_LIMIT) -> Iterator[Page]:
        """Pages from `cursor` (None: a full backfill). A small `page_size` makes a short test batch
        report progress page by page."""
        self.page_size = max(1, min(page_size, LIST_LIMIT))
        cursor = dict(cursor or {"mode": "backfill", "after": None, "max_ms": 0, "max_ids": [],
                                 "archived_ms": int(time.time() * 1000)})
        budget = [limit]
        if cursor["mode"] == "backfill":
            for page in self._backfill(cursor, budget):
                yield page
                if page.done:
                    return
            cursor = page.cursor
        yield from self._incremental(cursor, budget)

    def read(self, ids: list[str]) -> list[SourceRecord]:
        found: list[SourceRecord] = []
        for i in range(0, len(ids), BATCH_READ):
            body = {"properties": self.properties, "inputs": [{"id": x} for x in ids[i:i + BATCH_READ]]}
            reply = self.client.post(f"/crm/v3/objects/{self.object_type}/batch/read", body) or {}
            found += [_record(r) for r in reply.get("results", [])]
        return found

    # ---- backfill -------------------------------------------------------------------------------
    def _backfill(self, cursor: dict, budget: list) -> Iterator[Page]:
        while True:
            params = {"limit": getattr(self, "page_size", LIST_LIMIT), "properties": ",".join(self.properties)}
            if cursor.get("after"):
                params["after"] = cursor["after"]
            reply = self.client.get(f"/crm/v3/objects/{self.object_type}", params) or {}
            records = [_record(r) for r in reply.get("results", [])]
            records, cut = _take(records, budget)
            for rec in records:
                if rec.updated_ms > cursor["max_ms"]:
                    cursor["max_ms"], cursor["max_ids"] = rec.updated_ms, [rec.external_id]
                elif rec.updated_ms == cursor["max_ms"]:
                    cursor["max_ids"] = cursor["max_ids"] + [rec.external_id]
            nxt = ((reply.get("paging") or {}).get("next") or {}).get("after")
            if nxt and not cut:
                cursor = {**cursor, "after": nxt}
                yield Page(records, dict(cursor))
                continue
            final = {"mode": "incremental", "ms": cursor["max_ms"], "ids": cursor["max_ids"], "strict": False,
                     "phase": "range", "after_id": "0", "archived_ms": cursor["archived_ms"]}
            # A cut (record limit) mid-backfill keeps the backfill cursor so the next run resumes it.
            yield Page(records, final if not nxt else {**cursor, "after": cursor.get("after")}, done=bool(cut))
            return

    # ---- incremental ----------------------------------------------------------------------------
    def _search(self, filters: list[dict], sort: str, after: int | None, limit: int) -> dict:
        body = {"filterGroups": [{"filters": filters}], "sorts": [{"propertyName": sort, "direction": "ASCENDING"}],
                "properties": self.properties, "limit": limit}
        if after:
            body["after"] = str(after)
        return self.client.post(f"/crm/v3/objects/{self.object_type}/search", body, search=True) or {}

    def _incremental(self, cursor: dict, budget: list) -> Iterator[Page]:
        while cursor["phase"] == "tie":
            page = self._tie_page(cursor, budget)
            yield page
            if page.done:
                return
            cursor = page.cursor
        offset, window_start_ms = 0, cursor["ms"]
        while True:
            op = "GT" if cursor["strict"] else "GTE"
            reply = self._search([{"propertyName": self.modified, "operator": op, "value": str(cursor["ms"])}],
                                 self.modified, offset, SEARCH_LIMIT)
            fetched = [_record(r) for r in reply.get("results", [])]
            done_at = set(cursor["ids"])
            fresh = [r for r in fetched if not (r.updated_ms == cursor["ms"] and r.external_id in done_at)]
            fresh, cut = _take(fresh, budget)
            cursor = _advance(cursor, fresh)
            has_next = bool((reply.get("paging") or {}).get("next")) and not cut
            if not has_next:
                yield Page(fresh, cursor, skipped=len(fetched) - len(fresh), done=cut)
                if not cut:
                    yield from self._archived(cursor, budget)
                return
            offset += SEARCH_LIMIT
            if offset + SEARCH_LIMIT > SEARCH_CAP:
                if cursor["ms"] == window_start_ms:  # one instant filled a whole window: page it by id
                    cursor = {**cursor, "phase": "tie", "after_id": "0"}
                    yield Page(fresh, cursor, skipped=len(fetched) - len(fresh))
                    yield from self._incremental(cursor, budget)
                    return
                offset, window_start_ms = 0, cursor["ms"]
            yield Page(fresh, cursor, skipped=len(fetched) - len(fresh))

    def _tie_page(self, cursor: dict, budget: list) -> Page:
        filters = [{"propertyName": self.modified, "operator": "EQ", "value": str(cursor["ms"])},
                   {"propertyName": "hs_object_id", "operator": "GT", "value": cursor["after_id"]}]
        reply = self._search(filters, "hs_object_id", None, SEARCH_LIMIT)
        fetched = [_record(r) for r in reply.get("results", [])]
        done_at = set(cursor["ids"])
        fresh, cut = _take([r for r in fetched if r.external_id not in done_at], budget)
        last_id = fresh[-1].external_id if cut and fresh else (fetched[-1].external_id if fetched else cursor["after_id"])
        cursor = {**cursor, "after_id": last_id}  # ids ascend here: after_id alone marks progress
        if not fetched:  # the instant is exhausted: continue strictly after it
            cursor = {**cursor, "phase": "range", "strict": True, "ids": [], "after_id": "0"}
        return Page(fresh, cursor, skipped=len(fetched) - len(fresh), done=cut)

    def _archived(self, cursor: dict, budget: list) -> Iterator[Page]:
        """Records archived since the last run become archived leads (never silent deletes)."""
        after, newest = None, cursor["archived_ms"]
        while True:
            params = {"limit": LIST_LIMIT, "archived": "true", "properties": self.modified}
            if after:
                params["after"] = after
            reply = self.client.get(f"/crm/v3/objects/{self.object_type}", params) or {}
            records = [r for r in (_record(x) for x in reply.get("results", [])) if r.updated_ms > cursor["archived_ms"]]
            records, cut = _take(records, budget)
            newest = max([newest] + [r.updated_ms for r in records])
            after = ((reply.get("paging") or {}).get("next") or {}).get("after")
            final = not after or cut
            page_cursor = {**cursor, "archived_ms": newest} if final and not cut else cursor
            yield Page(records, page_cursor, done=cut)
            if final:
                return


def _advance(cursor: dict, records: list[SourceRecord]) -> dict:
    """Move the cursor past committed records (sorted ascending by modification time)."""
    ms, ids, strict = cursor["ms"], list(cursor["ids"]), cursor["strict"]
    for rec in records:
        if rec.updated_ms > ms:
            ms, ids, strict = rec.updated_ms, [rec.external_id], False
        elif rec.updated_ms == ms:
            ids.append(rec.external_id)
    return {**cursor, "ms": ms, "ids": ids, "strict": strict}


def _take(records: list[SourceRecord], budget: list) -> tuple[list[SourceRecord], bool]:
    """Apply the run's record limit (budget[0], None for none); return the records and whether it cut."""
    if budget[0] is None:
        return records, False
    taken = records[: budget[0]]
    budget[0] -= len(taken)
    return taken, budget[0] <= 0
