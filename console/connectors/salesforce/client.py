"""The Salesforce REST client: one pooled session per org, the shared call budget (Salesforce counts calls
per org per day, and says so in Sforce-Limit-Info), retries that never lose a page, typed errors."""
from __future__ import annotations

import random
import re
import time
from collections.abc import Iterator
from typing import Any

import orjson
import requests

from ...security.outbound import http_session
from ..base import AuthExpired, CallRecord, FatalError, RetriableError, unreachable
from ..budget import API, CallBudget, RateReading
from ..calls import CallStats
from .auth import SalesforceAuth

VERSION = "v60.0"
LIMIT_INFO = re.compile(r"api-usage=(\d{1,10})/(\d{1,10})")
ID_SEGMENT = re.compile(r"/[a-zA-Z0-9]{15,18}(?=/|$)")


def reading(headers: Any) -> RateReading:
    """The org's daily budget from Sforce-Limit-Info ("api-usage=25/15000"); anything else says nothing."""
    found = LIMIT_INFO.search(str(headers.get("Sforce-Limit-Info") or "")[:200]) if headers is not None else None
    if not found:
        return RateReading()
    used, total = int(found.group(1)), int(found.group(2))
    return RateReading(daily_limit=total, daily_remaining=max(0, total - used)) if 0 < total <= 10**9 else RateReading()


def _errors(resp: requests.Response) -> tuple[str, str]:
    """(errorCode, message) of Salesforce's error list, bounded."""
    try:
        body = resp.json()
    except ValueError:
        return "", resp.reason or f"HTTP {resp.status_code}"
    first = body[0] if isinstance(body, list) and body and isinstance(body[0], dict) else {}
    return str(first.get("errorCode") or "")[:80], str(first.get("message") or resp.reason)[:300]


class SalesforceClient:
    def __init__(self, base_url: str, auth: SalesforceAuth, limiter: CallBudget, stats: CallStats | None = None,
                 timeout: float = 30.0, max_attempts: int = 6, backoff_base: float = 0.5) -> None:
        self.base_url = base_url.rstrip("/")
        self.auth, self.limiter, self.stats = auth, limiter, stats or CallStats()
        self.timeout, self.max_attempts, self.backoff_base = timeout, max_attempts, backoff_base
        self.session = http_session(self.base_url, pool=8)

    def data(self, path: str) -> str:
        return f"/services/data/{VERSION}/{path.lstrip('/')}"

    def get(self, path: str, params: dict | None = None) -> Any:
        return self.request("GET", path, params=params)

    def query(self, soql: str, deleted: bool = False) -> Iterator[list[dict]]:
        """A SOQL query's batches (queryAll with `deleted`: the recycle bin too), following nextRecordsUrl;
        a next URL outside the API's own paths ends the read."""
        reply = self.get(self.data("queryAll/" if deleted else "query/"), {"q": soql}) or {}
        while True:
            yield reply.get("records") or []
            following = reply.get("nextRecordsUrl")
            if reply.get("done", True) or not isinstance(following, str) or not following.startswith("/services/data/"):
                return
            reply = self.get(following) or {}

    def request(self, method: str, path: str, params: dict | None = None, json_body: Any = None) -> Any:
        """Send until a usable answer. `path` is the whole path (a nextRecordsUrl is one)."""
        attempts, refreshed, tries = 0, False, -1
        while True:
            self.limiter.acquire(API)
            self.stats.api_calls += 1
            tries += 1
            at, started = time.time(), time.perf_counter()
            try:
                resp = self.session.request(method, self.base_url + path, params=params, json=json_body,
                                            timeout=self.timeout, allow_redirects=False,
                                            headers={"Authorization": f"Bearer {self.auth.token()}"})
            except (requests.ConnectionError, requests.Timeout) as exc:
                self._log(method, path, params, None, started, at, None, tries)
                attempts = self._backoff(attempts, unreachable(self.base_url, exc))
                continue
            limits = reading(resp.headers)
            self._log(method, path, params, resp.status_code, started, at, limits.daily_remaining, tries)
            self.limiter.observe(limits)
            if resp.status_code == 401:
                if not refreshed and self.auth.refresh():
                    refreshed = True
                    continue
                raise AuthExpired("Salesforce refused the session (401) after a new one was minted: reconnect the org.")
            code, message = _errors(resp) if resp.status_code >= 300 else ("", "")
            if resp.status_code == 403 and code == "REQUEST_LIMIT_EXCEEDED":
                raise RetriableError("Salesforce's daily API limit for this org is used up; syncs resume when it resets.")
            if 300 <= resp.status_code < 400:
                raise FatalError(f"Salesforce answered {method} {path.split('?')[0]} with {resp.status_code}; not followed.",
                                 resp.status_code, code)
            if resp.status_code >= 500:
                attempts = self._backoff(attempts, f"Salesforce answered {resp.status_code}")
                continue
            if resp.status_code >= 400:
                raise FatalError(f"Salesforce rejected {method} {path.split('?')[0]}: {resp.status_code} {code} {message}",
                                 resp.status_code, code)
            if resp.status_code == 204 or not resp.content:
                return None
            try:
                return orjson.loads(resp.content)
            except orjson.JSONDecodeError:
                attempts = self._backoff(attempts, "Salesforce sent an unreadable (truncated or malformed) body")

    def _log(self, method: str, path: str, params: dict | None, status: int | None, started: float, at: float,
             daily: int | None, attempt: int) -> None:
        self.stats.calls.append(CallRecord(at, method, ID_SEGMENT.sub("/{id}", path.split("?")[0])[:200],
                                           ",".join(sorted(params))[:200] if params else "", status,
                                           int((time.perf_counter() - started) * 1000), None, daily, attempt))

    def _backoff(self, attempts: int, reason: str) -> int:
        attempts += 1
        self.stats.retries += 1
        if attempts >= self.max_attempts:
            raise RetriableError(f"{reason}; gave up after {attempts} attempts.")
        delay = min(30.0, self.backoff_base * 2 ** (attempts - 1)) * (0.5 + random.random())
        self.stats.waited_s += delay
        time.sleep(delay)
        return attempts
