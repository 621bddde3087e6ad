"""Call a function every few seconds on a thread of its own while a block runs (run heartbeats, lease
renewals): the work in the block may wait minutes on a provider without committing anything."""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

log = logging.getLogger(__name__)


@contextmanager
def repeating(every: float, call: Callable[[], None], name: str) -> Iterator[None]:
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(every):
            try:
                call()
            except Exception:  # one missed call is not fatal; the caller's deadline allows several
                log.warning("%s failed", name, exc_info=True)

    thread = threading.Thread(target=loop, daemon=True, name=name)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)
