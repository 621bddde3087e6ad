"""The connector registry, keyed by provider key: the engine, the wizard and the webhook receiver ask it
for a provider's parts instead of importing a provider's package. Adding a provider is a folder under
console/connectors/ that calls `register` when imported, and its module name in BUILTIN."""
from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from .base import ConnectorError, Session
from .vocabulary import NONE, Vocabulary

BUILTIN = ("console.connectors.hubspot", "console.connectors.salesforce", "console.connectors.manual_csv")


@dataclass(frozen=True)
class Connector:
    key: str                        # integration_providers.key
    name: str                       # how people call it ("HubSpot")
    source_label: str               # the lead's source as clients read it ("CRM", "Manual import")
    # open(base_url, credentials, *, limiter_key, client_id, client_secret, store_tokens, budget, **client options)
    open_session: Callable[..., Session] | None = None
    authorize_url: Callable[..., str] | None = None   # OAuth consent URL (base_url, client_id, redirect, scopes, state)
    exchange_code: Callable[..., Any] | None = None   # OAuth code -> tokens (access_token, refresh_token, expires_at)
    webhooks: ModuleType | None = None                # signature checking: match(), SignatureError, MAX_AGE_MS, digits()
    # An association-change event (its stored summary) -> the record whose associations to read again,
    # as (object type, id) in the direction the sync reads; None: not an association change it reads.
    link_source: Callable[[dict], tuple[str, str] | None] | None = None
    # A webhook event's type ("contact.propertyChange") -> the object type whose record it changed
    # ("contacts"); None: not an object this connector reads.
    event_object_type: Callable[[str], str | None] | None = None
    # Lanes of calls with fixed limits of their own beside the account's window: name -> (calls, seconds).
    lanes: dict[str, tuple[int, float]] = field(default_factory=dict)
    # Its own names for what the mapping layer maps (default mappings, read-only properties, synonyms)
    vocabulary: Vocabulary = NONE
    # Where its API answers when an account names no base URL of its own ("" : every account must name one)
    default_base_url: str = ""
    # The wizard's words and checks for an account: what its id is called and looks like, the scopes a
    # read-only sync needs, the auth models it offers
    account_label: str = "Account id"
    account_noun: str = "account"  # how its messages name one ("portal", "org")
    account_pattern: str = r"[A-Za-z0-9_-]{1,64}"
    default_scopes: tuple[str, ...] = ()
    auth_types: tuple[str, ...] = ("oauth",)
    # An account id as typed, in the form the provider's answers name it in (Salesforce's 15-character org id
    # is the 18-character one's first 15)
    same_account: Callable[[str, str], bool] = lambda typed, answered: typed == answered


class UnknownProvider(ConnectorError):
    code = "provider_unknown"


_connectors: dict[str, Connector] = {}
_loaded = False


def register(connector: Connector) -> Connector:
    _connectors[connector.key] = connector
    return connector


def _load() -> None:
    global _loaded
    if not _loaded:  # importing a provider's package registers it
        for module in BUILTIN:
            importlib.import_module(module)
        _loaded = True


def every() -> list[Connector]:
    _load()
    return list(_connectors.values())


def get(key: str) -> Connector:
    _load()
    try:
        return _connectors[key]
    except KeyError:
        raise UnknownProvider(f"No connector is registered for provider {key!r}.") from None


def source_label(key: str) -> str:
    try:
        return get(key).source_label
    except UnknownProvider:
        return "CRM"
