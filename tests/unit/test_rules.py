"""Eligibility conditions, blackout windows and one process's call budget (HubSpot's headers read)."""
from __future__ import annotations

import time
from datetime import datetime

from console.connectors.budget import GUARD_S, LocalBudget, _Window
from console.connectors.hubspot.ratelimit import LANES, SEARCH, reading
from console.sync.inbound.eligibility import ineligible_reason, validate_conditions
from jobs.due import in_blackout


def test_each_eligibility_operator():
    props = {"lifecyclestage": "customer", "email": "", "country": "CA"}
    assert ineligible_reason(props, [{"field": "lifecyclestage", "op": "eq", "value": "customer"}]) is None
    assert ineligible_reason(props, [{"field": "lifecyclestage", "op": "neq", "value": "customer"}]) \
        == "lifecyclestage neq customer does not hold"
    assert ineligible_reason(props, [{"field": "country", "op": "in", "values": ["CA", "US"]}]) is None
    assert ineligible_reason(props, [{"field": "country", "op": "not_in", "values": ["CA"]}]) is not None
    assert ineligible_reason(props, [{"field": "email", "op": "present"}]) is not None
    assert ineligible_reason(props, [{"field": "phone", "op": "absent"}]) is None
    assert ineligible_reason(props, None) is None
    assert validate_conditions([{"field": "a", "op": "eq"}, {"op": "eq"}, {"field": "a", "op": "like"}, "x"]) \
        == [f"condition {i}: needs a field and an op among {sorted(['absent', 'eq', 'in', 'neq', 'not_in', 'present'])}"
            for i in (2, 3, 4)]


def test_blackout_windows_in_the_jobs_timezone_and_across_midnight():
    night = {"start": "22:00", "end": "06:00", "timezone": "America/Toronto"}
    # 03:30 UTC on 1 July is 23:30 in Toronto (EDT): inside, and it ends at 06:00 Toronto = 10:00 UTC
    assert in_blackout(night, datetime(2026, 7, 1, 3, 30)) == datetime(2026, 7, 1, 10, 0)
    assert in_blackout(night, datetime(2026, 7, 1, 15, 0)) is None  # 11:00 in Toronto
    lunch = {"start": "12:00", "end": "13:00"}  # UTC when no timezone is given
    assert in_blackout(lunch, datetime(2026, 1, 5, 12, 59)) == datetime(2026, 1, 5, 13, 0)
    assert in_blackout(lunch, datetime(2026, 1, 5, 13, 0)) is None
    assert in_blackout(None, datetime(2026, 1, 5, 12, 30)) is None


def test_the_window_counts_sends_and_frees_as_they_age():
    win = _Window(3, 10.0)
    win.sent.extend([100.0, 101.0, 102.0])
    assert win.wait_time(103.0) == 100.0 + 10.0 + GUARD_S - 103.0  # full: wait for the oldest to age out
    assert win.wait_time(110.0 + GUARD_S + 0.001) == 0.0 and list(win.sent) == [101.0, 102.0]
    assert _Window(None, 10.0).wait_time(0.0) == 0.0  # no limit learned yet: none assumed


def test_the_limiter_learns_from_hubspots_headers():
    lim = LocalBudget()
    lim.observe(reading({"X-HubSpot-RateLimit-Max": "190", "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
                 "X-HubSpot-RateLimit-Remaining": "150", "X-HubSpot-RateLimit-Daily": "1000000",
                 "X-HubSpot-RateLimit-Daily-Remaining": "999000"}))
    assert (lim.window.limit, lim.window.seconds, lim.daily_limit, lim.daily_remaining) == (190, 10.0, 1_000_000, 999_000)
    assert reading({"X-HubSpot-RateLimit-Max": "many"}).per_window is None  # unreadable: says nothing
    lim.observe(reading({"X-HubSpot-RateLimit-Remaining": "0"}))  # another process used the window up
    assert len(lim.window.sent) == 190 and lim.window.wait_time(time.monotonic()) > 9.0
    assert 0.5 <= lim.backoff_after_429() <= 10.0


def test_acquire_waits_for_the_window():
    lim = LocalBudget(per_window=2, window_s=0.3)
    started = time.monotonic()
    for _ in range(5):  # 2 now, 2 after one window, 1 after two
        lim.acquire()
    assert time.monotonic() - started >= 2 * (0.3 + GUARD_S) - 0.01 and lim.waited_s > 0
    search = LocalBudget(lanes=LANES)
    started = time.monotonic()
    for _ in range(6):
        search.acquire(SEARCH)
    assert time.monotonic() - started >= 1.0


def test_a_shared_budgets_slots_never_overfill_a_window():
    """Random processes asking at random moments: every window of the span holds at most what is allowed,
    a burst goes at once while there is room, and a busy lane is used to the allowed rate."""
    import random

    from console.sync.send_log import GUARD_MS, take_slot, window_rule

    allowed, window_ms = window_rule(100, 10.0)  # HubSpot's starter window: 99 calls in each 10.1 s
    span = (window_ms + GUARD_MS) / 1000
    rng, log, slots, now = random.Random(4), [], [], 1_000.0
    for _ in range(3000):
        now += rng.expovariate(40)  # asked far faster than the window allows
        slot, log = take_slot(log, now, 0.0, allowed, window_ms)
        slots.append(slot)
    assert slots == sorted(slots) and slots[allowed - 1] - slots[0] < 3  # the first window's calls in a burst
    assert min(b - a for a, b in zip(slots, slots[1:])) >= span / allowed / 4 - 1e-9  # ... at 4x the rate
    assert all(slots[i + allowed] - slots[i] >= span - 1e-9 for i in range(len(slots) - allowed))
    windows = (len(slots) - 1) // allowed  # whole windows of calls
    rate = allowed * windows / (slots[allowed * windows] - slots[0])
    assert rate >= 0.97 * 100 / 10.0  # at least 97 % of HubSpot's window, sustained
    assert take_slot([], 5.0, 7.5, allowed, window_ms)[0] == 7.5  # a hold (a 429) comes first
    # No limit known yet: nothing waits, and the calls are logged for the first window learned to count.
    assert take_slot([1.0, 2.0], 3.0, 0.0, None, None) == (3.0, [1.0, 2.0, 3.0])
    assert take_slot([1.0, 2.0], 70.0, 0.0, None, None) == (70.0, [70.0])  # a minute on: forgotten
    # A block of ten (one reservation for ten calls while nothing needs pacing) logs ten; the log stays 100.
    assert take_slot([1.0], 3.0, 0.0, None, None, block=10) == (3.0, [1.0, *[3.0] * 10])
    assert take_slot([2.0] * 100, 3.0, 0.0, None, None, block=10)[1] == [2.0] * 90 + [3.0] * 10


def test_a_shared_budget_reserves_ten_calls_at_a_time_only_while_no_limit_is_known(tmp_path):
    """No limit known (no pacing to do): one row lock per ten calls, every call still logged; once the
    provider names its window, or a 429 holds the lane, each call takes its own slot again."""
    import sqlalchemy as sa

    from console.connectors.budget import RateReading
    from console.sync.budget import SharedBudget, _engine, budgets, dispose
    from console.sync.send_log import parse

    engine = _engine(f"sqlite:///{tmp_path}/budget.db")
    statements: list[str] = []
    sa.event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    budget = SharedBudget(engine, "portal-1", {})

    def logged() -> int:
        with engine.connect() as conn:
            return len(parse(conn.scalar(budgets.select().with_only_columns(budgets.c.sent))))

    budget.acquire()  # the first call makes the lane's row (one at a time: no answer has said anything yet)
    budget.observe(RateReading())  # its answer names no limit
    statements.clear()
    for _ in range(24):
        budget.acquire()
    locks = sum(s.startswith("UPDATE") and "SET held_until" in s for s in statements)
    assert (locks, logged()) == (3, 31)  # the first call, then blocks of ten: 25 calls sent, 31 logged
    budget.observe(RateReading(per_window=100, window_s=10.0, remaining=90))
    statements.clear()
    for _ in range(3):
        budget.acquire()
    assert sum(s.startswith("UPDATE") and "SET held_until" in s for s in statements) == 3  # one per call
    dispose()
