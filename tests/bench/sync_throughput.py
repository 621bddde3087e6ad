"""Sync throughput against the sandbox (run by hand; prints its figures).

  .venv/bin/python tests/bench/sync_throughput.py [--contacts 10000,100000] [--db sqlite,mariadb] [--no-limits-check]

For each database and size, in a process of its own (migrated beforehand by `flask db upgrade` in
another process, so the memory figures are the sync's alone; the sandbox runs in a third process):

1. Limits off: a full backfill of N contacts, end to end (HTTP, mapping, raw + normalized events, leads,
   lead events): records/s, peak RSS at 25/50/75/100 % of the records, and the time split: fetch (the
   prefetch thread's HTTP and parsing, overlapped), decide (stored rows, mapping, comparing), write
   (both databases, commits included), wait (the writer idle for a page).
2. Then 1 % of the contacts change at the provider and one incremental run follows: wall time, and how
   many changes are stored at the provider's version after it (batch-read over HTTP: all of them).
3. A reconciliation, values compared, must then find 0 differences; the console's CPU time for it is
   printed apart from the sandbox's (target: under 10 s at 100k on SQLite).
4. The console-side half of a reconciliation at 1,000,000 records (reconcile_bench.py, in a process of
   its own): time and peak memory (--console-compare N, 0 to skip).

Then, with HubSpot's default limits on (100 calls per 10 s), the share of the window a backfill uses
and its 429s. Targets (issue 17, this machine, 2 cores): SQLite 100k >= 8,000 records/s with peak RSS
< 120 MB, flat from 25k to 100k; MariaDB 100k >= 5,000 records/s; the incremental run under 2 s;
limits on >= 97 % of the window, zero 429s. MariaDB is used when `mysqladmin` reaches a server on
127.0.0.1 as root (as in .ci/run), or BENCH_MARIADB_ADMIN_URL names one.
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from tests.bench.verdict import judged  # noqa: E402

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


def start_sandbox(contacts: int, limits: bool, spread_ties: bool = False) -> tuple[subprocess.Popen, str]:
    port = free_port()
    args = [sys.executable, "-m", "flask", "--app", "wsgi", "sandbox", "run", "--port", str(port),
            "--contacts", str(contacts), "--deals", "0", "--companies", "50", "--token", TOKEN]
    if not limits:
        args.append("--no-limits")
    if spread_ties:
        args.append("--spread-ties")
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


def app_env(folder: str, urls: tuple[str, str] | None = None) -> dict:
    from console.config import new_master_key_entry

    primary, traffic = urls or (f"sqlite:///{folder}/console.db", f"sqlite:///{folder}/traffic.db")
    return {"DATABASE_URL": primary, "TRAFFIC_DATABASE_URL": traffic, "SECRET_KEY": "bench",
            "CONSOLE_MASTER_KEY": new_master_key_entry(), "CONSOLE_SCHEDULER": "off", "CONSOLE_PROVIDER_HOSTS": "127.0.0.1",
            # CONSOLE_CALL_BUDGET_URL=process measures the sync without the shared call budget's statements
            **{k: os.environ[k] for k in ("CONSOLE_CALL_BUDGET_URL",) if k in os.environ}}


def make_app(folder: str, env: dict | None = None, migrate: bool = True):
    """The console's app on `env`'s databases (SQLite in `folder` by default), migrated in this
    process unless `migrate` is False (then `flask db upgrade` already ran in another)."""
    from console import create_app

    app = create_app({"INSTANCE_PATH": folder}, env=env or app_env(folder))
    ctx = app.app_context()
    ctx.push()
    if migrate:
        from console.extensions import upgrade

        upgrade()
    return app


def connection_for(url: str, portal: str, links: bool = False):
    """A connection syncing contacts; with `links`, companies are one of its objects too (the job is not
    run), so each page of contacts also reads its contacts → companies associations."""
    from console.choices import Environment
    from console.extensions import db
    from console.models import Client, IntegrationConnection, IntegrationProviderAccount
    from console.reference import ensure_providers
    from console.sync.inbound.runner import ensure_job

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
    if links:
        ensure_job(conn, "companies")
    db.session.commit()
    return job


def sandbox_requests(url: str) -> dict[str, int]:
    import requests

    return requests.get(f"{url}/_sandbox/info", timeout=10).json()["requests"]


def links_cost(job, url: str) -> dict:
    """What reading associations costs: a full re-read of every contact with contacts → companies
    associations read beside each page (calls counted by the sandbox, seconds by the prefetch thread)."""
    from console.extensions import db
    from console.models import IntegrationConnection
    from console.sync.inbound.runner import ensure_job, execute, start_run

    ensure_job(db.session.get(IntegrationConnection, job.connection_id), "companies")
    db.session.commit()
    path = "POST /crm/v4/associations/contacts/companies/batch/read"
    before = sandbox_requests(url).get(path, 0)
    run = start_run(job, "manual")
    tally = execute(run, full=True)
    return {"links_seen": run.seen, "links_calls": sandbox_requests(url).get(path, 0) - before,
            "links_seconds": tally.phases.get("links", 0.0), "links_added": run.links_added,
            "links_run_seconds": (run.finished_at - run.started_at).total_seconds()}


# ---- one measurement, in its own process --------------------------------------------------------------
def one(contacts: int, env: dict, folder: str, url: str | None = None) -> dict:
    """The backfill (and, without `url`, the incremental run and reconciliation) against a sandbox of
    its own, or against the one at `url` (the peer comparison, which stops after the backfill)."""
    from console.sync.inbound.runner import execute, start_run

    proc = None
    if url is None:
        proc, url = start_sandbox(contacts, limits=False)
    try:
        make_app(folder, env, migrate=False)
        job = connection_for(url, "unlimited")
        marks = [contacts * q // 4 for q in (1, 2, 3, 4)]
        samples: dict[int, float] = {}
        base = rss_mb()

        def progress(run) -> None:
            for mark in marks:
                if run.seen >= mark and mark not in samples:
                    samples[mark] = rss_mb()

        start = time.perf_counter()
        run = start_run(job, "backfill")
        tally = execute(run, progress=progress)
        elapsed = time.perf_counter() - start
        result = {"contacts": contacts, "seconds": elapsed, "rate": run.seen / elapsed, "seen": run.seen,
                  "created": run.created, "failed": run.failed, "calls": run.api_calls, "start_mb": base,
                  "rss": {str(k): v for k, v in sorted(samples.items())}, "peak_mb": max([*samples.values(), rss_mb()]),
                  "phases": tally.phases, "status": run.status}
        if proc is not None:
            result.update(incremental(job, url, contacts // 100))
            result.update(links_cost(job, url))
        return result
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait()


def incremental(job, url: str, changes: int) -> dict:
    """1 % of the contacts change; the next run must see every change, at the provider's version."""
    import requests
    import sqlalchemy as sa

    from console.extensions import db
    from console.models import CrmLead, IntegrationSyncError
    from console.sync.inbound.runner import execute, start_run
    from console.sync.proof import reconcile

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
    stored = {lead.external_id: lead.provider_updated_at for lead in db.session.scalars(
        sa.select(CrmLead).where(CrmLead.connection_id == job.connection_id, CrmLead.external_id.in_(changed)))}
    failing = set(db.session.scalars(sa.select(IntegrationSyncError.external_id).where(
        IntegrationSyncError.connection_id == job.connection_id, IntegrationSyncError.external_id.in_(changed),
        IntegrationSyncError.status.in_(["open", "retrying"]))))
    current = sum(1 for x in changed if x in failing or (
        x in stored and stored[x] is not None and stored[x].strftime("%Y-%m-%dT%H:%M:%S.%f")[:23] + "Z" == truth.get(x)))
    out = {"changes": len(changed), "inc_seconds": elapsed, "inc_seen": run.seen, "inc_updated": run.updated,
           "inc_failed": run.failed, "inc_current": current}
    start, cpu = time.perf_counter(), time.process_time()
    from console.models import IntegrationConnection

    row = reconcile.execute(reconcile.queue(db.session.get(IntegrationConnection, job.connection_id), "contacts",
                                            "cli").id, "bench")
    # The sandbox answers in a process of its own: this process's CPU time is the console's share.
    out.update(rec_seconds=time.perf_counter() - start, rec_cpu=time.process_time() - cpu,
               rec_compared=row.provider_active, differences=row.differences, rec_failing=row.failing,
               rec_drift=row.value_drift)
    return out


def limited(seconds: float = 30.0) -> dict:
    from console.sync.inbound.runner import execute, start_run

    proc, url = start_sandbox(60_000, limits=True)
    try:
        with tempfile.TemporaryDirectory() as folder:
            make_app(folder)
            job = connection_for(url, "limited", links=True)
            start = time.perf_counter()
            run = start_run(job, "backfill", limit=int(seconds * 1000))  # ceiling: 1,000 records/s
            execute(run)
            elapsed = time.perf_counter() - start
            return {"seen": run.seen, "seconds": elapsed, "calls": run.api_calls, "share": run.api_calls / elapsed / 10.0,
                    "rate_limited": run.rate_limited}
    finally:
        proc.terminate()
        proc.wait()


# ---- the driver ------------------------------------------------------------------------------------------
def mariadb_admin() -> str | None:
    if os.environ.get("BENCH_MARIADB_ADMIN_URL"):
        return os.environ["BENCH_MARIADB_ADMIN_URL"]
    reachable = subprocess.run(["mysqladmin", "--protocol=tcp", "-h", "127.0.0.1", "-uroot", "status"],
                               capture_output=True).returncode == 0 if _has("mysqladmin") else False
    return "mysql+pymysql://root@127.0.0.1:3306" if reachable else None


def _has(command: str) -> bool:
    from shutil import which

    return which(command) is not None


def measure(contacts: int, engine: str, url: str | None = None) -> dict:
    """Migrate fresh databases in one process, measure in another, drop the databases."""
    import sqlalchemy as sa

    with tempfile.TemporaryDirectory() as folder:
        admin, names, urls = None, [], None
        if engine == "mariadb":
            admin = sa.create_engine(mariadb_admin() or "", isolation_level="AUTOCOMMIT")
            names = [f"bench_{uuid.uuid4().hex[:8]}", None]
            names[1] = names[0] + "_traffic"
            base = admin.url.render_as_string(hide_password=False)
            with admin.connect() as c:
                for name in names:
                    c.execute(sa.text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"))
            urls = tuple(f"{base}/{name}?charset=utf8mb4" for name in names)
        env = app_env(folder, urls)
        try:
            subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"], cwd=ROOT, check=True,
                           env={**os.environ, **env}, capture_output=True)
            started = time.perf_counter()
            child = subprocess.run([sys.executable, __file__, "--one", str(contacts), "--folder", folder,
                                    *(["--url", url] if url else [])],
                                   cwd=ROOT, env={**os.environ, **env, "BENCH_ENV": json.dumps(env)},
                                   capture_output=True, text=True)
            process_seconds = time.perf_counter() - started
            if child.returncode != 0:
                raise RuntimeError(child.stderr[-3000:])
            return {**json.loads(child.stdout.strip().splitlines()[-1]), "process_seconds": process_seconds}
        finally:
            if admin is not None:
                with admin.connect() as c:
                    for name in names:
                        c.execute(sa.text(f"DROP DATABASE IF EXISTS `{name}`"))


def report(engine: str, r: dict) -> tuple[bool, bool]:
    """Print one measurement; (its counts add up, its targets are met: at 100,000 contacts and more)."""
    n = r["contacts"]
    phases = r["phases"]
    split = ", ".join(f"{k} {phases.get(k, 0):.1f} s" for k in ("fetch", "decide", "write", "wait"))
    rss = ", ".join(f"{int(k):,} -> {v:.0f} MB" for k, v in r["rss"].items())
    print(f"[{engine:7} {n:>7,}] {r['seen']:,} contacts in {r['seconds']:.1f} s = {r['rate']:,.0f} records/s "
          f"(created {r['created']:,}, failed {r['failed']:,}, {r['calls']} API calls; run {r['status']})")
    print(f"[{engine:7} {n:>7,}] time split: {split}")
    print(f"[{engine:7} {n:>7,}] memory: start {r['start_mb']:.0f} MB; {rss}; peak {r['peak_mb']:.0f} MB")
    print(f"[{engine:7} {n:>7,}] incremental: {r['changes']:,} changed, the run read {r['inc_seen']:,} "
          f"(updated {r['inc_updated']:,}, failed {r['inc_failed']:,}) in {r['inc_seconds']:.2f} s; "
          f"at the provider's version after it: {r['inc_current']:,} of {r['changes']:,}")
    print(f"[{engine:7} {n:>7,}] reconcile (values compared): {r['rec_compared']:,} records in {r['rec_seconds']:.1f} s, "
          f"{r['rec_cpu']:.1f} s of it the console's CPU; {r['differences']} differences ({r['rec_drift']} value drift; "
          f"{r['rec_failing']:,} held by open errors)")
    per = 100_000 / max(1, r["links_seen"])
    print(f"[{engine:7} {n:>7,}] associations: a full re-read of {r['links_seen']:,} contacts read their companies in "
          f"{r['links_calls']} calls and {r['links_seconds']:.1f} s of the fetch thread ({r['links_added']:,} stored; "
          f"run {r['links_run_seconds']:.1f} s) = {r['links_calls'] * per:,.0f} calls and "
          f"{r['links_seconds'] * per:.1f} s per 100,000 records")
    ok, targets_met = r["inc_current"] == r["changes"] and r["differences"] == 0 and r["seen"] == n, True
    # one call per 500 records (the pages a run merges), not one per page of 100
    ok = ok and 0 < r["links_calls"] <= -(-r["links_seen"] // 500) + 1 and r["links_added"] > 0
    if n >= 100_000:
        quarter = [v for k, v in r["rss"].items()]
        targets = {"sqlite": (8000, 120), "mariadb": (5000, None)}[engine]
        met = [r["rate"] >= targets[0], targets[1] is None or r["peak_mb"] < targets[1], r["inc_seconds"] < 2,
               engine != "sqlite" or r["rec_cpu"] < 10]
        print(f"[{engine:7} {n:>7,}] targets: >= {targets[0]:,} records/s {'met' if met[0] else 'MISSED'}"
              + (f"; peak < {targets[1]} MB {'met' if met[1] else 'MISSED'} (growth 25k -> 100k: "
                 f"{quarter[-1] - quarter[0]:+.0f} MB)" if targets[1] else "")
              + f"; incremental < 2 s {'met' if met[2] else 'MISSED'}"
              + (f"; reconcile < 10 s of console time {'met' if met[3] else 'MISSED'}" if engine == "sqlite" else ""))
        targets_met = all(met)
    return ok, targets_met


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contacts", default="10000,100000")
    parser.add_argument("--db", default="sqlite,mariadb")
    parser.add_argument("--no-limits-check", action="store_true")
    parser.add_argument("--one", type=int)
    parser.add_argument("--folder")
    parser.add_argument("--url")
    parser.add_argument("--console-compare", type=int, default=1_000_000)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one, json.loads(os.environ["BENCH_ENV"]), args.folder, args.url)))
        return 0
    ok, targets = True, True
    for engine in args.db.split(","):
        if engine == "mariadb" and not mariadb_admin():
            print("[mariadb] no server reachable on 127.0.0.1 (set BENCH_MARIADB_ADMIN_URL): skipped")
            continue
        for n in (int(x) for x in args.contacts.split(",")):
            counts_ok, met = report(engine, measure(n, engine))
            ok, targets = ok and counts_ok, targets and met
    if args.console_compare:
        done = subprocess.run([sys.executable, str(ROOT / "tests/bench/reconcile_bench.py"), str(args.console_compare)],
                              cwd=ROOT, capture_output=True, text=True, env={**os.environ, "CONSOLE_SCHEDULER": "off"})
        for line in done.stdout.splitlines():
            if not line.startswith("INFO"):
                print(f"[console-side {args.console_compare:,}] {line}")
        ok = ok and done.returncode == 0
    if not args.no_limits_check:
        r = limited()
        print(f"[limits on] {r['seen']:,} contacts (with their companies' associations) in {r['seconds']:.1f} s, "
              f"{r['calls']} calls = {r['share']:.0%} of the 10 calls/s window; 429s: {r['rate_limited']}   "
              "target >= 97 %, zero 429s")
        ok = ok and r["rate_limited"] == 0
        targets = targets and r["share"] >= 0.97
    return 0 if judged(ok, targets) else 1


if __name__ == "__main__":
    sys.exit(main())
