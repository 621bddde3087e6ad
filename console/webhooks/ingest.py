"""Store a verified HubSpot batch: each event once (dedupe on the provider's event id), routed to its
connection by portal id, with a redacted summary; a redelivered event only counts a duplicate."""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ..choices import ConnectionStatus, WebhookStatus
from ..extensions import db
from ..models import EventWebhookEvent, IntegrationConnection, IntegrationProviderAccount, WebhookRejection
from ..models.base import utcnow

PROVIDER = "hubspot"
SUMMARY_KEYS = ("subscriptionType", "objectId", "propertyName", "changeSource", "changeFlag", "attemptNumber",
                "occurredAt")  # never propertyValue: it may be a sensitive field
_secret_cache: dict[str, tuple[float, list[tuple[int, list[str]]]]] = {}
SECRET_TTL = 30.0


@dataclass(frozen=True)
class Accepted:
    stored: int
    duplicates: int


def routes_for(portal_ids: set[str]) -> dict[str, tuple[int | None, list[str]]]:
    """portal id -> (its active connection id, the signing secrets of its accounts). Cached briefly: the
    receiver answers thousands of events a second and must not decrypt per request."""
    out = {}
    for portal in portal_ids:
        hit = _secret_cache.get(portal)
        if hit and time.monotonic() - hit[0] < SECRET_TTL:
            conns = hit[1]
        else:
            conns = _load(portal)
            _secret_cache[portal] = (time.monotonic(), conns)
        conn_id = conns[0][0] if conns else None
        out[portal] = (conn_id, [s for _, secrets in conns for s in secrets])
    return out


def forget_secrets() -> None:
    _secret_cache.clear()


def _load(portal: str) -> list[tuple[int, list[str]]]:
    rows = db.session.execute(
        sa.select(IntegrationConnection, IntegrationProviderAccount)
        .join(IntegrationProviderAccount, IntegrationConnection.account_id == IntegrationProviderAccount.id)
        .where(IntegrationProviderAccount.external_account_id == portal,
               IntegrationConnection.status != ConnectionStatus.REVOKED.value)
        .order_by(IntegrationConnection.status != ConnectionStatus.LIVE.value, IntegrationConnection.id)).all()
    return [(conn.id, [s for s in (account.get_secret("webhook_secret"), account.get_secret("client_secret")) if s])
            for conn, account in rows]


def _dt(ms) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(ms) / 1000, timezone.utc).replace(tzinfo=None)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def store(events: list[dict], routes: dict[str, tuple[int | None, list[str]]]) -> Accepted:
    ids = [str(e["eventId"]) for e in events]
    existing = set(db.session.scalars(sa.select(EventWebhookEvent.source_event_id).where(
        EventWebhookEvent.provider == PROVIDER, EventWebhookEvent.source_event_id.in_(ids))))
    now, rows, dupes, seen = utcnow(), [], [], set()
    for event, event_id in zip(events, ids):
        if event_id in existing or event_id in seen:
            dupes.append(event_id)
            continue
        seen.add(event_id)
        portal = str(event.get("portalId", ""))
        rows.append({"provider": PROVIDER, "source_event_id": event_id, "connection_id": routes.get(portal, (None,))[0],
                     "account_ref": portal[:64], "event_type": str(event.get("subscriptionType", ""))[:80],
                     "object_id": str(event.get("objectId", ""))[:255] or None, "occurred_at": _dt(event.get("occurredAt")),
                     "status": WebhookStatus.RECEIVED.value, "attempts": 0, "duplicate_count": 0,
                     "payload_summary": {k: event[k] for k in SUMMARY_KEYS if k in event}, "raw_payload": event,
                     "created_at": now})
    try:
        if rows:
            db.session.execute(sa.insert(EventWebhookEvent.__table__), rows)
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
            db.session.execute(sa.insert(EventWebhookEvent.__table__), [row])
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
