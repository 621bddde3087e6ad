"""The HubSpot HTTP client: one pooled session per account, the shared limiter, retries that never
lose a page, and typed errors. `retryable()` is the one place that decides what is retried."""
from __future__ import annotations

import json
import random
import re
import time
from typing import Any

import orjson
import requests

from ...security.outbound import http_session
from ..base import AuthExpired, CallRecord, FatalError, RetriableError, unreachable
from ..budget import API, CallBudget
from ..calls import CallStats
from .auth import TokenProvider
from .ratelimit import SEARCH, reading

HUBSPOT_API = "https://api.hubapi.com"


ID_SEGMENT = re.compile(r"/\d+(?=/|$)")


def _header_int(value: str | None) -> int | None:
    """A rate header's number, or None for anything else (absent, not a plain number, absurdly large)."""
    if value is None or not value.isascii() or not value.isdigit() or len(value) > 9:
        return None
    return int(value)


def call_record(method: str, path: str, params: dict | None, status: int | None, started: float, at: float,
                headers: Any, attempt: int) -> CallRecord:
    """What the request log keeps of one call: the path with its ids as {id}, the query's keys only."""
    return CallRecord(at, method, ID_SEGMENT.sub("/{id}", path)[:200], ",".join(sorted(params))[:200] if params else "",
                      status, int((time.perf_counter() - started) * 1000),
                      _header_int(headers.get("X-HubSpot-RateLimit-Remaining")) if headers is not None else None,
                      _header_int(headers.get("X-HubSpot-RateLimit-Daily-Remaining")) if headers is not None else None,
                      attempt)


def retryable(status: int) -> bool:
    return status in (423, 477) or status >= 500


MAX_RETRY_AFTER_S = 60.0


def _message(resp: requests.Response) -> tuple[str, str | None]:
    try:
        body = resp.json()
        return str(body.get("message") or resp.reason)[:300], body.get("category")
    except ValueError:
        return resp.reason or f"HTTP {resp.status_code}", None


def _body(resp: requests.Response) -> Any:
    """The JSON body, parsed by orjson (several times faster on 100-record pages); what orjson refuses
    and json takes (NaN, integers beyond 64 bits) is parsed by json."""
    try:
        return orjson.loads(resp.content)
    except orjson.JSONDecodeError:
        return resp.json()


def retry_after_s(value: str | None) -> float | None:
    """Retry-After in seconds, at most a minute; what is not a finite, non-negative number says nothing."""
    try:
        seconds = float(value) if value and len(value) <= 20 else None
    except ValueError:
        return None
    return min(seconds, MAX_RETRY_AFTER_S) if seconds is not None and 0 <= seconds < float("inf") else None


class HubSpotClient:
    def __init__(self, base_url: str | None, auth: TokenProvider, limiter: CallBudget,
                 stats: CallStats | None = None, timeout: float = 20.0, max_attempts: int = 6,
                 backoff_base: float = 0.5, max_rate_limit_waits: int = 50) -> None:
        self.base_url = (base_url or HUBSPOT_API).rstrip("/")
        self.auth, self.limiter = auth, limiter
        self.stats = stats or CallStats()
        self.timeout, self.max_attempts, self.backoff_base = timeout, max_attempts, backoff_base
        self.max_rate_limit_waits = max_rate_limit_waits
        self.session = http_session(self.base_url, pool=8)

    def get(self, path: str, params: dict | None = None) -> Any:
        return self.request("GET", path, params=params)

    def post(self, path: str, body: Any, search: bool = False) -> Any:
        return self.request("POST", path, json_body=body, search=search)

    def request(self, method: str, path: str, params: dict | None = None, json_body: Any = None,
                search: bool = False) -> Any:
        """Send until a usable answer; 429s are waited out (not counted as attempts)."""
        attempts, refreshed, waits, tries = 0, False, 0, -1
        while True:
            self.limiter.acquire(SEARCH if search else API)
            self.stats.api_calls += 1
            tries += 1
            at, started = time.time(), time.perf_counter()
            try:
                resp = self.session.request(method, self.base_url + path, params=params, json=json_body,
                                            timeout=self.timeout, allow_redirects=False,
                                            headers={"Authorization": f"Bearer {self.auth.token()}"})
            except (requests.ConnectionError, requests.Timeout) as exc:
                self.stats.calls.append(call_record(method, path, params, None, started, at, None, tries))
                attempts = self._backoff(attempts, unreachable(self.base_url, exc))
                continue
            self.stats.calls.append(call_record(method, path, params, resp.status_code, started, at, resp.headers, tries))
            self.limiter.observe(reading(resp.headers))
            if resp.status_code == 429:
                waits += 1
                self._wait_429(resp, waits)
                continue
            if resp.status_code == 401:
                if not refreshed and self.auth.refresh():
                    refreshed = True
                    continue
                raise AuthExpired("HubSpot refused the credentials (401): they were revoked or have expired. "
                                  "Enter new credentials for this connection.")
            if 300 <= resp.status_code < 400:
                raise FatalError(f"HubSpot answered {method} {path.split('?')[0]} with a redirect ({resp.status_code}); "
                                 "redirects are not followed.", resp.status_code)
            if retryable(resp.status_code):
                attempts = self._backoff(attempts, f"HubSpot answered {resp.status_code}", resp)
                continue
            if resp.status_code >= 400 and resp.status_code != 207:
                message, category = _message(resp)
                raise FatalError(f"HubSpot rejected {method} {path.split('?')[0]}: {resp.status_code} {message}",
                                 resp.status_code, category)
            if resp.status_code == 204 or not resp.content:
                return None
            try:
                return _body(resp)
            except (ValueError, json.JSONDecodeError):
                attempts = self._backoff(attempts, "HubSpot sent an unreadable (truncated or malformed) body")

    def _wait_429(self, resp: requests.Response, waits: int) -> None:
        self.stats.rate_limited += 1
        try:
            policy = resp.json().get("policyName", "UNKNOWN")
        except ValueError:
            policy = "UNKNOWN"
        self.stats.policies[policy] = self.stats.policies.get(policy, 0) + 1
        if policy == "DAILY":
            raise RetriableError("HubSpot's daily API limit for this account is used up; syncs resume tomorrow.")
        if waits > self.max_rate_limit_waits:
            raise RetriableError(f"Still rate limited after {waits} waits; giving up this run.")
        retry_after = retry_after_s(resp.headers.get("Retry-After"))
        if retry_after is not None:
            wait = retry_after
        elif policy == "SECONDLY":
            wait = 1.0
        else:
            wait = self.limiter.backoff_after_429()
        if policy != "SECONDLY":
            self.limiter.hold(wait)  # the account's window is full: every process of the fleet waits
        self.stats.waited_s += wait
        time.sleep(wait)

    def _backoff(self, attempts: int, reason: str, resp: requests.Response | None = None) -> int:
        attempts += 1
        self.stats.retries += 1
        if attempts >= self.max_attempts:
            raise RetriableError(f"{reason}; gave up after {attempts} attempts.")
        delay = min(30.0, self.backoff_base * 2 ** (attempts - 1)) * (0.5 + random.random())
        if resp is not None and resp.status_code == 423:
            delay = max(delay, 2.0)
        self.stats.waited_s += delay
        time.sleep(delay)
        return attempts
