"""The incremental cursor against the sandbox over HTTP: ties at page edges, one instant wider than a search
window, records edited and archived while the run pages, record limits that cut inside pages, a reply torn by
a write landing mid-reply.

The sandbox orders ties anew on every search (`shuffle_ties`: HubSpot promises no order among equal values)
and caps search at 10,000 results. The consumer keeps the newest version of each record it is given, like the
writer. After the runs, what it holds must equal the portal's active records at their current versions."""
from __future__ import annotations

import random
from collections.abc import Iterator

import pytest

from console.connectors.hubspot.session import open_session
from console.connectors.hubspot.streams import HubSpotStream, now_ms
from console.sandbox import SandboxConfig, SandboxServer
from console.sandbox.records import Record

FAST = {"backoff_base": 0.01, "timeout": 5.0}


class World:
    """A sandbox portal whose `n` contacts were last modified a day ago, on `instants` distinct instants."""

    def __init__(self, server: SandboxServer, seed: int, instants: int | None = None) -> None:
        self.server, self.portal, self.rng = server, server.state.portal, random.Random(seed)
        records = self.portal.all_active("contacts")
        spread = instants or len(records)
        base = now_ms() - 86_400_000
        with self.portal.lock:
            for rec in records:
                rec.updated = base + self.rng.randrange(spread)
            self.portal.version += 1
            self.portal.shuffle_ties = True
        self.clock = base + spread + 1
        self.session = open_session(server.url, {"token": server.token}, limiter_key=f"cursor-{seed}", **FAST)

    def ids(self) -> list[str]:
        return sorted((str(r.id) for r in self.portal.all_active("contacts")), key=int)

    def record(self, rid: str) -> Record:
        rec = self.portal.get("contacts", rid, include_archived=True)
        assert rec is not None
        return rec

    def tick(self) -> int:
        self.clock = max(self.clock + 1, now_ms())
        return self.clock

    def edit(self, rid: str, same_ms: int | None = None) -> None:
        self.portal.update("contacts", self.record(rid), {"firstname": f"v{self.rng.random()}"},
                           at=same_ms or self.tick())

    def archive(self, rid: str) -> None:
        self.portal.archive("contacts", self.record(rid), at=self.tick())

    def add(self, count: int, at: int) -> None:
        for i in range(count):
            self.portal.create("contacts", {"email": f"tie{i}@example.com"}, at=at)

    def searches(self) -> int:
        return self.server.state.requests[("POST", "/crm/v3/objects/contacts/search")]


class Holder:
    """What the console would hold: the newest version of each record, and the committed cursor."""

    def __init__(self) -> None:
        self.held: dict[str, tuple[int, bool]] = {}
        self.cursor: dict | None = None
        self.read = 0

    def stream(self, world: World, lookback_ms: int = 0) -> HubSpotStream:
        return HubSpotStream(world.session.client, "contacts", ["firstname"], lookback_ms=lookback_ms)

    def keep(self, pages: Iterator) -> None:
        for page in pages:
            for rec in page.records:
                self.read += 1
                old = self.held.get(rec.external_id)
                if old is None or (rec.updated_ms, rec.archived) > old:
                    self.held[rec.external_id] = (rec.updated_ms, rec.archived)
            self.cursor = page.cursor

    def run(self, world: World, limit: int | None = None) -> None:
        self.keep(self.stream(world).pages(self.cursor, limit))

    def differences(self, world: World) -> list[str]:
        want = {str(r.id): r.updated for r in world.portal.all_active("contacts")}
        have = {r: h for r, h in self.held.items() if not h[1]}
        wrong = [r for r in want if r not in have or have[r][0] != want[r]]
        extra = [r for r in have if r not in want]
        return sorted(wrong + extra)


def _world(contacts: int, seed: int = 1, instants: int | None = None):
    server = SandboxServer(SandboxConfig(contacts=contacts, deals=1, companies=1, seed=seed, limits=False)).start()
    return server, World(server, seed, instants)


@pytest.fixture
def worlds():
    started = []

    def make(contacts: int, seed: int = 1, instants: int | None = None) -> World:
        server, world = _world(contacts, seed, instants)
        started.append(server)
        return world
    yield make
    for server in started:
        server.stop()


def test_backfill_then_ties_across_page_edges(worlds):
    world = worlds(3_000, instants=40)  # ~75 records per instant: every page edge cuts a tie
    holder = Holder()
    holder.run(world)
    assert holder.differences(world) == []
    stamp = world.tick()
    for rid in world.rng.sample(world.ids(), 900):  # 900 edits over 30 instants
        world.edit(rid, same_ms=stamp + int(rid) % 30)
    world.clock = stamp + 40
    holder.run(world)
    assert holder.differences(world) == []
    assert holder.cursor is not None and holder.cursor["mode"] == "incremental"


def test_one_instant_wider_than_a_window_is_paged_by_id(worlds):
    world = worlds(100)
    holder = Holder()
    holder.run(world)
    stamp = world.tick()
    for rid in world.ids()[:10]:
        world.edit(rid)  # changes before the shared instant
    world.add(12_345, at=stamp + 20)  # more records at one instant than search ever returns (10,000)
    world.clock = stamp + 30
    before = holder.read
    holder.run(world)
    assert holder.differences(world) == []
    assert holder.read - before == 12_355  # each change read once: ties are paged by id, not re-read
    searches = world.searches()
    holder.run(world)  # strictly after the instant: nothing to read, one search
    assert holder.read - before == 12_355 and world.searches() - searches == 1


@pytest.mark.parametrize("seed", [3, 4])
def test_records_edited_and_archived_while_the_run_pages(worlds, seed):
    world = worlds(2_000, seed=seed, instants=500)
    holder = Holder()
    holder.run(world)
    for rid in world.rng.sample(world.ids(), 1_500):
        world.edit(rid)
    rng = random.Random(seed)

    def churn() -> None:  # while the run pages: edit some records, archive a few
        active = world.ids()
        for rid in rng.sample(active, 7):
            world.edit(rid)
        for rid in rng.sample(active, 2):
            world.archive(rid)

    world.portal.after_search = churn
    holder.run(world)
    world.portal.after_search = None
    holder.run(world)  # the changes made during the last pages of the previous run
    assert holder.differences(world) == []


def test_a_record_limit_resumes_exactly_where_it_cut(worlds):
    world = worlds(950, instants=30)
    holder = Holder()
    runs = 0
    while holder.cursor is None or holder.cursor["mode"] == "backfill":
        holder.run(world, limit=37)  # cuts inside list pages of 100
        runs += 1
    assert holder.read == 950 and runs == 26 and holder.differences(world) == []
    stamp = world.tick()
    for rid in world.ids()[:400]:
        world.edit(rid, same_ms=stamp)  # one instant over two search pages
    world.clock = stamp + 10
    before = holder.read
    for _ in range(11):
        holder.run(world, limit=37)
    assert holder.read - before == 400 and holder.differences(world) == []


def test_the_backfill_hands_over_its_start_so_edits_during_it_are_read(worlds):
    world = worlds(600, instants=600)
    holder = Holder()
    edited = False
    for page in holder.stream(world).pages(None):
        holder.keep([page])
        if not edited:  # a record already listed changes while the backfill pages on
            world.edit(page.records[0].external_id)
            edited = True
    assert holder.differences(world) == []


def test_a_reply_torn_by_an_edit_mid_reply_skips_nothing(worlds):
    """A record edited while the reply is built shows a time newer than its place: the position follows
    the reply's last record, so the records between are still read (the edited one again later)."""
    world = worlds(1_500, instants=1_500)
    holder = Holder()
    holder.run(world)
    for rid in world.ids()[:1_200]:
        world.edit(rid)
    world.portal.tear_replies = True
    holder.run(world)
    world.portal.tear_replies = False
    torn = {str(i) for i in world.portal.torn}
    # Every record was read in that run; only those edited while it read may wait for the next one.
    assert torn and set(holder.differences(world)) <= torn
    holder.run(world)
    assert holder.differences(world) == []
