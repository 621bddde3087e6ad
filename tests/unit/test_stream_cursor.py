"""The incremental cursor driven over synthetic pages: ties at page edges, one instant wider than a page,
records edited and archived while the run pages, record limits that cut inside pages.

The provider here is a small in-memory imitation of HubSpot's list and search (offset paging, the
10,000 cap, one sort) that orders ties *randomly* on every query, as HubSpot does not promise an order
among equal values. The consumer keeps the newest version of each record it is given, like the writer.
After the runs, what it holds must equal the provider's active records at their current versions."""
from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from console.connectors.hubspot.streams import HubSpotStream, now_ms


class FakeHubSpot:
    def __init__(self, n: int, seed: int = 1, instants: int | None = None) -> None:
        self.rng = random.Random(seed)
        spread = instants or n
        base = now_ms() - 86_400_000  # records last modified a day ago; the clock then runs with real time
        self.records = {str(10_000 + i): {"ms": base + self.rng.randrange(spread), "archived": False, "v": 0}
                        for i in range(n)}
        self.clock = base + spread + 1
        self.after_search: Callable[[], None] | None = None
        self.searches = 0
        self.tear = False  # edit a record of each reply after sorting, before rendering it
        self.torn: list[str] = []

    def tick(self) -> int:
        self.clock = max(self.clock + 1, now_ms())
        return self.clock

    def edit(self, rid: str, same_ms: int | None = None) -> None:
        rec = self.records[rid]
        rec["ms"], rec["v"], rec["archived"] = same_ms or self.tick(), rec["v"] + 1, False

    def archive(self, rid: str) -> None:
        rec = self.records[rid]
        rec["ms"], rec["archived"] = self.tick(), True

    def _api(self, rid: str) -> dict:
        rec = self.records[rid]
        out = {"id": rid, "properties": {"lastmodifieddate": str(rec["ms"]), "v": str(rec["v"])},
               "updatedAt": None, "archived": rec["archived"]}
        if rec["archived"]:
            out["archivedAt"] = str(rec["ms"])
        return out

    def get(self, path: str, params: dict | None = None):
        params = params or {}
        archived = params.get("archived") == "true"
        ids = sorted((r for r, v in self.records.items() if v["archived"] == archived), key=int)
        after = int(params.get("after") or 0)
        ids = [r for r in ids if int(r) > after]
        page = ids[: int(params["limit"])]
        body = {"results": [self._api(r) for r in page]}
        if len(ids) > len(page):
            body["paging"] = {"next": {"after": page[-1]}}
        return body

    def post(self, path: str, body: dict, search: bool = False):
        if path.endswith("/batch/read"):
            return {"results": [self._api(i["id"]) for i in body["inputs"]
                                if i["id"] in self.records and not self.records[i["id"]]["archived"]]}
        self.searches += 1
        after, limit = int(body.get("after") or 0), body["limit"]
        assert after + limit <= 10_000, "search paged past HubSpot's 10,000 cap"
        rows = [(rid, v) for rid, v in self.records.items() if not v["archived"]]
        for f in body["filterGroups"][0]["filters"]:
            key = (lambda r, v: v["ms"]) if f["propertyName"] == "lastmodifieddate" else (lambda r, v: int(r))
            target = int(f["value"])
            test = {"GT": lambda x, t=target: x > t, "GTE": lambda x, t=target: x >= t,
                    "EQ": lambda x, t=target: x == t}[f["operator"]]
            rows = [(r, v) for r, v in rows if test(key(r, v))]
        sort = body["sorts"][0]["propertyName"]
        self.rng.shuffle(rows)  # ties come back in any order
        rows.sort(key=(lambda rv: rv[1]["ms"]) if sort == "lastmodifieddate" else (lambda rv: int(rv[0])))
        page = rows[after:after + limit]
        if self.tear and len(page) > 2:
            self.edit(page[len(page) // 2][0])  # shown with a time newer than its place in the order
            self.torn.append(page[len(page) // 2][0])
        reply = {"total": len(rows), "results": [self._api(r) for r, _ in page]}
        if after + limit < len(rows):
            reply["paging"] = {"next": {"after": str(after + limit)}}
        if self.after_search:
            self.after_search()
        return reply


class Holder:
    """What the console would hold: the newest version of each record, and the committed cursor."""

    def __init__(self) -> None:
        self.held: dict[str, tuple[int, bool, str]] = {}
        self.cursor: dict | None = None
        self.read = 0

    def run(self, fake: FakeHubSpot, limit: int | None = None, lookback_ms: int = 0) -> None:
        stream = HubSpotStream(fake, "contacts", ["v"], lookback_ms=lookback_ms)
        for page in stream.pages(self.cursor, limit):
            for rec in page.records:
                self.read += 1
                old = self.held.get(rec.external_id)
                if old is None or (rec.updated_ms, rec.archived) > old[:2]:
                    self.held[rec.external_id] = (rec.updated_ms, rec.archived, rec.properties.get("v", ""))
            self.cursor = page.cursor

    def differences(self, fake: FakeHubSpot) -> list[str]:
        want = {r: v for r, v in fake.records.items() if not v["archived"]}
        have = {r: h for r, h in self.held.items() if not h[1]}
        wrong = [r for r in want if r not in have or have[r][0] != want[r]["ms"]]
        extra = [r for r in have if r not in want]
        return sorted(wrong + extra)


def test_backfill_then_ties_across_page_edges():
    fake = FakeHubSpot(3_000, instants=40)  # ~75 records per instant: every page edge cuts a tie
    holder = Holder()
    holder.run(fake)
    assert holder.differences(fake) == []
    stamp = fake.tick()
    for rid in fake.rng.sample(sorted(fake.records), 900):  # 900 edits over 30 instants
        fake.edit(rid, same_ms=stamp + int(rid) % 30)
    fake.clock = stamp + 40
    holder.run(fake)
    assert holder.differences(fake) == []
    assert holder.cursor["mode"] == "incremental"


def test_one_instant_wider_than_a_window_is_paged_by_id():
    fake = FakeHubSpot(100)
    holder = Holder()
    holder.run(fake)
    stamp = fake.tick()
    for rid in list(fake.records)[:10]:
        fake.edit(rid)  # changes before the shared instant
    fake.records.update({str(50_000 + i): {"ms": stamp + 20, "archived": False, "v": 1} for i in range(12_345)})
    fake.clock = stamp + 30
    before = holder.read
    holder.run(fake)
    assert holder.differences(fake) == []
    assert holder.read - before == 12_355  # each change read once: ties are paged by id, not re-read
    searches = fake.searches
    holder.run(fake)  # strictly after the instant: nothing to read, one search
    assert holder.read - before == 12_355 and fake.searches - searches == 1


@pytest.mark.parametrize("seed", [3, 4, 5])
def test_records_edited_and_archived_while_the_run_pages(seed):
    fake = FakeHubSpot(2_000, seed=seed, instants=500)
    holder = Holder()
    holder.run(fake)
    for rid in fake.rng.sample(sorted(fake.records), 1_500):
        fake.edit(rid)
    rng = random.Random(seed)

    def churn() -> None:  # while the run pages: edit some records, archive a few
        active = [r for r, v in fake.records.items() if not v["archived"]]
        for rid in rng.sample(active, 7):
            fake.edit(rid)
        for rid in rng.sample(active, 2):
            fake.archive(rid)

    fake.after_search = churn
    holder.run(fake)
    fake.after_search = None
    holder.run(fake)  # the changes made during the last pages of the previous run
    assert holder.differences(fake) == []


def test_a_record_limit_resumes_exactly_where_it_cut():
    fake = FakeHubSpot(950, instants=30)
    holder = Holder()
    runs = 0
    while holder.cursor is None or holder.cursor["mode"] == "backfill":
        holder.run(fake, limit=37)  # cuts inside list pages of 100
        runs += 1
    assert holder.read == 950 and runs == 26 and holder.differences(fake) == []
    stamp = fake.tick()
    for rid in sorted(fake.records)[:400]:
        fake.edit(rid, same_ms=stamp)  # one instant over two search pages
    fake.clock = stamp + 10
    before = holder.read
    for _ in range(11):
        holder.run(fake, limit=37)
    assert holder.read - before == 400 and holder.differences(fake) == []


def test_the_backfill_hands_over_its_start_so_edits_during_it_are_read():
    fake = FakeHubSpot(600, instants=600)
    holder = Holder()
    stream = HubSpotStream(fake, "contacts", ["v"], lookback_ms=0)
    edited = False
    for page in stream.pages(None):
        for rec in page.records:
            holder.held[rec.external_id] = (rec.updated_ms, rec.archived, "")
        holder.cursor = page.cursor
        if not edited:  # a record already listed changes while the backfill pages on
            fake.edit(page.records[0].external_id)
            edited = True
    assert holder.differences(fake) == []


def test_a_reply_torn_by_an_edit_mid_reply_skips_nothing():
    """A record edited while the reply is built shows a time newer than its place: the position follows
    the reply's last record, so the records between are still read (the edited one again later)."""
    fake = FakeHubSpot(1_500, instants=1_500)
    holder = Holder()
    holder.run(fake)
    for rid in sorted(fake.records)[:1_200]:
        fake.edit(rid)
    fake.tear = True
    holder.run(fake)
    fake.tear = False
    # Every record was read in that run; only those edited while it read may wait for the next one.
    assert fake.torn and set(holder.differences(fake)) <= set(fake.torn)
    holder.run(fake)
    assert holder.differences(fake) == []
