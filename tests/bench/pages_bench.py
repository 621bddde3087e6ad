"""Every console page with a year's worth of one client's data (run by hand; prints its figures).

  .venv/bin/python tests/bench/pages_bench.py [--leads 100000] [--raw-events 1000000] [--repeat 20]

Seeds, in SQLite: one live connection with `leads` leads and a "created" lead event each, `raw-events`
raw events and as many normalized events in the traffic database, 2,000 runs with a quality check each,
1,000 open sync errors and 5,000 webhook events; and beside it 49 more connections of other clients with
a handful of rows each. Then, signed in as each role (admin, ops, the connection's owner, the client), it
opens every GET page the role may open (the routes' own role lists, ids filled in) once to warm it, then
`repeat` times, and prints each page's 95th percentile (nearest rank: of 20, the 19th fastest). Target (issue 20):
every page under 100 ms at the 95th percentile.
"""
from __future__ import annotations

import argparse
import math
import random
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.bench.sync_throughput import make_app, rss_mb
from tests.bench.verdict import judged

PASSWORD = "bench-password-123"
BATCH = 20_000


def seed(leads: int, raw_events: int) -> dict[str, int]:
    import sqlalchemy as sa
    from sqlalchemy.orm import Session

    from console.extensions import db
    from console.models import (
        Client,
        CrmLead,
        CrmLeadEvent,
        DataQualityCheck,
        EventWebhookEvent,
        IntegrationConnection,
        IntegrationNormalizedEvent,
        IntegrationRawEvent,
        IntegrationSyncError,
        IntegrationSyncJob,
        IntegrationSyncRun,
        User,
    )
    from console.models.base import utcnow
    from console.reference import ensure_providers
    from console.sync.runs import hourly

    rng, now = random.Random(11), utcnow()
    provider = ensure_providers()["hubspot"]
    clients = [Client(name=f"Client {i:02d}", slug=f"client-{i:02d}") for i in range(50)]
    db.session.add_all(clients)
    db.session.flush()
    users = {role: User(email=f"{role}@example.com", name=role.title(), role=role,
                        client_id=clients[0].id if role == "client" else None) for role in ("admin", "ops", "owner", "client")}
    for u in users.values():
        u.set_password(PASSWORD)
    db.session.add_all(users.values())
    db.session.flush()
    conns = [IntegrationConnection(client_id=c.id, provider_id=provider.id, name=f"{c.name} CRM", environment="production",
                                   status="live", client_visible=True, went_live_at=now - timedelta(days=365),
                                   owner_user_id=users["owner"].id if i == 0 else None)
             for i, c in enumerate(clients)]
    db.session.add_all(conns)
    db.session.flush()
    big = conns[0]
    jobs = [IntegrationSyncJob(connection_id=c.id, object_type=t, schedule_seconds=900, enabled=True,
                               next_run_at=now + timedelta(minutes=5), last_success_at=now)
            for c in conns for t in ("contacts", "deals")]
    db.session.add_all(jobs)
    db.session.flush()
    runs = []
    for k in range(2000):
        at = now - timedelta(minutes=263 * k)
        job = jobs[k % 2]
        runs.append({"job_id": job.id, "connection_id": big.id, "object_type": job.object_type, "kind": "scheduled",
                     "status": "succeeded", "dry_run": False, "started_at": at, "finished_at": at + timedelta(seconds=4),
                     "created_at": at, "seen": 50, "created": 0, "updated": 50, "unchanged": 0, "duplicate": 0,
                     "failed": 0, "api_calls": 3, "rate_limited": 0})
    for c in conns[1:]:
        runs.append({"job_id": None, "connection_id": c.id, "object_type": "contacts", "kind": "scheduled",
                     "status": "succeeded", "dry_run": False, "started_at": now, "finished_at": now, "created_at": now,
                     "seen": 1, "created": 1, "updated": 0, "unchanged": 0, "duplicate": 0, "failed": 0,
                     "api_calls": 1, "rate_limited": 0})
    db.session.execute(sa.insert(IntegrationSyncRun.__table__), runs)
    db.session.execute(sa.insert(DataQualityCheck.__table__), [
        {"connection_id": big.id, "object_type": "contacts", "created_at": r["created_at"], "records": leads,
         "incomplete": 10, "duplicates": 20, "unresolved": 5} for r in runs[:2000]])
    hourly.rebuild()
    db.session.commit()
    run_ids = list(db.session.scalars(sa.select(IntegrationSyncRun.id).where(IntegrationSyncRun.connection_id == big.id)))
    stages = ["lead", "mql", "sql", "opportunity", "customer"]
    for start in range(0, leads, BATCH):
        rows = [{"client_id": big.client_id, "connection_id": big.id, "object_type": "contacts", "external_id": str(n),
                 "source_label": "HubSpot", "content_hash": f"{n:064x}", "email": f"person{n}@example.com",
                 "first_name": "Person", "last_name": str(n), "lifecycle_stage": rng.choice(stages),
                 "lead_status": "open", "archived": False, "created_at": now - timedelta(minutes=n),
                 "updated_at": now - timedelta(minutes=n)} for n in range(start, min(leads, start + BATCH))]
        db.session.execute(sa.insert(CrmLead.__table__), rows)
    db.session.commit()
    lead_ids = list(db.session.scalars(sa.select(CrmLead.id).where(CrmLead.connection_id == big.id)))
    for start in range(0, len(lead_ids), BATCH):
        db.session.execute(sa.insert(CrmLeadEvent.__table__), [
            {"lead_id": lid, "connection_id": big.id, "run_id": run_ids[0], "kind": "created",
             "occurred_at": now - timedelta(minutes=i), "created_at": now - timedelta(minutes=i)}
            for i, lid in enumerate(lead_ids[start:start + BATCH], start)])
    db.session.execute(sa.insert(IntegrationSyncError.__table__), [
        {"run_id": run_ids[0], "connection_id": big.id, "object_type": "contacts", "external_id": str(n), "stage": "validate",
         "code": "invalid_email", "message": "email: not an address", "status": "open", "attempts": 1,
         "field": "email", "value": "x@", "created_at": now, "updated_at": now} for n in range(1000)])
    db.session.commit()
    payload = {"email": "person@example.com", "firstname": "Person", "lastname": "Example", "phone": "(416) 555-0100",
               "lifecyclestage": "lead", "hs_lead_status": "OPEN", "hubspot_owner_id": "5001",
               "lastmodifieddate": "2026-11-01T10:00:00.000Z", "createdate": "2025-01-01T10:00:00.000Z"}
    with Session(db.engines["traffic"]) as traffic:
        for start in range(0, raw_events, BATCH):
            ids = range(start, min(raw_events, start + BATCH))
            traffic.execute(sa.insert(IntegrationRawEvent.__table__), [
                {"connection_id": big.id, "run_id": run_ids[n % len(run_ids)], "object_type": "contacts",
                 "external_id": str(n % leads), "event_key": f"{n % leads}:{n}:l", "payload": payload,
                 "provider_updated_at": now - timedelta(seconds=30 * n), "created_at": now - timedelta(seconds=30 * n)}
                for n in ids])
            traffic.execute(sa.insert(IntegrationNormalizedEvent.__table__), [
                {"connection_id": big.id, "source_kind": "sync", "source_ref": f"{n % leads}:{n}:l", "object_type": "contacts",
                 "external_id": str(n % leads), "event_type": "updated", "summary": {"changed": ["lifecycle_stage"]},
                 "occurred_at": now - timedelta(seconds=30 * n), "created_at": now - timedelta(seconds=30 * n),
                 "lag_ms": rng.randint(500, 90_000) if n < 3000 else None} for n in ids])
            traffic.commit()
        traffic.execute(sa.insert(EventWebhookEvent.__table__), [
            {"provider": "hubspot", "connection_id": big.id, "source_event_id": f"evt-{n}", "account_ref": "62515",
             "event_type": "contact.propertyChange", "object_id": str(n % leads), "raw_payload": {"objectId": n},
             "status": "normalized" if n % 50 else "failed", "attempts": 1, "duplicate_count": 0,
             "occurred_at": now - timedelta(seconds=60 * n), "created_at": now - timedelta(seconds=60 * n)}
            for n in range(5000)])
        traffic.commit()
    return {"connection_id": big.id, "client_id": big.client_id, "run_id": run_ids[0],
            **{f"{role}_id": u.id for role, u in users.items()}}


def pages(app, role: str, ids: dict[str, int]) -> list[str]:
    out = []
    fill = {"connection_id": ids["connection_id"], "client_id": ids["client_id"], "run_id": ids["run_id"],
            "user_id": ids[f"{role}_id"]}
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if "GET" not in rule.methods or role not in getattr(view, "allowed_roles", ()):
            continue
        if rule.endpoint == "wizard.oauth_callback" or any(part not in fill for part in rule.arguments):
            continue
        path = rule.rule
        for name, value in fill.items():
            path = path.replace(f"<int:{name}>", str(value)).replace(f"<{name}>", str(value))
        if path.endswith((".csv", "/metrics", "/health")) or path.startswith("/webhooks"):
            continue
        out.append(path)
    return sorted(set(out))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--raw-events", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    from flask import g

    from tests.conftest import sign_in

    with tempfile.TemporaryDirectory() as folder:
        app = make_app(folder)
        app.config["WTF_CSRF_ENABLED"] = True
        t0 = time.perf_counter()
        ids = seed(args.leads, args.raw_events)
        print(f"seeded {args.leads:,} leads, {args.raw_events:,} raw and normalized events in {time.perf_counter() - t0:.0f} s; "
              f"RSS {rss_mb():.0f} MB")
        slow, failing, count = [], [], 0
        for role in ("admin", "ops", "owner", "client"):
            for key in list(g):  # the bench's app context outlives requests: the signed-in user and CSRF token live in g
                g.pop(key)
            http = app.test_client()
            signed = sign_in(http, f"{role}@example.com", PASSWORD)
            assert signed.status_code == 303, (role, signed.status_code, signed.get_data(as_text=True)[-600:])
            for path in pages(app, role, ids):
                http.get(path)  # the first answer compiles templates and warms caches, as a serving process has
                times, status = [], None
                for _ in range(args.repeat):
                    t = time.perf_counter()
                    status = http.get(path).status_code
                    times.append(time.perf_counter() - t)
                if status >= 500:
                    failing.append(f"{role} {path}: HTTP {status}")
                times.sort()
                p95 = times[max(0, math.ceil(0.95 * len(times)) - 1)]  # nearest rank
                count += 1
                mark = "" if p95 < 0.1 else "  <-- over 100 ms"
                print(f"{role:6} {path:60} HTTP {status}  p95 {p95 * 1000:6.1f} ms{mark}")
                if p95 >= 0.1:
                    slow.append(f"{role} {path}: {p95 * 1000:.0f} ms")
        print(f"{count} pages × roles; failing: {len(failing)}; over 100 ms at p95: {len(slow)}")
        for line in failing + slow:
            print("  " + line)
        return 0 if judged(not failing, not slow) else 1


if __name__ == "__main__":
    sys.exit(main())
