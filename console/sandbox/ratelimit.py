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


class RateLimiter:
    def __init__(self, tier: str = "starter", enabled: bool = True) -> None:
        self.tier, self.enabled = tier, enabled
        self.lock = threading.Lock()
        self.windows: dict[str, deque] = defaultdict(deque)
        self.search_windows: dict[str, deque] = defaultdict(deque)
        self.daily: dict[str, int] = defaultdict(int)
        self.day = time.strftime("%Y-%m-%d", time.gmtime())
        self.rejected = 0

    def _limits(self, kind: str) -> tuple[int, int | None]:
        return TIERS["oauth"] if kind == "oauth" else TIERS[self.tier]

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
            q = self.windows[app_key]
            while q and q[0] <= now - WINDOW_MS:
                q.popleft()
            headers = {"X-HubSpot-RateLimit-Interval-Milliseconds": str(WINDOW_MS),
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
                headers.update({"X-HubSpot-RateLimit-Remaining": "0"})
                if per_day is not None:
                    headers["X-HubSpot-RateLimit-Daily-Remaining"] = str(per_day - used_today)
                return Decision(False, "TEN_SECONDLY_ROLLING", headers, (q[0] + WINDOW_MS - now) / 1000)
            q.append(now)
            self.daily[app_key] = used_today + 1
            headers["X-HubSpot-RateLimit-Remaining"] = str(per_window - len(q))
            if per_day is not None:
                headers["X-HubSpot-RateLimit-Daily-Remaining"] = str(per_day - used_today - 1)
            return Decision(True, headers=headers)

    def set_daily_used(self, app_key: str, used: int) -> None:
        """Test hook: pretend `used` calls were already made today."""
        with self.lock:
            self.daily[app_key] = used
