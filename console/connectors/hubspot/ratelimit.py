"""One limiter per HubSpot account (limits are per app per portal), shared by every job of it.

It keeps requests under the rolling 10-second window and the search endpoints' per-second limit,
learning the window size from HubSpot's own X-HubSpot-RateLimit-* headers.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from datetime import UTC, datetime

GUARD_S = 0.05  # our send time precedes HubSpot's arrival time; leave a little room


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


class AccountLimiter:
    """The 10-second window is learned from the first answer's headers (HubSpot sends them on every
    non-search call); until then nothing is assumed. Search has no headers: its 5/s is fixed."""

    def __init__(self, per_window: int | None = None, window_s: float = 10.0, search_per_second: int = 5) -> None:
        self.lock = threading.Lock()
        self.window = _Window(per_window, window_s)
        self.search = _Window(search_per_second, 1.0)
        self.daily_limit: int | None = None
        self.daily_remaining: int | None = None
        self.daily_observed_at: datetime | None = None  # naive UTC, like every stored timestamp
        self.waited_s = 0.0

    def acquire(self, search: bool = False) -> None:
        """Block until one more request fits; then count it as sent."""
        win = self.search if search else self.window
        while True:
            with self.lock:
                now = time.monotonic()
                wait = win.wait_time(now)
                if wait <= 0:
                    win.sent.append(now)
                    return
            self.waited_s += wait
            time.sleep(wait)

    def observe(self, headers) -> None:
        """Learn from HubSpot's headers: window size, and a window already full elsewhere."""
        try:
            max_ = headers.get("X-HubSpot-RateLimit-Max")
            interval = headers.get("X-HubSpot-RateLimit-Interval-Milliseconds")
            remaining = headers.get("X-HubSpot-RateLimit-Remaining")
            daily = headers.get("X-HubSpot-RateLimit-Daily-Remaining")
            daily_limit = headers.get("X-HubSpot-RateLimit-Daily")
        except AttributeError:
            return
        with self.lock:
            if max_:
                self.window.limit = int(max_)
            if interval:
                self.window.seconds = int(interval) / 1000
            if remaining is not None and int(remaining) == 0 and self.window.limit:
                now = time.monotonic()  # another process used the window: treat it as full from now
                while len(self.window.sent) < self.window.limit:
                    self.window.sent.appendleft(now)
            if daily is not None:
                self.daily_remaining = int(daily)
                self.daily_limit = int(daily_limit) if daily_limit else self.daily_limit
                self.daily_observed_at = datetime.now(UTC).replace(tzinfo=None)

    def backoff_after_429(self) -> float:
        """Seconds until the local window frees, when HubSpot gave no Retry-After."""
        with self.lock:
            now = time.monotonic()
            if self.window.sent:
                return max(0.5, min(self.window.seconds, self.window.sent[0] + self.window.seconds - now))
            return self.window.seconds


_registry: dict[str, AccountLimiter] = {}
_registry_lock = threading.Lock()


def limiter_for(account_key: str) -> AccountLimiter:
    """The one limiter of a provider account, created on first use."""
    with _registry_lock:
        if account_key not in _registry:
            _registry[account_key] = AccountLimiter()
        return _registry[account_key]
