"""The running sandbox: its portal data, credentials, limiter, faults and webhook deliverer."""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from .auth import AuthState, new_auth_state
from .faults import FaultInjector, FaultRule
from .ratelimit import RateLimiter
from .store import Portal
from .webhooks import WebhookDeliverer


@dataclass
class SandboxConfig:
    contacts: int = 500
    deals: int = 200
    companies: int | None = None
    seed: int = 42
    token: str | None = None
    limits: bool = True
    tier: str = "starter"
    access_ttl: int = 1800
    faults: tuple[FaultRule, ...] = ()
    portal_id: int = 62515
    deliver_webhooks: bool = True
    client_secret: str | None = None  # the OAuth app's secret, which also signs webhooks (random when None)
    search_lag_ms: int = 0  # each change reaches search after a random delay of up to this


@dataclass
class SandboxState:
    config: SandboxConfig
    portal: Portal
    auth: AuthState
    limiter: RateLimiter
    faults: FaultInjector
    webhooks: WebhookDeliverer


def build_state(config: SandboxConfig) -> SandboxState:
    portal = Portal(config.seed, config.contacts, config.deals, config.companies, config.portal_id)
    portal.search_lag_ms = config.search_lag_ms
    auth = new_auth_state(config.token, config.access_ttl, config.client_secret)
    faults = FaultInjector(config.seed)
    faults.set_rules(list(config.faults))
    hooks = WebhookDeliverer(portal, auth.oauth_app.client_secret, auth.oauth_app.app_id, config.seed)
    return SandboxState(config, portal, auth, RateLimiter(config.tier, config.limits), faults, hooks)


def state() -> SandboxState:
    return current_app.extensions["sandbox"]
