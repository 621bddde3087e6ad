"""The arithmetic of a call budget's sliding log: which send slot a call takes, and what the log keeps.

Pure functions over lists of epoch seconds (the database's clock); `budget.SharedBudget` reads and writes
the log in a row lock around them.
"""
from __future__ import annotations

GUARD_MS = 200.0         # added to the window: a send's arrival is a little later than its slot
MOST_ALLOWED = 1000  # slots a row keeps at most: a larger window is scaled down to the same rate
UNKNOWN_WINDOW_S = 60.0  # how far back calls are logged while no limit is known...
UNKNOWN_LOG = 100        # ...and how many (HubSpot's smallest window holds 100)
UNKNOWN_BLOCK = 10       # while no limit is known (no pacing to do), one reservation logs this many calls...
UNKNOWN_BLOCK_S = 0.25   # ...which this process spends within this long, or forgets
BURST_RATE = 4      # a burst goes at most this many times the window's average rate: the provider counts
                    # calls as they arrive, and 99 sent at one instant arrive spread over its queue


def window_rule(per_window: int, window_s: float, room: int = 1) -> tuple[int, int]:
    """(calls allowed, window in ms) for a window of `per_window` calls in `window_s` seconds, leaving
    `room` calls free; a window over MOST_ALLOWED calls keeps its rate over a shorter window."""
    allowed, window_ms = max(1, per_window - room), int(window_s * 1000)
    if allowed > MOST_ALLOWED:
        window_ms, allowed = max(1, window_ms * MOST_ALLOWED // allowed), MOST_ALLOWED
    return allowed, window_ms


def take_slot(sent: list[float], now: float, held_until: float, allowed: int | None,
              window_ms: int | None, block: int = 1) -> tuple[float, list[float]]:
    """The first slot from `now` that is after every slot taken (by a burst's gap at least), not held, and
    leaves every window of `window_ms` + the guard with at most `allowed` slots; and the slots to keep
    (the last window's). While no limit is known, `block` calls are logged at that slot."""
    if not allowed or not window_ms:  # no limit known yet: the calls are still logged, so the first window
        slot = max(now, held_until, sent[-1] if sent else 0.0)  # learned counts the calls sent before it
        block = max(1, min(block, UNKNOWN_LOG))
        kept = [s for s in sent if s > slot - UNKNOWN_WINDOW_S]
        return slot, [*kept[max(0, len(kept) - (UNKNOWN_LOG - block)):], *[slot] * block]
    span = (window_ms + GUARD_MS) / 1000.0
    slot = max(now, held_until, sent[-1] + span / allowed / BURST_RATE if sent else 0.0)
    if len(sent) >= allowed:
        slot = max(slot, sent[-allowed] + span)
    kept = [s for s in sent if s > slot - span][-(allowed - 1):] if allowed > 1 else []
    return slot, [*kept, slot]


def parse(text: str | None) -> list[float]:
    try:
        return [float(v) for v in text.split(",")] if text else []
    except ValueError:  # a row written by hand: start the log again
        return []
