"""CRM search: filterGroups (ORed) of filters (ANDed), one sort, offset paging, the 10,000 cap."""
from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable
from typing import Any

from .records import KNOWN, Record, comparable, now_ms
from .store import Portal

MAX_GROUPS, MAX_FILTERS_PER_GROUP, MAX_FILTERS = 5, 6, 18
MAX_LIMIT, RESULT_CAP = 200, 10_000
OPERATORS = {"EQ", "NEQ", "LT", "LTE", "GT", "GTE", "BETWEEN", "IN", "NOT_IN", "HAS_PROPERTY",
             "NOT_HAS_PROPERTY", "CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"}


class SearchError(ValueError):
    """A request HubSpot would refuse with 400 VALIDATION_ERROR."""


def _match_token(haystack: str | None, pattern: str) -> bool:
    if haystack is None:
        return False
    tokens = haystack.lower().replace("@", " ").replace(".", " ").split() + [haystack.lower()]
    pattern = pattern.lower()
    if "*" in pattern:
        head, _, tail = pattern.partition("*")
        return any(t.startswith(head) and t.endswith(tail) for t in tokens)
    return pattern in tokens


def _test(rec: Record, object_type: str, f: dict) -> bool:
    name, op = f["propertyName"], f["operator"]
    raw = rec.value(name, object_type)
    if op == "HAS_PROPERTY":
        return raw not in (None, "")
    if op == "NOT_HAS_PROPERTY":
        return raw in (None, "")
    if op in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
        hit = _match_token(None if raw is None else str(raw), str(f.get("value", "")))
        return hit if op == "CONTAINS_TOKEN" else not hit
    value = comparable(name, raw)
    if op in ("IN", "NOT_IN"):
        wanted = {comparable(name, v) for v in f.get("values") or []}
        return (value in wanted) if op == "IN" else (value not in wanted)
    if op == "NEQ":
        return value != comparable(name, f.get("value"))
    if value is None:
        return False
    target = comparable(name, f.get("value"))
    if target is None:
        return False
    if op == "EQ":
        return value == target
    if op == "BETWEEN":
        high = comparable(name, f.get("highValue"))
        return high is not None and target <= value <= high
    return {"LT": value < target, "LTE": value <= target, "GT": value > target, "GTE": value >= target}[op]


def _validate(object_type: str, body: dict) -> tuple[list, tuple[str, bool], int, int]:
    groups = body.get("filterGroups") or []
    if not isinstance(groups, list) or len(groups) > MAX_GROUPS:
        raise SearchError(f"Too many filter groups: at most {MAX_GROUPS} are allowed.")
    total = 0
    for group in groups:
        filters = (group or {}).get("filters") or []
        if len(filters) > MAX_FILTERS_PER_GROUP:
            raise SearchError(f"Too many filters in a group: at most {MAX_FILTERS_PER_GROUP} are allowed.")
        total += len(filters)
        for f in filters:
            if f.get("operator") not in OPERATORS:
                raise SearchError(f"Unknown operator {f.get('operator')!r}.")
            if f.get("propertyName") not in KNOWN[object_type]:
                raise SearchError(f"Property {f.get('propertyName')!r} does not exist.")
    if total > MAX_FILTERS:
        raise SearchError(f"Too many filters: at most {MAX_FILTERS} in total.")
    sorts = body.get("sorts") or []
    if len(sorts) > 1:
        raise SearchError("Only one sort is supported.")
    sort = ("createdate", True)
    if sorts:
        s = sorts[0]
        if isinstance(s, str):  # the SDK types sorts as strings: "-prop" or "prop"
            sort = (s.lstrip("-"), not s.startswith("-"))
        else:
            sort = (s.get("propertyName"), str(s.get("direction", "ASCENDING")).upper() != "DESCENDING")
    try:
        limit = int(body.get("limit") or 10)
        after = int(body.get("after") or 0)
    except (TypeError, ValueError) as exc:
        raise SearchError("limit and after must be integers.") from exc
    if not 1 <= limit <= MAX_LIMIT:
        raise SearchError(f"limit must be between 1 and {MAX_LIMIT}.")
    if after < 0 or after + limit > RESULT_CAP:
        raise SearchError(f"Search results are capped at {RESULT_CAP}; page with a narrower filter instead.")
    return groups, sort, limit, after


def _key(rec: Record, object_type: str, prop: str) -> tuple:
    value = comparable(prop, rec.value(prop, object_type))
    return (value is None, value if value is not None else 0, rec.id)


def search(portal: Portal, object_type: str, body: dict) -> tuple[int, list[dict], int | None]:
    """Return (total, rendered page, next offset). Matches are cached per portal version so paging is
    cheap. The page is rendered under the portal's lock, like an index snapshot: a record changed
    while the reply is built never shows values newer than the position it was sorted at."""
    groups, (prop, ascending), limit, after = _validate(object_type, body)
    cache_key = (object_type, repr(groups), prop, ascending)
    with portal.lock:
        hit = portal._search_cache.get(cache_key)
        if hit is None or hit[0] != portal.version:
            matched = [r for r in _candidates(portal, object_type, groups) if not r.archived and (
                not groups or any(all(_test(r, object_type, f) for f in (g or {}).get("filters") or [])
                                  for g in groups))]
            matched.sort(key=lambda r: _key(r, object_type, prop), reverse=not ascending)
            if len(portal._search_cache) > 64:
                portal._search_cache.clear()
            portal._search_cache[cache_key] = hit = (portal.version, matched)
        matched = hit[1]
        now = now_ms()
        if portal.index_pending_until > now:  # some changes are not searchable yet
            matched = [r for r in matched if r.indexed_at <= now]
        if portal.shuffle_ties:
            matched = _shuffled_ties(matched, lambda r: _key(r, object_type, prop)[:2], portal)
        chosen = matched[after:after + limit]
        if portal.tear_replies and len(chosen) > 2:
            middle = chosen[len(chosen) // 2]
            portal.update(object_type, middle, {})  # a write with no new value: a newer modification time
            portal.torn.append(middle.id)
        page = [r.to_api(object_type, body.get("properties") or None) for r in chosen]
    if portal.after_search is not None:
        portal.after_search()
    nxt = after + limit if after + limit < len(matched) else None
    return len(matched), page, nxt


def _shuffled_ties(ordered: list[Record], key: Callable[[Record], tuple], portal: Portal) -> list[Record]:
    """`ordered` with each run of equal sort values in a new random order (the runs stay where they are)."""
    out: list[Record] = []
    i = 0
    while i < len(ordered):
        j, k = i + 1, key(ordered[i])
        while j < len(ordered) and key(ordered[j]) == k:
            j += 1
        run = ordered[i:j]
        portal._tie_rng.shuffle(run)
        out += run
        i = j
    return out


def _candidates(portal: Portal, object_type: str, groups: list) -> Iterable[Record]:
    """The records a search may match: with one filter group holding a range filter (an incremental
    sync's "modified since"), those whose value lies in the range, through a sorted index kept per
    portal version; otherwise all. Every candidate is still tested against every filter."""
    records = portal.records[object_type]
    if len(groups) != 1:
        return records.values()
    ranged = [f for f in (groups[0] or {}).get("filters") or [] if f.get("operator") in RANGED]
    if not ranged:
        return records.values()
    f = ranged[0]
    name = f["propertyName"]
    index = _index(portal, object_type, name)
    if index is None:
        return records.values()
    keys, ordered = index
    target = comparable(name, f.get("value"))
    high = comparable(name, f.get("highValue")) if f["operator"] == "BETWEEN" else target
    if target is None or high is None:  # never matches (see _test)
        return []
    try:
        lo, hi = {"GT": (bisect_right(keys, target), len(keys)), "GTE": (bisect_left(keys, target), len(keys)),
                  "LT": (0, bisect_left(keys, target)), "LTE": (0, bisect_right(keys, target)),
                  "EQ": (bisect_left(keys, target), bisect_right(keys, target)),
                  "BETWEEN": (bisect_left(keys, target), bisect_right(keys, high))}[f["operator"]]
    except TypeError:  # a value of another type than the property's: test every record
        return records.values()
    return ordered[lo:hi]


RANGED = {"EQ", "LT", "LTE", "GT", "GTE", "BETWEEN"}


def _index(portal: Portal, object_type: str, name: str) -> tuple[list, list[Record]] | None:
    """Records with a value for `name`, sorted by it (records without one never match a range)."""
    cache = portal._search_index
    hit = cache.get((object_type, name))
    if hit is not None and hit[0] == portal.version:
        return hit[1]
    pairs = [(v, r) for r in portal.records[object_type].values()
             if (v := comparable(name, r.value(name, object_type))) is not None]
    try:
        pairs.sort(key=lambda pair: pair[0])
    except TypeError:  # values of mixed types: no index
        cache[(object_type, name)] = (portal.version, None)
        return None
    index = ([v for v, _ in pairs], [r for _, r in pairs])
    cache[(object_type, name)] = (portal.version, index)
    return index


def parse_body(body: Any) -> dict:
    if not isinstance(body, dict):
        raise SearchError("The request body must be a JSON object.")
    return body
