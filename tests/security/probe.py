"""A /healthz prober for the tests that check a hostile input never stalls the server."""
from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import requests


@contextmanager
def healthz_times(live_server: str, at_least: int = 10) -> Iterator[list[float]]:
    """Asks /healthz over and over while the block runs, and on until `at_least` answers (one slow answer
    is not the median); yields the list its answer times (seconds) go into."""
    times: list[float] = []
    done = threading.Event()

    def probe() -> None:
        while not done.is_set() or len(times) < at_least:
            started = time.perf_counter()
            requests.get(f"{live_server}/healthz", timeout=30)
            times.append(time.perf_counter() - started)

    prober = threading.Thread(target=probe)
    prober.start()
    try:
        yield times
    finally:
        done.set()
        prober.join()
        times.sort()
