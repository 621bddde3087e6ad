"""An open Salesforce org: streams, the fields of each object (describe, in the console's property shape),
owners and opportunity stages, the identity behind the credentials, writes through sObject Collections."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..base import AccountInfo, AuthExpired, FatalError, Link, LinkInput, Reference, WriteInput, WriteResult
from ..budget import CallBudget, local_budget
from ..calls import CallStats
from .auth import SalesforceAuth, SalesforceTokens
from .client import SalesforceClient
from .streams import DEFAULT_LOOKBACK_MS, SOBJECT, SalesforceStream

# describe's field type -> the console's property type (mapping/targets.READS)
TYPES = {"picklist": "enumeration", "multipicklist": "enumeration", "datetime": "datetime", "date": "date",
         "boolean": "bool", "currency": "number", "double": "number", "percent": "number", "int": "number",
         "phone": "phone_number"}
MAX_FIELDS, MAX_OPTIONS = 1_000, 1_000


def properties(describe: Any) -> list[dict]:
    """describe's fields as the console's properties: name, label, type, options, calculated (bounded)."""
    out: list[dict] = []
    fields = describe.get("fields") if isinstance(describe, dict) else None
    for f in (fields if isinstance(fields, list) else [])[:MAX_FIELDS]:
        if not isinstance(f, dict) or not isinstance(f.get("name"), str):
            continue
        options = [{"label": str(p.get("label") or p.get("value"))[:255], "value": str(p.get("value"))[:255]}
                   for p in (f.get("picklistValues") or [])[:MAX_OPTIONS] if isinstance(p, dict) and p.get("active", True)]
        out.append({"name": f["name"][:100], "label": str(f.get("label") or f["name"])[:255],
                    "type": TYPES.get(str(f.get("type")), "string"), "fieldType": str(f.get("type"))[:40],
                    "options": options, "calculated": bool(f.get("calculated")) or not f.get("updateable", False),
                    "externalId": bool(f.get("externalId"))})
    return out


@dataclass
class SalesforceSession:
    client: SalesforceClient
    stats: CallStats

    @property
    def limiter(self) -> CallBudget:
        return self.client.limiter

    def stream(self, object_type: str, properties: list[str], lookback_ms: int = DEFAULT_LOOKBACK_MS) -> SalesforceStream:
        return SalesforceStream(self.client, object_type, properties, lookback_ms)

    def properties(self, object_type: str) -> list[dict]:
        return properties(self.client.get(self.client.data(f"sobjects/{SOBJECT.get(object_type, object_type)}/describe/")))

    def object_schemas(self) -> list[dict]:
        return []  # custom objects (__c) are not offered yet

    def reference(self) -> Reference:
        ref = Reference()
        for batch in self.client.query("SELECT Id, Name FROM User WHERE IsActive = true"):
            ref.owners.update({str(u["Id"]): str(u.get("Name") or "") for u in batch})
        for batch in self.client.query("SELECT ApiName, MasterLabel, IsClosed, IsWon FROM OpportunityStage "
                                       "WHERE IsActive = true"):
            for s in batch:
                key = str(s["ApiName"])
                ref.stages[key] = str(s.get("MasterLabel") or key)
                ref.stage_states[key] = "open" if not s.get("IsClosed") else "won" if s.get("IsWon") else "lost"
        return ref

    def inspect(self) -> AccountInfo:
        who = self.client.get("/services/oauth2/userinfo") or {}
        org_id = str(who.get("organization_id") or "")
        if not org_id:
            raise FatalError("Salesforce's userinfo named no organization.")
        return AccountInfo(org_id, self.client.auth.granted(), None, None)

    def write(self, object_type: str, inputs: list[WriteInput], id_property: str | None = None) -> list[WriteResult]:
        raise FatalError("The console does not write to Salesforce yet: every field of a Salesforce connection is "
                         "read only (its mapping refuses any other direction).")

    def define_property(self, object_type: str, name: str, label: str, unique: bool = False) -> None:
        raise FatalError(f"Salesforce fields are created in Setup: add the external-id text field {name} to "
                         f"{SOBJECT.get(object_type, object_type)} (unique), then test again.")

    def associate(self, from_type: str, to_type: str, links: list[LinkInput]) -> list[WriteResult]:
        return [WriteResult(link.ref, error="Salesforce relates records through lookup fields: map the field instead")
                for link in links]

    def linked_types(self, object_type: str) -> tuple[str, ...]:
        return ()

    def links(self, from_type: str, to_type: str, ids: list[str]) -> dict[str, list[Link]]:
        return {i: [] for i in ids}


def open_session(base_url: str | None, credentials: dict[str, Any], *, limiter_key: str, client_id: str = "",
                 client_secret: str = "", store_tokens: Callable[[SalesforceTokens], None] | None = None,
                 budget: CallBudget | None = None, **client_options: Any) -> SalesforceSession:
    """`credentials`: {"access_token", "refresh_token"} from the web-server flow, or {"jwt_username",
    "jwt_private_key"} for the JWT bearer flow; `base_url` is the org's instance (My Domain) URL."""
    if not base_url:
        raise FatalError("The Salesforce connection has no instance URL (https://<My Domain>.my.salesforce.com).")
    if not (credentials.get("refresh_token") or (credentials.get("jwt_username") and credentials.get("jwt_private_key"))
            or credentials.get("access_token")):
        raise AuthExpired("The stored credentials hold neither OAuth tokens nor a JWT key.")
    auth = SalesforceAuth(base_url, client_id, client_secret, credentials, store_tokens or (lambda tokens: None))
    stats = CallStats()
    client = SalesforceClient(base_url, auth, budget or local_budget(limiter_key, {}), stats, **client_options)
    return SalesforceSession(client, stats)

