"""The sandbox portal's records: an in-memory store with HubSpot's list, batch and search semantics."""
from __future__ import annotations

import random
import threading
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import data, seed_more
from .records import FIRST_ID, Record, change_source, coerce, now_ms
from .schema import CUSTOM, PROPERTIES, unique_property


@dataclass(frozen=True)
class Counts:
    """How many of the other objects a portal is seeded with (tickets: a tenth of the contacts by default)."""

    products: int = 8
    tickets: int | None = None
    bookings: int = 200


class Portal:
    """All records of one sandbox portal. Every mutation bumps `version` and emits change events."""

    def __init__(self, seed: int = 42, contacts: int = 500, deals: int = 200, companies: int | None = None,
                 portal_id: int = 62515, spread_ties: bool = False, more: Counts | None = None) -> None:
        self.seed, self.portal_id = seed, portal_id
        self.lock = threading.RLock()
        self.version = 0
        self.records: dict[str, dict[int, Record]] = {t: {} for t in PROPERTIES}
        self.ids: dict[str, list[int]] = {t: [] for t in PROPERTIES}
        self.next_id = dict(FIRST_ID)
        self.contact_company: dict[int, int] = {}
        self.deal_contacts: dict[int, list[int]] = {}
        self.deal_companies: dict[int, list[int]] = {}
        # the other pairs' associations, many to many, in their stored direction (links.EDGE_PAIRS)
        self.edges: dict[tuple[str, str], dict[int, list[int]]] = {}
        # (from type, to type, from id, to id) -> label type ids (USER_DEFINED) on that association
        self.labelled: dict[tuple[str, str, int, int], set[int]] = {}
        self.listeners: list = []  # callables(event_dict) for webhook subscriptions
        self.association_listeners: list = []  # callables(from type, id, to type, id, removed, ms): sandbox/links.py
        self._search_cache: dict = {}
        self._search_index: dict = {}  # (object type, property) -> (version, sorted values and records)
        # (object type, unique property) -> lower-cased value -> the record holding it (the oldest, as a scan
        # in id order finds it), built at the first lookup and kept up to date by every write.
        self._unique: dict[tuple[str, str], dict[str, Record]] = {}
        # Search is eventually consistent: each change reaches the index after a random delay of up to
        # `search_lag_ms`; until then search does not return the record (list and batch read do).
        self.search_lag_ms = 0
        self.index_pending_until = 0
        # HubSpot promises no order among records whose sort values are equal: with `shuffle_ties`, each
        # search orders them anew (offset paging then cuts ties differently from one page to the next).
        self.shuffle_ties = False
        # `tear_replies`: one record of each search reply is changed after the reply was sorted and before it
        # was rendered, so it shows a time newer than its place in the order (a write landing mid-reply).
        self.tear_replies = False
        self.torn: list[int] = []
        # Called after every search reply, in the sandbox's request thread (tests change records while a
        # run pages). In-process only: nothing over HTTP sets it.
        self.after_search: Callable[[], None] | None = None
        self._tie_rng = random.Random(seed ^ 0x7135)
        self._index_rng = random.Random(seed)
        self._seed(contacts, deals, companies if companies is not None else max(5, contacts // 20))
        self._seed_more(more or Counts())
        if spread_ties:
            self._spread_ties()

    # ---- generation -------------------------------------------------------------------------
    def _seed(self, n_contacts: int, n_deals: int, n_companies: int) -> None:
        rng = random.Random(self.seed)
        for n in range(n_companies):
            self._insert("companies", *data.company(rng, n))
        companies = self.ids["companies"]
        names = [self.records["companies"][c].props["name"] for c in companies]
        for n in range(n_contacts):
            rec = self._insert("contacts", *data.contact(rng, n, names))
            if n > 10 and rng.random() < 0.02:  # the same person entered twice, as in real portals
                twin = self.records["contacts"][self.ids["contacts"][rng.randrange(n)]]
                if "email" in twin.props:
                    rec.props["email"] = rng.choice([twin.props["email"], twin.props["email"].upper()])
            if companies and rng.random() < 0.8:
                idx = rng.randrange(len(companies))
                self.contact_company[rec.id] = companies[idx]
                rec.props["company"] = names[idx]
        contacts = self.ids["contacts"]
        links = random.Random(self.seed ^ 0xA550)
        for n in range(n_deals):
            rec = self._insert("deals", *data.deal(rng, n))
            if contacts:
                self.deal_contacts[rec.id] = [rng.choice(contacts) for _ in range(rng.choice([1, 1, 1, 2]))]
            self._seed_links(links, rec.id, companies)
        for contact, company in self.contact_company.items():
            if links.random() < 0.1:
                self.labelled[("contacts", "companies", contact, company)] = {links.choice([1, 2])}

    def _seed_more(self, counts: Counts) -> None:
        """Products, line items on a share of the deals, tickets of contacts (some with their company), and
        bookings of contacts (labelled: the primary booker, guests), from generators of their own."""
        rng = random.Random(self.seed ^ 0xB00C)
        for n in range(counts.products):
            self._insert("products", *seed_more.product(rng, n))
        products = [self.records["products"][p] for p in self.ids["products"]]
        edge = self.edges.setdefault
        for deal in list(self.ids["deals"]) if products else []:
            for _ in range(rng.choice([0, 1, 1, 2, 3])):
                item = rng.choice(products)
                rec = self._insert("line_items", *seed_more.line_item(rng, item.id, item.props))
                edge(("line_items", "deals"), {})[rec.id] = [deal]
        contacts = self.ids["contacts"]
        tickets = counts.tickets if counts.tickets is not None else len(contacts) // 10
        for n in range(tickets if contacts else 0):
            rec = self._insert("tickets", *seed_more.ticket(rng, n))
            contact = rng.choice(contacts)
            edge(("tickets", "contacts"), {})[rec.id] = [contact]
            if contact in self.contact_company:
                edge(("tickets", "companies"), {})[rec.id] = [self.contact_company[contact]]
        for n in range(counts.bookings):
            rec = self._insert(CUSTOM, *seed_more.booking(rng, n))
            if contacts:
                guests = list(dict.fromkeys(rng.choice(contacts) for _ in range(rng.choice([1, 1, 2, 3]))))
                edge((CUSTOM, "contacts"), {})[rec.id] = guests
                self.labelled[(CUSTOM, "contacts", rec.id, guests[0])] = {7}
                for guest in guests[1:]:
                    self.labelled[(CUSTOM, "contacts", rec.id, guest)] = {8}

    def _seed_links(self, rng: random.Random, deal: int, companies: list[int]) -> None:
        """Many to many, some labelled: a deal with one or two companies; labels on a share of its contacts
        and companies (a generator of its own, so the records are the ones every earlier seed made)."""
        if companies and rng.random() < 0.7:
            self.deal_companies[deal] = list(dict.fromkeys(rng.choice(companies) for _ in range(rng.choice([1, 1, 2]))))
            for company in self.deal_companies[deal]:
                if rng.random() < 0.3:
                    self.labelled[("deals", "companies", deal, company)] = {rng.choice([5, 6])}
        for contact in self.deal_contacts.get(deal, []):
            if rng.random() < 0.2:
                self.labelled[("deals", "contacts", deal, contact)] = {rng.choice([3, 4])}

    def _spread_ties(self) -> None:
        """Records the seed clamped to its newest instant get distinct times in the hour before it (from a
        generator of their own, so every other seeded value stays as the seed makes it)."""
        rng = random.Random(self.seed ^ 0x5EED)
        for records in self.records.values():
            for rec in records.values():
                if rec.updated == data.BASE_MS:
                    rec.updated = data.BASE_MS - rng.randint(1, 3_600_000)

    def _insert(self, object_type: str, props: dict, created: int, modified: int) -> Record:
        rid = self.next_id[object_type]
        self.next_id[object_type] += 1
        rec = Record(rid, props, created, modified)
        self.records[object_type][rid] = rec
        self.ids[object_type].append(rid)
        return rec

    # ---- reads ------------------------------------------------------------------------------
    def get(self, object_type: str, rid: Any, id_property: str | None = None,
            include_archived: bool = False) -> Record | None:
        if id_property and id_property != "hs_object_id":
            return self.find_by(object_type, id_property, rid)
        try:
            rec = self.records[object_type].get(int(rid))
        except (TypeError, ValueError):
            return None
        if rec is None or (rec.archived and not include_archived):
            return None
        return rec

    def find_by(self, object_type: str, prop: str, value: Any) -> Record | None:
        wanted = str(value).strip().lower()
        if unique_property(object_type, prop):
            with self.lock:
                return self._unique_index(object_type, prop).get(wanted)
        for rec in self.records[object_type].values():
            if not rec.archived and str(rec.props.get(prop, "")).strip().lower() == wanted:
                return rec
        return None

    def _unique_index(self, object_type: str, prop: str) -> dict[str, Record]:
        index = self._unique.get((object_type, prop))
        if index is None:
            index = {}
            for rec in self.records[object_type].values():
                if not rec.archived and rec.props.get(prop) not in (None, ""):
                    index.setdefault(str(rec.props[prop]).strip().lower(), rec)
            self._unique[(object_type, prop)] = index
        return index

    def _reindex(self, object_type: str, rec: Record, before: dict) -> None:
        """Keep the unique-value indexes right after `rec` changed from `before` (its old properties)."""
        for (t, prop), index in list(self._unique.items()):
            if t != object_type:
                continue
            old, new = before.get(prop), None if rec.archived else rec.props.get(prop)
            if old == new:
                continue
            if old not in (None, "") and index.get(str(old).strip().lower()) is rec:
                del self._unique[(t, prop)]  # another record may hold the old value too: rebuilt on next use
                continue
            if new not in (None, ""):
                holder = index.get(key := str(new).strip().lower())
                if holder is None or holder.id > rec.id:
                    index[key] = rec

    def page(self, object_type: str, after: int, limit: int, archived: bool) -> tuple[list[Record], int | None]:
        """Records in id order after the id `after`; returns the page and the next cursor id."""
        ids = self.ids[object_type]
        start = bisect_right(ids, after)
        found: list[Record] = []
        records = self.records[object_type]
        i = start
        while i < len(ids) and len(found) < limit:
            rec = records[ids[i]]
            if rec.archived == archived:
                found.append(rec)
            i += 1
        more = any(records[ids[j]].archived == archived for j in range(i, len(ids))) \
            if i < len(ids) else False
        return found, (found[-1].id if found and more else None)

    # ---- writes -----------------------------------------------------------------------------
    def _touch(self, object_type: str, rec: Record, changed: dict, event: str, at: int | None = None,
               before: dict | None = None) -> None:
        rec.updated = max(at or now_ms(), rec.updated)
        if self.search_lag_ms:
            rec.indexed_at = now_ms() + self._index_rng.randint(0, self.search_lag_ms)
            self.index_pending_until = max(self.index_pending_until, rec.indexed_at)
        self.version += 1
        if self._unique:
            self._reindex(object_type, rec, before or {})
        source = change_source()
        for listener in self.listeners:
            listener(object_type, rec, event, changed, rec.updated, source)

    def create(self, object_type: str, props: dict, at: int | None = None) -> Record:
        with self.lock:
            ts = at or now_ms()
            rec = self._insert(object_type, coerce(props), ts, ts)
            self._touch(object_type, rec, rec.props, "creation", ts)
            return rec

    def update(self, object_type: str, rec: Record, props: dict, at: int | None = None) -> Record:
        with self.lock:
            changed: dict[str, Any] = {}
            before = dict(rec.props)
            for key, value in coerce(props).items():
                if value in (None, ""):
                    if rec.props.pop(key, None) is not None:
                        changed[key] = None
                elif rec.props.get(key) != value:
                    rec.props[key] = value
                    changed[key] = value
            self._touch(object_type, rec, changed, "propertyChange", at, before)
            return rec

    def archive(self, object_type: str, rec: Record, at: int | None = None) -> None:
        with self.lock:
            if rec.archived:
                return
            rec.archived, rec.archived_at = True, at or now_ms()
            self._touch(object_type, rec, {}, "deletion", rec.archived_at, rec.props)

    def flush_index(self) -> int:
        """Make every pending change searchable now; returns how many were waiting."""
        with self.lock:
            now, waiting = now_ms(), 0
            for records in self.records.values():
                for rec in records.values():
                    if rec.indexed_at > now:
                        rec.indexed_at, waiting = 0, waiting + 1
            self.index_pending_until = 0
            return waiting

    def all_active(self, object_type: str) -> list[Record]:
        return [r for r in self.records[object_type].values() if not r.archived]
