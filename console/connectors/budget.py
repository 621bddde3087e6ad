"""A provider account's call budget: when the next call may go, learned from the provider's answers.

Providers count calls per account (HubSpot: per app per portal), not per process, so the budget every
sync, push, webhook batch, reconcile and test batch of one account draws from must be one. The engine
keeps it in the database (console/sync/budget.py) for a fleet; `LocalBudget` here keeps it in one
process's memory, where there is no database to share it through (an in-memory SQLite, a script).
"""
from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

GUARD_S = 0.05  # our send time precedes the provider's arrival time; leave a little room
API = "api"     # the lane every call takes unless its connector names another (HubSpot's search)


@dataclass(frozen=True)
class RateReading:
    """What one answer said about the account's limits (None: the answer did not say)."""

    per_window: int | None = None
    window_s: float | None = None
    remaining: int | None = None
    daily_limit: int | None = None
    daily_remaining: int | None = None


class CallBudget(Protocol):
    daily_limit: int | None
    daily_remaining: int | None
    daily_observed_at: datetime | None  # naive UTC, like every stored timestamp
    waited_s: float

    def acquire(self, lane: str = API) -> None:
        """Block until one more call of `lane` fits the account's limits; raise RetriableError when it
        cannot be known (the budget's database is unreachable) or the daily budget is spent."""

    def observe(self, reading: RateReading) -> None:
        """Learn from an answer: the window's size, a window used up elsewhere, the daily budget."""

    def backoff_after_429(self) -> float:
        """Seconds to wait after a 429 that named no Retry-After."""

    def hold(self, seconds: float) -> None:
        """The provider refused a call: no call of the account's main lane goes for `seconds`."""


class _Window:
    """Sliding window of send times; `limit` None means no limit is known (none enforced)."""

    def __init__(self, limit: int | None, seconds: float) -> None:
        self.limit, self.seconds = limit, seconds
        self.sent: deque[float] = deque()

    def wait_time(self, now: float) -> float:
        while self.sent and self.sent[0] <= now - self.seconds - GUARD_S:
            self.sent.popleft()
        if self.limit is None or len(self.sent) < self.limit:
            return 0.0
        return self.sent[0] + self.seconds + GUARD_S - now


class LocalBudget:
    """One process's budget: a sliding window per lane. The main lane's window is learned from the
    first answer (nothing is assumed until then); other lanes have fixed limits (`lanes`)."""

    def __init__(self, per_window: int | None = None, window_s: float = 10.0,
                 lanes: dict[str, tuple[int, float]] | None = None) -> None:
        self.lock = threading.Lock()
        self.window = _Window(per_window, window_s)
        self.lanes = {name: _Window(limit, seconds) for name, (limit, seconds) in (lanes or {}).items()}
        self.daily_limit: int | None = None
        self.daily_remaining: int | None = None
        self.daily_observed_at: datetime | None = None
        self.waited_s = 0.0

    def acquire(self, lane: str = API) -> None:
        win = self.lanes.get(lane, self.window)
        while True:
            with self.lock:
                now = time.monotonic()
                wait = win.wait_time(now)
                if wait <= 0:
                    win.sent.append(now)
                    return
            self.waited_s += wait
            time.sleep(wait)

    def observe(self, reading: RateReading) -> None:
        with self.lock:
            if reading.per_window:
                self.window.limit = reading.per_window
            if reading.window_s:
                self.window.seconds = reading.window_s
            if reading.remaining == 0 and self.window.limit:
                now = time.monotonic()  # another process used the window: treat it as full from now
                while len(self.window.sent) < self.window.limit:
                    self.window.sent.appendleft(now)
            if reading.daily_remaining is not None:
                self.daily_remaining = reading.daily_remaining
                self.daily_limit = reading.daily_limit or self.daily_limit
                self.daily_observed_at = datetime.now(UTC).replace(tzinfo=None)

    def backoff_after_429(self) -> float:
        with self.lock:
            now = time.monotonic()
            if self.window.sent:
                return max(0.5, min(self.window.seconds, self.window.sent[0] + self.window.seconds - now))
            return self.window.seconds

    def hold(self, seconds: float) -> None:
        """The sleep after a 429 happens in the caller; this process's window needs nothing more."""


_registry: dict[str, LocalBudget] = {}
_registry_lock = threading.Lock()


def local_budget(account_key: str, lanes: dict[str, tuple[int, float]] | None = None) -> LocalBudget:
    """The one in-process budget of a provider account, created on first use."""
    with _registry_lock:
        if account_key not in _registry:
            _registry[account_key] = LocalBudget(lanes=lanes)
        return _registry[account_key]
