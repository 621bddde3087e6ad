"""An open HubSpot account: streams, the property catalogue and reference data (owners, pipelines)."""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..base import AccountInfo, AuthExpired, Link, LinkInput, Reference, WriteInput, WriteResult
from ..budget import CallBudget, local_budget
from . import account, associations, writes
from .auth import OAuthTokenProvider, OAuthTokens, PrivateAppToken, TokenProvider
from .client import HUBSPOT_API, CallStats, HubSpotClient
from .paging import Pages
from .ratelimit import LANES
from .schemas import custom_schemas
from .streams import DEFAULT_LOOKBACK_MS, HubSpotStream


@dataclass
class HubSpotSession:
    client: HubSpotClient
    stats: CallStats

    @property
    def limiter(self) -> CallBudget:
        return self.client.limiter

    def stream(self, object_type: str, properties: list[str], lookback_ms: int = DEFAULT_LOOKBACK_MS) -> HubSpotStream:
        return HubSpotStream(self.client, object_type, properties, lookback_ms)

    def properties(self, object_type: str) -> list[dict]:
        return (self.client.get(f"/crm/v3/properties/{object_type}") or {}).get("results", [])

    def object_schemas(self) -> list[dict]:
        """The portal's custom object schemas, bounded and checked (schemas.custom_schemas)."""
        reply = self.client.get("/crm/v3/schemas")
        return custom_schemas(reply.get("results", []) if isinstance(reply, dict) else [])

    def reference(self) -> Reference:
        ref = Reference()
        pages = Pages()
        while not pages.finished:
            reply = self.client.get("/crm/v3/owners/", pages.params({"limit": 100})) or {}
            for o in reply.get("results", []):
                ref.owners[str(o["id"])] = " ".join(p for p in (o.get("firstName"), o.get("lastName")) if p) \
                    or o.get("email", "")
            pages.advance(reply)
        for pipeline in (self.client.get("/crm/v3/pipelines/deals") or {}).get("results", []):
            ref.pipelines[pipeline["id"]] = pipeline["label"]
            for stage in pipeline.get("stages", []):
                ref.stages[stage["id"]] = stage["label"]
                ref.stage_states[stage["id"]] = stage_state(stage.get("metadata") or {})
        return ref

    def inspect(self) -> AccountInfo:
        return account.inspect(self.client)

    def write(self, object_type: str, inputs: list[WriteInput], id_property: str | None = None) -> list[WriteResult]:
        return writes.write(self.client, object_type, inputs, id_property)

    def define_property(self, object_type: str, name: str, label: str, unique: bool = False) -> None:
        writes.define_property(self.client, object_type, name, label, unique)

    def associate(self, from_type: str, to_type: str, links: list[LinkInput]) -> list[WriteResult]:
        return writes.associate(self.client, from_type, to_type, links)

    def linked_types(self, object_type: str) -> tuple[str, ...]:
        return associations.READ_FROM.get(object_type, ())

    def links(self, from_type: str, to_type: str, ids: list[str]) -> dict[str, list[Link]]:
        return associations.read(self.client, from_type, to_type, ids)


def stage_state(metadata: dict) -> str:
    """HubSpot marks closed stages with isClosed; a closed stage's probability tells won from lost."""
    if str(metadata.get("isClosed", "false")).lower() != "true":
        return "open"
    try:
        return "won" if float(metadata.get("probability") or 0) > 0 else "lost"
    except ValueError:
        return "lost"


def open_session(base_url: str | None, credentials: dict[str, Any], *, limiter_key: str, client_id: str = "",
                 client_secret: str = "", store_tokens: Callable[[OAuthTokens], None] | None = None,
                 budget: CallBudget | None = None, **client_options: Any) -> HubSpotSession:
    """`credentials` is the stored document: {"token"} for a private app, or OAuth's access and refresh
    tokens; a rotated refresh token goes to `store_tokens` at once (it must never live only in memory).
    `budget` is the account's call budget (the engine shares it through its database); without one, this
    process keeps its own under `limiter_key`."""
    auth: TokenProvider
    if "token" in credentials:
        auth = PrivateAppToken(credentials["token"])
    elif "refresh_token" in credentials:
        auth = OAuthTokenProvider(base_url or HUBSPOT_API, client_id, client_secret,
                                  OAuthTokens(credentials["access_token"], credentials["refresh_token"],
                                              float(credentials.get("expires_at", time.time()))),
                                  store_tokens or (lambda tokens: None))
    else:
        raise AuthExpired("The stored credentials are neither a private-app token nor OAuth tokens.")
    stats = CallStats()
    client = HubSpotClient(base_url, auth, budget or local_budget(limiter_key, LANES), stats, **client_options)
    return HubSpotSession(client, stats)
