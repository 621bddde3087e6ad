"""Store a verified HubSpot batch: each event once (dedupe on the provider's event id), routed to its
connection by portal id, with a redacted summary; a redelivered event only counts a duplicate."""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ..choices import ConnectionStatus, WebhookStatus
from ..extensions import db
from ..models import EventWebhookEvent, IntegrationConnection, IntegrationProviderAccount, WebhookRejection
from ..models.base import table, utcnow

PROVIDER = "hubspot"
SUMMARY_KEYS = ("subscriptionType", "objectId", "propertyName", "changeSource", "sourceId", "changeFlag",
                "attemptNumber", "occurredAt",  # never propertyValue: it may be a sensitive field
                "associationType", "fromObjectId", "toObjectId", "associationRemoved")  # association changes
SECRET_TTL = 30.0
MAX_CACHED_PORTALS = 1024


@dataclass(frozen=True)
class Accepted:
    stored: int
    duplicates: int


@dataclass(frozen=True)
class Route:
    """Where a portal's events go, and what may sign them."""

    connection_id: int
    app_id: str | None          # None: the account does not name its app, any app id is taken
    secrets: tuple[str, ...]
    v3_only: bool


class _SecretCache:
    """Routes of portals that exist, kept briefly (the receiver must not decrypt per request) and bounded:
    an unknown portal is never cached, so unsigned posts naming made-up portals cost no memory."""

    def __init__(self, size: int) -> None:
        self.size, self.lock = size, threading.Lock()
        self.entries: OrderedDict[str, tuple[float, list[Route]]] = OrderedDict()

    def get(self, portal: str) -> list[Route] | None:
        with self.lock:
            hit = self.entries.get(portal)
            if hit is None or time.monotonic() - hit[0] >= SECRET_TTL:
                return None
            self.entries.move_to_end(portal)
            return hit[1]

    def put(self, portal: str, routes: list[Route]) -> None:
        with self.lock:
            self.entries[portal] = (time.monotonic(), routes)
            self.entries.move_to_end(portal)
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()


_cache = _SecretCache(MAX_CACHED_PORTALS)


def routes_for(portal_ids: set[str]) -> dict[str, list[Route]]:
    """portal id -> the routes of its connections (live first); unknown portals are absent."""
    out, missing = {}, []
    for portal in portal_ids:
        hit = _cache.get(portal)
        if hit is None:
            missing.append(portal)
        else:
            out[portal] = hit
    for portal, routes in _load(missing).items():
        _cache.put(portal, routes)
        out[portal] = routes
    return out


def forget_secrets() -> None:
    _cache.clear()


def _load(portals: list[str]) -> dict[str, list[Route]]:
    if not portals:
        return {}
    rows = db.session.execute(
        sa.select(IntegrationConnection, IntegrationProviderAccount)
        .join(IntegrationProviderAccount, IntegrationConnection.account_id == IntegrationProviderAccount.id)
        .where(IntegrationProviderAccount.external_account_id.in_(portals),
               IntegrationConnection.status != ConnectionStatus.REVOKED.value)
        .order_by(IntegrationConnection.status != ConnectionStatus.LIVE.value, IntegrationConnection.id)).all()
    out: dict[str, list[Route]] = {}
    for conn, account in rows:
        secrets = tuple(s for s in (account.get_secret("webhook_secret"), account.get_secret("client_secret")) if s)
        out.setdefault(account.external_account_id or "", []).append(
            Route(conn.id, account.app_id or None, secrets, bool(account.webhook_v3_only)))
    return out


def event_key(event: dict) -> str:
    """The dedupe key: an event id is unique only within its app and portal."""
    return f"{event.get('appId', '-')}:{event['portalId']}:{event['eventId']}"


def _dt(ms) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(ms) / 1000, UTC).replace(tzinfo=None)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def store(events: list[dict], routed: list[int]) -> Accepted:
    """Store a verified batch; `routed` holds each event's connection id."""
    ids = [event_key(e) for e in events]
    existing = set(db.session.scalars(sa.select(EventWebhookEvent.source_event_id).where(
        EventWebhookEvent.provider == PROVIDER, EventWebhookEvent.source_event_id.in_(ids))))
    now, rows, dupes, seen = utcnow(), [], [], set()
    for event, event_id, connection_id in zip(events, ids, routed):
        if event_id in existing or event_id in seen:
            dupes.append(event_id)
            continue
        seen.add(event_id)
        portal = str(event.get("portalId", ""))
        rows.append({"provider": PROVIDER, "source_event_id": event_id, "connection_id": connection_id,
                     "account_ref": portal[:64], "event_type": str(event.get("subscriptionType", ""))[:80],
                     "object_id": str(event.get("objectId", event.get("fromObjectId", "")))[:255] or None,
                     "occurred_at": _dt(event.get("occurredAt")),
                     "status": WebhookStatus.RECEIVED.value, "attempts": 0, "duplicate_count": 0,
                     "payload_summary": {k: event[k] for k in SUMMARY_KEYS if k in event}, "raw_payload": event,
                     "created_at": now})
    try:
        if rows:
            db.session.execute(sa.insert(table(EventWebhookEvent)), rows)
        _count_duplicates(dupes)
        db.session.commit()
    except IntegrityError:  # a concurrent delivery of the same events won the insert: count them as duplicates
        db.session.rollback()
        return _store_one_by_one(rows, dupes)
    return Accepted(len(rows), len(dupes))


def _store_one_by_one(rows: list[dict], dupes: list[str]) -> Accepted:
    stored = 0
    for row in rows:
        try:
            db.session.execute(sa.insert(table(EventWebhookEvent)), [row])
            db.session.commit()
            stored += 1
        except IntegrityError:
            db.session.rollback()
            dupes.append(row["source_event_id"])
    _count_duplicates(dupes)
    db.session.commit()
    return Accepted(stored, len(dupes))


def _count_duplicates(event_ids: list[str]) -> None:
    for event_id in event_ids:
        db.session.execute(sa.update(EventWebhookEvent).where(
            EventWebhookEvent.provider == PROVIDER, EventWebhookEvent.source_event_id == event_id,
        ).values(duplicate_count=EventWebhookEvent.duplicate_count + 1).execution_options(synchronize_session=False))


def reject(reason: str, detail: str, address: str | None, version: str | None, size: int,
           connection_id: int | None = None) -> None:
    db.session.rollback()
    db.session.add(WebhookRejection(provider=PROVIDER, reason=reason, detail=detail[:300], address=address,
                                    signature_version=version, body_bytes=size, connection_id=connection_id))
    db.session.commit()
