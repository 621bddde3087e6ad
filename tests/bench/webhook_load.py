"""Webhook receiver under load (run by hand; prints its figures).

  .venv/bin/python tests/bench/webhook_load.py [batches] [concurrency]

Serves the console with gunicorn on loopback (2 workers x 4 threads), then posts N batches (default
1000) of 100 v3-signed events from C concurrent senders (default 4), as HubSpot does. Prints sustained
events/s, p50/p99 acknowledgement latency, then drains the normalization backlog in this process
(reading each object from a sandbox and applying it through the sync engine) and checks that every
event was stored exactly once and normalized. Targets: >= 1,500 events/s, p99 < 250 ms.
SQLite by default; DATABASE_URL / TRAFFIC_DATABASE_URL (already migrated) for MariaDB/MySQL.
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.bench.sync_throughput import free_port, start_sandbox
from tests.bench.verdict import judged

ROOT = Path(__file__).resolve().parents[2]
SECRET = "bench-webhook-secret-0123456789"


def env_for(folder: str) -> dict[str, str]:
    from console.config import new_master_key_entry

    return {"DATABASE_URL": os.environ.get("DATABASE_URL", f"sqlite:///{folder}/console.db"),
            "TRAFFIC_DATABASE_URL": os.environ.get("TRAFFIC_DATABASE_URL", f"sqlite:///{folder}/traffic.db"),
            "SECRET_KEY": "bench", "CONSOLE_MASTER_KEY": new_master_key_entry(), "CONSOLE_SCHEDULER": "off",
            # the sandbox is a local address: allowed explicitly, as the outbound allowlist wants (without
            # it the backfill was refused and the benchmark stopped on an empty id list)
            "CONSOLE_PROVIDER_HOSTS": "127.0.0.1"}


def setup(env: dict, folder: str, sandbox_url: str) -> tuple[object, list[str]]:
    """Migrate, create a live connection to the sandbox with its webhook secret, sync its contacts."""
    import sqlalchemy as sa

    from console import create_app
    from console.extensions import db, upgrade
    from console.models import CrmLead, IntegrationConnection
    from console.sync.inbound.runner import execute, start_run
    from tests.bench.sync_throughput import connection_for

    app = create_app({"INSTANCE_PATH": folder}, env=env)
    app.app_context().push()
    upgrade()
    job = connection_for(sandbox_url, "62515")
    conn = db.session.get(IntegrationConnection, job.connection_id)
    conn.status = "live"
    conn.account.set_secret("webhook_secret", SECRET)
    db.session.commit()
    execute(start_run(job, "backfill"))
    ids = list(db.session.scalars(sa.select(CrmLead.external_id)))
    return app, ids


def signed(url: str, events: list[dict]) -> tuple[bytes, dict]:
    from console.connectors.hubspot.signature import expected

    body = json.dumps(events, separators=(",", ":")).encode()
    stamp = str(int(time.time() * 1000))
    return body, {"Content-Type": "application/json", "X-HubSpot-Request-Timestamp": stamp,
                  "X-HubSpot-Signature-v3": expected("v3", SECRET, "POST", url, body, stamp)}


def main(batches: int, concurrency: int) -> bool:
    sandbox, sandbox_url = start_sandbox(5000, limits=False)
    folder = tempfile.mkdtemp(prefix="cc-webhook-bench-")
    env = env_for(folder)
    server = None
    try:
        app, ids = setup(env, folder, sandbox_url)
        port = free_port()
        server = subprocess.Popen([str(ROOT / ".venv/bin/gunicorn"), "-w", "2", "-k", "gthread", "--threads", "4",
                                   "-b", f"127.0.0.1:{port}", "--log-level", "warning", "wsgi:app"],
                                  cwd=ROOT, env={**os.environ, **env})
        url = f"http://127.0.0.1:{port}/webhooks/hubspot"
        for _ in range(100):
            try:
                requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except requests.RequestException:
                time.sleep(0.2)
        now = int(time.time() * 1000)
        payloads = [[{"eventId": b * 100 + i + 1, "subscriptionId": 1, "portalId": 62515, "appId": 1,
                      "occurredAt": now, "subscriptionType": "contact.propertyChange", "attemptNumber": 0,
                      "objectId": int(ids[(b * 100 + i) % len(ids)]), "propertyName": "firstname",
                      "propertyValue": "x", "changeSource": "CRM"} for i in range(100)] for b in range(batches)]
        latencies: list[float] = []

        def send(events: list[dict]) -> int:
            session = getattr(send, "session", None) or requests.Session()
            send.session = session
            body, headers = signed(url, events)
            t = time.perf_counter()
            resp = session.post(url, data=body, headers=headers, timeout=10)
            latencies.append(time.perf_counter() - t)
            return resp.status_code

        for events in payloads[:2]:  # warm both workers (imports, pools)
            send([dict(e, eventId=e["eventId"] + 10_000_000) for e in events])
        latencies.clear()
        start = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            codes = list(pool.map(send, payloads))
        elapsed = time.perf_counter() - start
        sent = batches * 100
        rate = sent / elapsed
        p50, p99 = statistics.median(latencies) * 1000, statistics.quantiles(latencies, n=100)[98] * 1000
        print(f"accepted: {sent:,} events in {batches} batches in {elapsed:.2f} s = {rate:,.0f} events/s "
              f"({concurrency} senders); non-200: {sum(c != 200 for c in codes)}")
        print(f"acknowledgement latency per batch: p50 {p50:.0f} ms, p99 {p99:.0f} ms")

        import sqlalchemy as sa

        from console.extensions import db
        from console.models import EventWebhookEvent
        from console.webhooks.normalize import process_due

        db.session.commit()
        stored = db.session.scalar(sa.select(sa.func.count()).select_from(EventWebhookEvent))
        t = time.perf_counter()
        while process_due(500):
            pass
        drain = time.perf_counter() - t
        db.session.commit()
        normalized = db.session.scalar(sa.select(sa.func.count()).select_from(EventWebhookEvent).where(
            EventWebhookEvent.status == "normalized"))
        print(f"normalization backlog: {stored:,} stored events drained in {drain:.1f} s "
              f"({stored / drain:,.0f} events/s); normalized {normalized:,} of {stored:,}; "
              f"expected {sent + 200:,} (incl. 200 warm-up)")
        return judged(all(c == 200 for c in codes) and stored == sent + 200 and normalized == stored,
                      rate >= 1500 and p99 < 250, "(targets: >= 1,500 events/s, p99 < 250 ms, nothing lost)")
    finally:
        if server:
            server.terminate()
            server.wait()
        sandbox.terminate()
        sandbox.wait()


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:3]]
    sys.exit(0 if main(*(args + [1000, 4][len(args):])) else 1)
