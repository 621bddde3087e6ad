"""HubSpot's rate limits: a rolling 10-second window and a daily count per app and portal, and the
search endpoints' own per-second limit. Each answer carries HubSpot's X-HubSpot-RateLimit-* headers."""
from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field

TIERS = {  # per 10 s, per day (None: no daily limit)
    "starter": (100, 250_000),
    "professional": (190, 625_000),
    "enterprise": (190, 1_000_000),
    "increase": (250, 1_250_000),
    "oauth": (110, None),
}
WINDOW_MS = 10_000
SEARCH_PER_SECOND = 5


@dataclass
class Decision:
    allowed: bool
    policy: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    retry_after: float = 0.0


@dataclass
class AppCalls:
    """One app's calls of the rolling window: how many went through or were refused, and when the first and
    the last went through (monotonic ms), so a test can say how much of the window they used."""

    accepted: int = 0
    rejected: int = 0
    first_ms: float = 0.0
    last_ms: float = 0.0

    def describe(self, per_window: int, window_ms: int) -> dict:
        span = self.last_ms - self.first_ms
        # the rate of the calls between the first and the last, over the rate the window allows (a burst
        # at the start can lift a short span's figure above 1; a paced sender's is what it used)
        share = (self.accepted - 1) / (per_window * span / window_ms) if span > window_ms else None
        return {"accepted": self.accepted, "rejected": self.rejected, "seconds": round(span / 1000, 3),
                "window_share": round(share, 4) if share is not None else None}


class RateLimiter:
    """`window_ms` is HubSpot's 10 s and `per_window` the tier's, unless a test changes them (the headers
    say what they are, as HubSpot's do)."""

    def __init__(self, tier: str = "starter", enabled: bool = True, window_ms: int = WINDOW_MS,
                 per_window: int | None = None) -> None:
        self.tier, self.enabled, self.window_ms, self.per_window = tier, enabled, window_ms, per_window
        self.apps: dict[str, AppCalls] = defaultdict(AppCalls)
        self.lock = threading.Lock()
        self.windows: dict[str, deque] = defaultdict(deque)
        self.search_windows: dict[str, deque] = defaultdict(deque)
        self.daily: dict[str, int] = defaultdict(int)
        self.day = time.strftime("%Y-%m-%d", time.gmtime())
        self.rejected = 0

    def _limits(self, kind: str) -> tuple[int, int | None]:
        per_window, per_day = TIERS["oauth"] if kind == "oauth" else TIERS[self.tier]
        return self.per_window or per_window, per_day

    def check(self, app_key: str, kind: str, search: bool) -> Decision:
        if not self.enabled:
            return Decision(True)
        now = time.monotonic() * 1000
        per_window, per_day = self._limits(kind)
        with self.lock:
            today = time.strftime("%Y-%m-%d", time.gmtime())
            if today != self.day:
                self.day, self.daily = today, defaultdict(int)
            if search:  # search: its own per-second limit, no headers, exempt from the 10 s window
                q = self.search_windows[app_key]
                while q and q[0] <= now - 1000:
                    q.popleft()
                if len(q) >= SEARCH_PER_SECOND:
                    self.rejected += 1
                    return Decision(False, "SECONDLY", retry_after=(q[0] + 1000 - now) / 1000)
                q.append(now)
                self.daily[app_key] += 1
                return Decision(True)
            q, calls = self.windows[app_key], self.apps[app_key]
            while q and q[0] <= now - self.window_ms:
                q.popleft()
            headers = {"X-HubSpot-RateLimit-Interval-Milliseconds": str(self.window_ms),
                       "X-HubSpot-RateLimit-Max": str(per_window)}
            used_today = self.daily[app_key]
            if per_day is not None:
                headers["X-HubSpot-RateLimit-Daily"] = str(per_day)
            if per_day is not None and used_today >= per_day:
                self.rejected += 1
                headers.update({"X-HubSpot-RateLimit-Daily-Remaining": "0",
                                "X-HubSpot-RateLimit-Remaining": str(max(0, per_window - len(q)))})
                return Decision(False, "DAILY", headers)
            if len(q) >= per_window:
                self.rejected += 1
                calls.rejected += 1
                headers.update({"X-HubSpot-RateLimit-Remaining": "0"})
                if per_day is not None:
                    headers["X-HubSpot-RateLimit-Daily-Remaining"] = str(per_day - used_today)
                return Decision(False, "TEN_SECONDLY_ROLLING", headers, (q[0] + self.window_ms - now) / 1000)
            q.append(now)
            calls.first_ms = calls.first_ms if calls.accepted else now
            calls.accepted, calls.last_ms = calls.accepted + 1, now
            self.daily[app_key] = used_today + 1
            headers["X-HubSpot-RateLimit-Remaining"] = str(per_window - len(q))
            if per_day is not None:
                headers["X-HubSpot-RateLimit-Daily-Remaining"] = str(per_day - used_today - 1)
            return Decision(True, headers=headers)

    def describe(self) -> dict:
        with self.lock:
            return {"enabled": self.enabled, "tier": self.tier, "window_ms": self.window_ms, "rejected": self.rejected,
                    "apps": {key: calls.describe(self._limits(key.split(":")[0])[0], self.window_ms)
                             for key, calls in self.apps.items()}}

    def set_daily_used(self, app_key: str, used: int) -> None:
        """Test hook: pretend `used` calls were already made today."""
        with self.lock:
            self.daily[app_key] = used
