"""A provider's rate headers and Retry-After are answers from outside: absurd, negative or unreadable
values say nothing, so a hostile or broken server can neither stall an account nor lift its limit.
Real HTTP against a server on 127.0.0.1 that answers with them."""
from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from console.connectors.budget import LocalBudget
from console.connectors.hubspot.auth import PrivateAppToken
from console.connectors.hubspot.client import HubSpotClient, retry_after_s
from console.connectors.hubspot.ratelimit import reading
from console.sync.send_log import MOST_ALLOWED, window_rule

HOSTILE = ["-1", "1e12", "99999999999999999999999", "NaN", "inf", "", "abc", "1" * 5000, "0x10", " 7 "]


@pytest.mark.parametrize("value", HOSTILE)
def test_absurd_headers_say_nothing(value):
    said = reading({"X-HubSpot-RateLimit-Max": value, "X-HubSpot-RateLimit-Interval-Milliseconds": value,
                    "X-HubSpot-RateLimit-Daily-Remaining": value})
    assert said.window_s is None or 0.1 <= said.window_s <= 3600
    assert said.per_window is None or 1 <= said.per_window <= 100_000
    wait = retry_after_s(value)
    assert wait is None or 0 <= wait <= 60


def test_the_largest_window_a_header_can_set_keeps_a_small_log():
    said = reading({"X-HubSpot-RateLimit-Max": "100000", "X-HubSpot-RateLimit-Interval-Milliseconds": "100"})
    assert said.per_window == 100_000 and said.window_s == 0.1
    assert window_rule(said.per_window, said.window_s) == (MOST_ALLOWED, 1)  # the same rate, a log of 1,000
    huge = reading({"X-HubSpot-RateLimit-Max": "1", "X-HubSpot-RateLimit-Interval-Milliseconds": "3600000"})
    assert window_rule(huge.per_window, huge.window_s) == (1, 3_600_000)  # an hour at most: never months


class Hostile(BaseHTTPRequestHandler):
    calls = 0

    def do_GET(self):
        Hostile.calls += 1
        first = Hostile.calls == 1
        self.send_response(429 if first else 200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Retry-After", "1e12")
        self.send_header("X-HubSpot-RateLimit-Max", "-5")
        self.send_header("X-HubSpot-RateLimit-Interval-Milliseconds", "99999999999999")
        body = b'{"policyName": "TEN_SECONDLY_ROLLING"}' if first else b'{"results": []}'
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_a_hostile_server_cannot_stall_the_client(monkeypatch):
    """The client's sleeps are recorded (the clock is the one thing not run for real: a minute's wait)."""
    slept: list[float] = []
    monkeypatch.setattr(time, "sleep", slept.append)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hostile)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        budget = LocalBudget()
        client = HubSpotClient(f"http://127.0.0.1:{server.server_port}", PrivateAppToken("pat-x"), budget)
        assert client.get("/crm/v3/owners/") == {"results": []}
        # The 429's "1e12 s" waits a minute at most, and the absurd window taught the budget nothing.
        assert slept == [60.0] and budget.window.limit is None and budget.window.seconds == 10.0
    finally:
        server.shutdown()
        server.server_close()
