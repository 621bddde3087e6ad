"""The running sandbox: its portal data, credentials, limiter, faults and webhook deliverer."""
from __future__ import annotations

import secrets
import threading
from collections import Counter
from dataclasses import dataclass, field

from flask import current_app, g, has_request_context

from .auth import AuthState, new_auth_state
from .faults import FaultInjector, FaultRule
from .ratelimit import RateLimiter
from .store import Counts, Portal
from .webhooks import WebhookDeliverer


@dataclass
class SandboxConfig:
    contacts: int = 500
    deals: int = 200
    companies: int | None = None
    products: int = 8
    tickets: int | None = None  # None: a tenth of the contacts
    bookings: int = 200  # the custom object's records
    seed: int = 42
    token: str | None = None
    limits: bool = True
    tier: str = "starter"
    window_ms: int = 10_000  # HubSpot's rolling window; a test may shorten it (the headers say so)
    per_window: int | None = None  # calls the window allows (None: the tier's)
    access_ttl: int = 1800
    faults: tuple[FaultRule, ...] = ()
    portal_id: int = 62515
    deliver_webhooks: bool = True
    client_secret: str | None = None  # the OAuth app's secret, which also signs webhooks (random when None)
    client_id: str | None = None  # the OAuth app's client id (random when None)
    search_lag_ms: int = 0  # each change reaches search after a random delay of up to this
    # The seed clamps about a tenth of the records' modification times to its newest instant (a portal just
    # after a bulk update: the tie-paging paths need them). True spreads those over the hour before it, for
    # peers that page search by time alone and cannot pass 10,000 records at one instant (tests/bench/peers.py).
    spread_ties: bool = False
    # More portals (ids portal_id + 1, + 2…), each with its own data (seed + n) and its own private-app
    # token, as HubSpot serves one portal per token: two clients' connections never share a portal.
    extra_portals: int = 0
    extra_tokens: tuple[str, ...] = ()  # tokens for the extra portals, in order (random when missing)


@dataclass
class SandboxState:
    config: SandboxConfig
    primary: Portal
    auth: AuthState
    limiter: RateLimiter
    faults: FaultInjector
    webhooks: WebhookDeliverer
    portals: dict[int, Portal] = field(default_factory=dict)
    # API requests answered (any answer: a fault, a 401, a 429), by (method, path): what a test or a
    # benchmark counts calls with
    requests: Counter = field(default_factory=Counter)
    requests_lock: threading.Lock = field(default_factory=threading.Lock)

    def count_request(self, method: str, path: str) -> None:
        with self.requests_lock:
            self.requests[(method, path)] += 1

    @property
    def portal(self) -> Portal:
        """The portal the request's token opens (the primary one outside a request, and for OAuth)."""
        if has_request_context():
            chosen = g.get("sandbox_portal")
            if chosen is not None:
                return chosen
        return self.primary


def build_state(config: SandboxConfig) -> SandboxState:
    more = Counts(config.products, config.tickets, config.bookings)
    portal = Portal(config.seed, config.contacts, config.deals, config.companies, config.portal_id,
                    spread_ties=config.spread_ties, more=more)
    portal.search_lag_ms = config.search_lag_ms
    portals = {portal.portal_id: portal}
    auth = new_auth_state(config.token, config.access_ttl, config.client_secret, config.client_id)
    for n in range(1, config.extra_portals + 1):
        extra = Portal(config.seed + n, config.contacts, config.deals, config.companies, config.portal_id + n,
                       spread_ties=config.spread_ties, more=more)
        extra.search_lag_ms = config.search_lag_ms
        portals[extra.portal_id] = extra
        given = config.extra_tokens[n - 1] if n <= len(config.extra_tokens) else None
        auth.portal_tokens[given or "pat-sandbox-" + secrets.token_hex(16)] = extra.portal_id
    faults = FaultInjector(config.seed)
    faults.set_rules(list(config.faults))
    hooks = WebhookDeliverer(portal, auth.oauth_app.client_secret, auth.oauth_app.app_id, config.seed)
    limiter = RateLimiter(config.tier, config.limits, config.window_ms, config.per_window)
    return SandboxState(config, portal, auth, limiter, faults, hooks, portals)


def state() -> SandboxState:
    return current_app.extensions["sandbox"]
