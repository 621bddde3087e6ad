"""The org the sandbox serves: its records, its deleted-record log, its users, its connected app and
tokens, its daily API limit and the open query cursors."""
from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from . import ids
from .schema import EXTERNAL_ID, OBJECTS, SObject

MAX_CURSORS = 10  # open query cursors per org: the oldest is dropped (INVALID_QUERY_LOCATOR), as in Salesforce


@dataclass
class OrgConfig:
    contacts: int = 500
    accounts: int | None = None       # None: a tenth of the contacts
    leads: int | None = None          # None: a fifth of the contacts
    opportunities: int | None = None  # None: one per two accounts
    seed: int = 42
    daily_limit: int = 100_000        # DailyApiRequests (Sforce-Limit-Info: api-usage=N/M)
    username: str = "integration@sandbox.example"
    password: str = "sandbox-password"
    client_id: str | None = None      # the connected app's consumer key (random when None)
    client_secret: str | None = None
    jwt_public_key: bytes | None = None  # PEM of the certificate key the connected app accepts JWT assertions from
    access_ttl: int = 7200
    scopes: str = "api refresh_token"  # what the connected app grants (each token answer's "scope")
    max_batch: int = 2000             # records a query answers per batch at most (Salesforce may answer fewer than asked)
    slow_query_ms: int = 0            # every query answer delayed this long (a slow org; a test kills a run meanwhile)
    org_id: str = ids.make("Organization", 1)


def stamp(moment: datetime) -> str:
    """Salesforce's datetime text, UTC with milliseconds: it sorts as the instants do."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


@dataclass
class Token:
    access: str
    user_id: str
    expires: datetime


@dataclass
class Org:
    config: OrgConfig
    client_id: str
    client_secret: str
    records: dict[str, dict[str, dict]] = field(default_factory=lambda: {name: {} for name in OBJECTS})
    # the recycle bin: deleted records, with IsDeleted set, which queryAll and getDeleted still see
    deleted: dict[str, dict[str, dict]] = field(default_factory=lambda: {name: {} for name in OBJECTS})
    counters: dict[str, int] = field(default_factory=dict)
    tokens: dict[str, Token] = field(default_factory=dict)
    refresh_tokens: dict[str, str] = field(default_factory=dict)  # refresh token -> user id
    codes: dict[str, tuple[str, str]] = field(default_factory=dict)  # authorization code -> (user id, redirect uri)
    cursors: OrderedDict[str, tuple[str, list[str], list[str]]] = field(default_factory=OrderedDict)
    api_used: int = 0
    requests: dict[str, int] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)
    clock_offset: timedelta = timedelta(0)
    integration_user: str = ""
    last_stamp: datetime | None = None
    journal: list[tuple[str, str, dict | None]] | None = None  # while set: how to undo each write (allOrNone)

    def now(self) -> datetime:
        """The org's clock: strictly increasing by at least a millisecond per write, so no two writes of
        one record share a SystemModstamp."""
        moment = (datetime.now(UTC) + self.clock_offset).replace(tzinfo=None)
        moment = moment.replace(microsecond=moment.microsecond // 1000 * 1000)
        if self.last_stamp is not None and moment <= self.last_stamp:
            moment = self.last_stamp + timedelta(milliseconds=1)
        self.last_stamp = moment
        return moment

    def next_id(self, object_name: str) -> str:
        self.counters[object_name] = self.counters.get(object_name, 0) + 1
        return ids.make(object_name, self.counters[object_name])

    def table(self, obj: SObject) -> dict[str, dict]:
        return self.records[obj.name]

    def find(self, obj: SObject, record_id: str) -> dict | None:
        full = ids.canonical(record_id)
        return self.records[obj.name].get(full) if full else None

    def by_external_id(self, obj: SObject, field_name: str, value: str) -> list[dict]:
        found = obj.field(field_name)
        name = found.name if found else EXTERNAL_ID
        return [r for r in self.records[obj.name].values() if r.get(name) == value]

    def insert(self, obj: SObject, values: dict, user_id: str, at: datetime | None = None) -> dict:
        moment = at or self.now()
        record = {"Id": self.next_id(obj.name), **values, "IsDeleted": False, "CreatedDate": stamp(moment),
                  "CreatedById": user_id, "LastModifiedDate": stamp(moment), "LastModifiedById": user_id,
                  "SystemModstamp": stamp(moment)}
        _derive(obj, record)
        self.records[obj.name][record["Id"]] = record
        self._note(obj.name, record["Id"], None)
        return record

    def change(self, obj: SObject, record: dict, values: dict, user_id: str, at: datetime | None = None) -> dict:
        self._note(obj.name, record["Id"], dict(record))
        moment = stamp(at or self.now())
        record.update(values)
        record.update(LastModifiedDate=moment, LastModifiedById=user_id, SystemModstamp=moment)
        _derive(obj, record)
        return record

    def delete(self, obj: SObject, record_id: str) -> bool:
        record = self.find(obj, record_id)
        if record is None:
            return False
        self._note(obj.name, record["Id"], dict(record))
        del self.records[obj.name][record["Id"]]
        moment = stamp(self.now())
        record.update(IsDeleted=True, SystemModstamp=moment, LastModifiedDate=moment)
        self.deleted[obj.name][record["Id"]] = record
        return True

    def _note(self, object_name: str, record_id: str, before: dict | None) -> None:
        if self.journal is not None:
            self.journal.append((object_name, record_id, before))

    def undo(self, journal: list[tuple[str, str, dict | None]]) -> None:
        """Every write of the journal undone, newest first (the record as it was, or gone if created)."""
        for object_name, record_id, before in reversed(journal):
            self.deleted[object_name].pop(record_id, None)
            if before is None:
                self.records[object_name].pop(record_id, None)
            else:
                self.records[object_name][record_id] = before

    def issue(self, user_id: str) -> str:
        access = f"{self.config.org_id[:15]}!{secrets.token_urlsafe(40)}"
        self.tokens[access] = Token(access, user_id, datetime.now(UTC) + timedelta(seconds=self.config.access_ttl))
        return access

    def cursor(self, object_name: str, record_ids: list[str], fields: list[str]) -> str:
        locator = "01g" + secrets.token_hex(6).upper()[:12]
        self.cursors[locator] = (object_name, record_ids, fields)
        while len(self.cursors) > MAX_CURSORS:
            self.cursors.popitem(last=False)
        return locator


def _derive(obj: SObject, record: dict) -> None:
    """The fields the org computes: full names, an opportunity's closed and won flags."""
    if obj.field("Name") is not None and obj.field("Name").calculated:  # type: ignore[union-attr]
        record["Name"] = " ".join(p for p in (record.get("FirstName"), record.get("LastName")) if p) or None
    if obj.name == "Opportunity":
        stage = record.get("StageName") or ""
        record["IsClosed"], record["IsWon"] = stage.startswith("Closed"), stage == "Closed Won"
