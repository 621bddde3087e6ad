"""Webhook deliveries as HubSpot makes them: batches of up to 100 events, signed (v1, v2 or v3),
retried on failure, with switches for duplicates, reordering, late timestamps and bad signatures."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import requests

from .records import UI_SOURCE, Record, singular
from .store import Portal

MAX_BATCH = 100
MAX_RETRIES = 10
SUBSCRIPTION_TYPES = [f"{o}.{e}" for o in ("contact", "company", "deal")
                      for e in ("creation", "propertyChange", "deletion")] + \
    [f"{o}.associationChange" for o in ("contact", "company", "deal")]
# Tickets have HubSpot's subscriptions too; an app subscribes to them when it asks (not by default here).
TICKET_TYPES = [f"ticket.{e}" for e in ("creation", "propertyChange", "deletion", "associationChange")]
SUBSCRIPTION_TYPES += TICKET_TYPES


def sign(version: str, secret: str, method: str, url: str, body: bytes, timestamp: str) -> str:
    text = body.decode()
    if version == "v1":
        return hashlib.sha256((secret + text).encode()).hexdigest()
    if version == "v2":
        return hashlib.sha256((secret + method + url + text).encode()).hexdigest()
    mac = hmac.new(secret.encode(), (method + url + text + timestamp).encode(), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


@dataclass
class WebhookConfig:
    url: str | None = None
    version: str = "v3"
    subscriptions: set[str] = field(default_factory=lambda: set(SUBSCRIPTION_TYPES) - set(TICKET_TYPES))
    duplicates: bool = False
    out_of_order: bool = False
    late: bool = False
    bad_signature: bool = False
    paused: bool = False  # hold deliveries (events still queue) to build up one big batch
    retry_base: float = 1.0  # seconds; HubSpot spreads 10 retries over 24 h, the sandbox is quicker


@dataclass
class Pending:
    event: dict
    due: float
    attempt: int = 0


class WebhookDeliverer:
    def __init__(self, portal: Portal, secret: str, app_id: int, seed: int) -> None:
        self.portal, self.secret, self.app_id = portal, secret, app_id
        self.config = WebhookConfig()
        self.rng = random.Random(seed)
        self.next_event_id = 1_000_000 + seed % 1000 * 1000
        self.queue: list[Pending] = []
        self.lock = threading.Lock()
        self.stats = {"batches": 0, "events_sent": 0, "failures": 0, "retries": 0, "gave_up": 0}
        self.session = requests.Session()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        portal.listeners.append(self.on_change)
        portal.association_listeners.append(self.on_association)

    # ---- events -------------------------------------------------------------------------------
    def on_change(self, object_type: str, rec: Record, event: str, changed: dict, ts: int,
                  source: tuple[str, str] = UI_SOURCE) -> None:
        kind = f"{singular(object_type)}.{event}"
        if not self.config.url or kind not in self.config.subscriptions:
            return
        base = {"subscriptionId": 1000 + SUBSCRIPTION_TYPES.index(kind), "portalId": self.portal.portal_id,
                "appId": self.app_id, "occurredAt": ts, "subscriptionType": kind, "attemptNumber": 0,
                "objectId": rec.id, "changeSource": source[0], "sourceId": source[1]}
        events = []
        if event == "propertyChange":
            for name, value in changed.items():
                events.append({**base, "propertyName": name,
                               "propertyValue": "" if value is None else str(value)})
        else:
            events.append({**base, **({"changeFlag": "NEW"} if event == "creation" else {})})
        self._queue(events)

    def on_association(self, from_type: str, from_id: int, to_type: str, to_id: int, removed: bool, ts: int) -> None:
        """One event from each side, as HubSpot sends them ("CONTACT_TO_COMPANY" and "COMPANY_TO_CONTACT");
        a label added or removed is announced as a change that removed nothing."""
        events = []
        for (a, a_id), (b, b_id) in (((from_type, from_id), (to_type, to_id)), ((to_type, to_id), (from_type, from_id))):
            kind = f"{singular(a)}.associationChange"
            if not self.config.url or kind not in self.config.subscriptions:
                continue
            events.append({"subscriptionId": 1000 + SUBSCRIPTION_TYPES.index(kind), "portalId": self.portal.portal_id,
                           "appId": self.app_id, "occurredAt": ts, "subscriptionType": kind, "attemptNumber": 0,
                           "changeSource": UI_SOURCE[0], "sourceId": UI_SOURCE[1],
                           "associationType": f"{singular(a).upper()}_TO_{singular(b).upper()}",
                           "fromObjectId": a_id, "toObjectId": b_id, "associationRemoved": removed,
                           "isPrimaryAssociation": False})
        self._queue(events)

    def _queue(self, events: list[dict]) -> None:
        with self.lock:
            for ev in events:
                ev["eventId"] = self.next_event_id
                self.next_event_id += 1
                self.queue.append(Pending(ev, time.monotonic()))

    # ---- delivery -----------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="sandbox-webhooks", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            if not self.deliver_due():
                self._stop.wait(0.05)

    def pending_count(self) -> int:
        with self.lock:
            return len(self.queue)

    def deliver_due(self) -> bool:
        """Send one batch of due events; return whether anything was sent."""
        if self.config.paused:
            return False
        now = time.monotonic()
        with self.lock:
            due = [p for p in self.queue if p.due <= now][:MAX_BATCH]
            for p in due:
                self.queue.remove(p)
        if not due or not self.config.url:
            with self.lock:
                self.queue[:0] = due
            return False
        ok = self._post([dict(p.event, attemptNumber=p.attempt) for p in due])
        if not ok:
            self._schedule_retry(due)
        return True

    def _schedule_retry(self, batch: list[Pending]) -> None:
        with self.lock:
            for p in batch:
                if p.attempt >= MAX_RETRIES:
                    self.stats["gave_up"] += 1
                    continue
                p.attempt += 1
                delay = self.config.retry_base * (2 ** (p.attempt - 1)) * (0.5 + self.rng.random())
                p.due = time.monotonic() + min(delay, 300)
                self.queue.append(p)
                self.stats["retries"] += 1

    def _post(self, events: list[dict]) -> bool:
        cfg = self.config
        if cfg.out_of_order:
            self.rng.shuffle(events)
            events.reverse()
        body = json.dumps(events, separators=(",", ":")).encode()
        ok = self._send(body, late=cfg.late)
        if cfg.duplicates:
            self._send(body, late=cfg.late)
        return ok

    def _send(self, body: bytes, late: bool) -> bool:
        cfg = self.config
        if not cfg.url:  # the subscription was removed since the batch was taken: it waits for the next
            return False
        ts_ms = int(time.time() * 1000) - (6 * 60 * 1000 if late else 0)
        timestamp = str(ts_ms)
        signature = sign(cfg.version, self.secret, "POST", cfg.url, body, timestamp)
        if cfg.bad_signature:
            signature = signature[:-4] + ("AAAA" if not signature.endswith("AAAA") else "BBBB")
        headers = {"Content-Type": "application/json", "User-Agent": "HubSpot Connect 2.0 (sandbox)"}
        if cfg.version in ("v1", "v2"):
            headers.update({"X-HubSpot-Signature": signature, "X-HubSpot-Signature-Version": cfg.version})
        else:
            headers.update({"X-HubSpot-Signature-v3": signature, "X-HubSpot-Request-Timestamp": timestamp})
        self.stats["batches"] += 1
        try:
            resp = self.session.post(cfg.url, data=body, headers=headers, timeout=5)
            ok = 200 <= resp.status_code < 300
        except requests.RequestException:
            ok = False
        if ok:
            self.stats["events_sent"] += body.count(b'"eventId"')
        else:
            self.stats["failures"] += 1
        return ok

    def describe(self) -> dict[str, Any]:
        cfg = self.config
        return {"url": cfg.url, "version": cfg.version, "subscriptions": sorted(cfg.subscriptions),
                "duplicates": cfg.duplicates, "out_of_order": cfg.out_of_order, "late": cfg.late,
                "bad_signature": cfg.bad_signature, "paused": cfg.paused, "retry_base": cfg.retry_base,
                "pending": self.pending_count(), "stats": dict(self.stats), "app_id": self.app_id}
