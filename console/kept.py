"""A value computed at most a few seconds ago in this process, kept in the app's own extensions (so two
apps in one process, as in the tests, never share one): the dashboard's rows, the retention counts.

A value may also be served stale for a while after it expires, while one background thread computes the
next (stale-while-revalidate): every open dashboard polls every 5 s, and a poll then never waits for the
figures to be read; the page says when they were read."""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from flask import Flask, Response, after_this_request, current_app, has_request_context

from .extensions import db, this_app
from .models.base import utcnow

T = TypeVar("T")
log = logging.getLogger(__name__)
clock = time.monotonic  # the benchmark replaces it to stand for a poller's 5 seconds
_refreshing: dict[tuple[int, str], float] = {}  # (store, name) -> when its background read was asked for
STUCK_AFTER = 120.0  # a read asked for but never started (its request failed first) no longer blocks others
_lock = threading.Lock()


def kept(name: str, seconds: float, compute: Callable[[], T], stale_for: float = 0) -> tuple[datetime, T]:
    """When the value was computed, and the value: kept for `seconds` (0: computed on every call), then
    served for `stale_for` seconds more while a background thread computes the next one."""
    store = current_app.extensions.setdefault("kept", {})
    hit = store.get(name)
    if seconds > 0 and hit is not None:
        age = clock() - hit[0]
        if age < seconds:
            return hit[1], hit[2]
        if age < seconds + stale_for:
            _refresh(this_app(), store, name, compute)
            return hit[1], hit[2]
    now, value = utcnow(), compute()
    if seconds > 0:
        store[name] = (clock(), now, value)
    return now, value


def _refresh(app: Flask, store: dict, name: str, compute: Callable[[], T]) -> None:
    """Compute `name` again on a thread of its own (one at a time per app and name)."""
    key = (id(store), name)
    with _lock:
        if key in _refreshing and time.monotonic() - _refreshing[key] < STUCK_AFTER:
            return
        _refreshing[key] = time.monotonic()

    def run() -> None:
        try:
            with app.app_context():
                try:
                    now, value = utcnow(), compute()
                    store[name] = (clock(), now, value)
                except Exception:  # the stale value stays; the next request tries again
                    log.exception("refreshing %s failed", name)
                finally:
                    db.session.remove()
        finally:
            with _lock:
                _refreshing.pop(key, None)

    thread = threading.Thread(target=run, name=f"kept-{name}", daemon=True)
    if not has_request_context():
        thread.start()
        return

    @after_this_request
    def start_when_rendered(response: Response) -> Response:
        thread.start()  # once this request's page is rendered: the read does not slow it down
        return response


def refreshing() -> bool:
    """Whether a background computation is still running (for tests and the benchmark)."""
    with _lock:
        return bool(_refreshing)


def forget(name: str) -> None:
    current_app.extensions.get("kept", {}).pop(name, None)
