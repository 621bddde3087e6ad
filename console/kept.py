"""A value computed at most a few seconds ago in this process, kept in the app's own extensions (so two
apps in one process, as in the tests, never share one): the dashboard's rows, the retention counts."""
from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from flask import current_app

from .models.base import utcnow

T = TypeVar("T")


def kept(name: str, seconds: float, compute: Callable[[], T]) -> tuple[datetime, T]:
    """When the value was computed, and the value: kept for `seconds` (0: computed on every call)."""
    store = current_app.extensions.setdefault("kept", {})
    hit = store.get(name)
    if seconds > 0 and hit is not None and time.monotonic() - hit[0] < seconds:
        return hit[1], hit[2]
    now, value = utcnow(), compute()
    if seconds > 0:
        store[name] = (time.monotonic(), now, value)
    return now, value


def forget(name: str) -> None:
    current_app.extensions.get("kept", {}).pop(name, None)
