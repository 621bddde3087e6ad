"""Sync throughput against the sandbox (run by hand; prints its figures).

  .venv/bin/python tests/bench/sync_throughput.py [contacts]

1. Rate limits off: a full backfill of N contacts (default 100,000) into SQLite, end to end
   (HTTP, mapping, raw + normalized events, leads, lead events); records/s and peak memory, with
   memory sampled as the record count grows. Target: >= 2,000 records/s, < 300 MB, flat.
   Then 1 % of the contacts change at the provider and one incremental run follows: every change must
   be read by that first run and stored at the provider's version (checked by batch-reading the
   changed records over HTTP), and a reconciliation must then find 0 differences.
2. HubSpot's default limits on (100 calls per 10 s): calls/s achieved against the ceiling over a
   30-second window. Target: >= 90% of the ceiling.
The sandbox runs in its own process so the memory figures are the console's alone.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "pat-bench-0000000000000000"


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_sandbox(contacts: int, limits: bool) -> tuple[subprocess.Popen, str]:
    port = free_port()
    args = [sys.executable, "-m", "flask", "--app", "wsgi", "sandbox", "run", "--port", str(port),
            "--contacts", str(contacts), "--deals", "0", "--companies", "50", "--token", TOKEN]
    if not limits:
        args.append("--no-limits")
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "CONSOLE_SCHEDULER": "off"})
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc, url
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("sandbox did not start")


def make_app(folder: str):
    from flask_migrate import upgrade

    from console import create_app
    from console.config import new_master_key_entry

    env = {"DATABASE_URL": f"sqlite:///{folder}/console.db", "TRAFFIC_DATABASE_URL": f"sqlite:///{folder}/traffic.db",
           "SECRET_KEY": "bench", "CONSOLE_MASTER_KEY": new_master_key_entry(), "CONSOLE_SCHEDULER": "off",
           "CONSOLE_PROVIDER_HOSTS": "127.0.0.1"}
    app = create_app({"INSTANCE_PATH": folder}, env=env)
    ctx = app.app_context()
    ctx.push()
    upgrade()
    return app


def connection_for(url: str, portal: str):
    import json

    from console.choices import Environment
    from console.extensions import db
    from console.models import Client, IntegrationConnection, IntegrationProviderAccount
    from console.reference import ensure_providers
    from console.sync.runner import ensure_job

    provider = ensure_providers()["hubspot"]
    client = Client(name=f"Bench {portal}", slug=f"bench-{portal}")
    db.session.add(client)
    db.session.flush()
    account = IntegrationProviderAccount(provider_id=provider.id, client_id=client.id, environment="sandbox",
                                         auth_type="private_app", base_url=url, external_account_id=portal)
    db.session.add(account)
    account.set_secret("credentials", json.dumps({"token": TOKEN}))
    conn = IntegrationConnection(client_id=client.id, provider_id=provider.id, account_id=account.id,
                                 name="bench", environment=Environment.SANDBOX.value)
    db.session.add(conn)
    db.session.flush()
    job = ensure_job(conn, "contacts")
    db.session.commit()
    return job


def unlimited(contacts: int) -> bool:
    from console.sync.runner import execute, start_run

    proc, url = start_sandbox(contacts, limits=False)
    try:
        with tempfile.TemporaryDirectory() as folder:
            make_app(folder)
            job = connection_for(url, "unlimited")
            samples, base = [], rss_mb()
            marks = {contacts * q // 4 for q in (1, 2, 3, 4)}

            def progress(run) -> None:
                if any(run.seen >= m for m in marks if m not in {s[0] for s in samples}):
                    mark = max(m for m in marks if run.seen >= m)
                    samples.append((mark, rss_mb()))

            start = time.perf_counter()
            run = start_run(job, "backfill")
            execute(run, progress=progress)
            elapsed = time.perf_counter() - start
            peak = max([rss for _, rss in samples] + [rss_mb()])
            rate = run.seen / elapsed
            print(f"[limits off] {run.seen:,} contacts in {elapsed:.1f} s = {rate:,.0f} records/s "
                  f"(created {run.created:,}, failed {run.failed:,}, {run.api_calls} API calls)   target >= 2,000/s")
            print(f"[limits off] memory: start {base:.0f} MB, " +
                  ", ".join(f"{n:,} rec -> {m:.0f} MB" for n, m in sorted(samples)) +
                  f"; peak {peak:.0f} MB   target < 300 MB, flat")
            fidelity = incremental(job, url, contacts // 100)
            return rate >= 2000 and peak < 300 and fidelity
    finally:
        proc.terminate()
        proc.wait()


def incremental(job, url: str, changes: int) -> bool:
    """1 % of the contacts change; the next run must see every change, at the provider's version."""
    import requests
    import sqlalchemy as sa

    from console.extensions import db
    from console.models import CrmLead, IntegrationSyncError
    from console.sync import reconcile
    from console.sync.runner import execute, start_run

    changed = requests.post(f"{url}/_sandbox/changes", json={"update": changes, "seed": 77}, timeout=120).json()["updated"]
    start = time.perf_counter()
    run = start_run(job, "scheduled")
    execute(run)
    elapsed = time.perf_counter() - start
    truth = {}
    for i in range(0, len(changed), 100):
        reply = requests.post(f"{url}/crm/v3/objects/contacts/batch/read", timeout=30,
                              headers={"Authorization": f"Bearer {TOKEN}"},
                              json={"properties": ["lastmodifieddate"], "inputs": [{"id": x} for x in changed[i:i + 100]]})
        truth.update({r["id"]: r["properties"]["lastmodifieddate"] for r in reply.json()["results"]})
    db.session.commit()
    stored = {l.external_id: l.provider_updated_at for l in db.session.scalars(
        sa.select(CrmLead).where(CrmLead.connection_id == job.connection_id, CrmLead.external_id.in_(changed)))}
    failing = set(db.session.scalars(sa.select(IntegrationSyncError.external_id).where(
        IntegrationSyncError.connection_id == job.connection_id, IntegrationSyncError.external_id.in_(changed),
        IntegrationSyncError.status.in_(["open", "retrying"]))))
    seen = sum(1 for x in changed if x in failing or (
        x in stored and stored[x] is not None and stored[x].strftime("%Y-%m-%dT%H:%M:%S.%f")[:23] + "Z" == truth.get(x)))
    print(f"[incremental] {changes:,} changed ({job_contacts(job):,} stored): the first run read {run.seen:,} "
          f"(updated {run.updated:,}, unchanged {run.unchanged:,}, failed {run.failed:,}) in {elapsed:.1f} s; "
          f"changes at the provider's version after it: {seen:,} of {len(changed):,}   target: all")
    start = time.perf_counter()
    row = reconcile.execute(reconcile.queue(job_connection(job), "contacts", "cli").id, "bench")
    print(f"[reconcile ] {row.provider_active:,} provider records compared in {time.perf_counter() - start:.1f} s: "
          f"{row.differences} differences ({row.failing:,} held by open errors)   target: 0")
    return seen == len(changed) and row.differences == 0


def job_contacts(job) -> int:
    import sqlalchemy as sa

    from console.extensions import db
    from console.models import CrmLead

    return db.session.scalar(sa.select(sa.func.count()).select_from(CrmLead).where(CrmLead.connection_id == job.connection_id))


def job_connection(job):
    from console.extensions import db
    from console.models import IntegrationConnection

    return db.session.get(IntegrationConnection, job.connection_id)


def limited(seconds: float = 30.0) -> bool:
    from console.connectors.hubspot.ratelimit import _registry
    from console.sync.runner import execute, start_run

    _registry.clear()
    proc, url = start_sandbox(60_000, limits=True)
    try:
        with tempfile.TemporaryDirectory() as folder:
            make_app(folder)
            job = connection_for(url, "limited")
            start = time.perf_counter()
            run = start_run(job, "backfill", limit=int(seconds * 1000))  # ceiling: 1,000 records/s
            execute(run)
            elapsed = time.perf_counter() - start
            calls_per_s = run.api_calls / elapsed
            share = calls_per_s / 10.0
            print(f"[limits on ] {run.seen:,} contacts in {elapsed:.1f} s, {run.api_calls} calls = "
                  f"{calls_per_s:.2f} calls/s of the 10/s ceiling = {share:.0%}; 429s: {run.rate_limited}   "
                  f"target >= 90%")
            return share >= 0.9
    finally:
        proc.terminate()
        proc.wait()


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    ok = unlimited(n)
    ok = limited() and ok
    print("PASS" if ok else "FAIL")
    sys.exit(0 if ok else 1)
