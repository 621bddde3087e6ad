"""A fleet on one MariaDB (issues 20 and 37; run by hand; prints its figures).

  .venv/bin/python tests/bench/scale_out.py [--minutes 10] [--connections 1000] [--portals 100]
                                            [--schedule 300] [--dispatchers 1,2,3,4] [--no-kill]

One sandbox process serves `portals` HubSpot portals (HubSpot's limits on), one client each;
`connections` live connections (spread over the clients) each sync contacts and deals every
`schedule` seconds; a background thread changes a few contacts in a random portal every 3 s, so
incremental runs write, and another posts signed webhook batches for random portals' contacts to the
console (gunicorn) every 2 s, which the dispatchers normalize (reading each object from the portal).
After a backfill (warm-up), for each count of dispatchers, `flask jobs run` processes run for
`minutes` beside gunicorn (2 workers, no dispatcher) serving the console, polled like an open ops
dashboard every 5 s. Each phase reports:

- runs per minute (scheduled runs started in the phase), and how many jobs ran at all;
- schedule lag: how late each run started after its job became due again (its previous run's end
  plus the schedule; the dispatcher schedules from the end of a run), p50 / p99 / max, the first
  minute (the backlog from the pause between phases) left out; and per client: the median client's
  p99 beside the worst client's, in dispatcher ticks (5 s);
- answers of 429 (the sandbox's count), and the share of each portal's window the fleet used
  (median and most: calls over what HubSpot's window allows in the phase);
- overlapping runs of one job (must be 0);
- CPU per process (% of one core over the phase) and the database server's share of all of it;
- the dashboard's polled partial through gunicorn, p50 / p99.

Then the largest count of dispatchers runs and one is SIGKILLed while it runs a job: the run it held is closed by the
sweep within its lease (sync/runs.STOPPED_AFTER) and its job is claimed again by another process
within the job lease (sync/lease.LEASE_SECONDS); nothing is left running, no record, lead event or
event key is stored twice, and every run's records add up.

Needs MariaDB on 127.0.0.1 as root (as in .ci/run) or BENCH_MARIADB_ADMIN_URL; two cores saturate.
"""
from __future__ import annotations

import argparse
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from tests.bench.sync_throughput import TOKEN, app_env, free_port, make_app, mariadb_admin  # noqa: E402

SCHEDULE_SECONDS = 300  # --schedule
TICK_SECONDS = 5.0      # the dispatcher's interval (CONSOLE_SCHEDULER_INTERVAL)
WEBHOOK_SECRET = "bench-webhook-secret-0123456789"
PASSWORD = "bench-password-123"
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its waited-for children, from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(fields[i]) for i in (11, 12, 13, 14)) / TICKS  # utime, stime, cutime, cstime


def children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def database_pid() -> int | None:
    for name in ("mariadbd", "mysqld"):
        found = subprocess.run(["pidof", name], capture_output=True, text=True).stdout.split()
        if found:
            return int(found[0])
    return None


def pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Poller(threading.Thread):
    """An open ops dashboard: signed in through gunicorn, polling the rows partial every 5 s."""

    def __init__(self, base: str) -> None:
        super().__init__(daemon=True)
        self.base, self.times, self.errors, self.stop = base, [], 0, threading.Event()
        self.http = requests.Session()

    def sign_in(self) -> None:
        page = self.http.get(f"{self.base}/login", timeout=10).text
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        resp = self.http.post(f"{self.base}/login", data={"email": "ops@example.com", "password": PASSWORD,
                                                          "csrf_token": token}, allow_redirects=False, timeout=10)
        assert resp.status_code == 303, resp.status_code

    def run(self) -> None:
        while not self.stop.wait(5):
            t0 = time.perf_counter()
            try:
                ok = self.http.get(f"{self.base}/ops/", headers={"HX-Request": "true"}, timeout=30).status_code == 200
            except requests.RequestException:
                ok = False
            if ok:
                self.times.append(time.perf_counter() - t0)
            else:
                self.errors += 1

    def take(self) -> tuple[list[float], int]:
        times, errors, self.times, self.errors = self.times, self.errors, [], 0
        return times, errors


class Changer(threading.Thread):
    """Changes three contacts of a random portal every 3 s, so incremental runs have work."""

    def __init__(self, url: str, portals: list[int]) -> None:
        super().__init__(daemon=True)
        self.url, self.portals, self.stop, self.rng = url, portals, threading.Event(), random.Random(5)

    def run(self) -> None:
        while not self.stop.wait(3):
            portal = self.rng.choice(self.portals)
            try:
                requests.post(f"{self.url}/_sandbox/changes?portal={portal}", timeout=10,
                              json={"object_type": "contacts", "update": 3, "seed": self.rng.randint(0, 10**6)})
            except requests.RequestException:
                pass


def seed(url: str, connections: int) -> list[int]:
    """One client per sandbox portal, `connections` live connections spread over them (two jobs each,
    due now, each account with the webhook secret); an ops user."""
    import json

    from console.choices import Environment
    from console.extensions import db
    from console.models import Client, IntegrationConnection, IntegrationProviderAccount, User
    from console.models.base import utcnow
    from console.reference import ensure_providers
    from console.sync.inbound.runner import ensure_job

    portals = requests.get(f"{url}/_sandbox/info", timeout=10).json()["portals"]
    provider = ensure_providers()["hubspot"]
    ops = User(email="ops@example.com", name="Ops", role="ops")
    ops.set_password(PASSWORD)
    db.session.add(ops)
    clients = []
    for n in range(len(portals)):
        client = Client(name=f"Client {n:03d}", slug=f"client-{n:03d}")
        db.session.add(client)
        clients.append(client)
    db.session.flush()
    for i in range(connections):
        portal, client = portals[i % len(portals)], clients[i % len(portals)]
        account = IntegrationProviderAccount(provider_id=provider.id, client_id=client.id, environment="production",
                                             auth_type="private_app", base_url=url,
                                             external_account_id=str(portal["portal_id"]))
        db.session.add(account)
        db.session.flush()
        account.set_secret("credentials", json.dumps({"token": portal["private_app_token"]}))
        account.set_secret("webhook_secret", WEBHOOK_SECRET)
        conn = IntegrationConnection(client_id=client.id, provider_id=provider.id, account_id=account.id,
                                     name=f"Client {i % len(portals):03d} CRM {i // len(portals)}",
                                     environment=Environment.PRODUCTION.value, status="live", went_live_at=utcnow())
        db.session.add(conn)
        db.session.flush()
        for object_type in ("contacts", "deals"):
            job = ensure_job(conn, object_type, schedule_seconds=SCHEDULE_SECONDS, enabled=True)
            job.depends_on = None
        if i % 50 == 49:
            db.session.commit()
    db.session.commit()
    return [p["portal_id"] for p in portals]


class Webhooks(threading.Thread):
    """HubSpot's webhooks: every 2 s a signed batch of five contact changes of one random portal, posted
    to the console's receiver (every connection of that portal takes them, and a dispatcher normalizes
    each by reading the contact from the portal)."""

    def __init__(self, receiver: str, contacts: dict[int, list[str]]) -> None:
        super().__init__(daemon=True)
        self.receiver, self.contacts, self.stop = receiver, contacts, threading.Event()
        self.rng, self.sent, self.refused, self.next_id = random.Random(7), 0, 0, int(time.time())
        self.http = requests.Session()

    def run(self) -> None:
        import json

        from console.connectors.hubspot.signature import expected

        while not self.stop.wait(2):
            portal = self.rng.choice(list(self.contacts))
            now = int(time.time() * 1000)
            events = []
            for object_id in self.rng.sample(self.contacts[portal], min(5, len(self.contacts[portal]))):
                self.next_id += 1
                events.append({"eventId": self.next_id, "subscriptionId": 1, "portalId": portal, "appId": 1,
                               "occurredAt": now, "subscriptionType": "contact.propertyChange", "attemptNumber": 0,
                               "objectId": int(object_id), "propertyName": "firstname", "propertyValue": "x",
                               "changeSource": "CRM"})
            body = json.dumps(events, separators=(",", ":")).encode()
            stamp = str(now)
            headers = {"Content-Type": "application/json", "X-HubSpot-Request-Timestamp": stamp,
                       "X-HubSpot-Signature-v3": expected("v3", WEBHOOK_SECRET, "POST", self.receiver, body, stamp)}
            try:
                ok = self.http.post(self.receiver, data=body, headers=headers, timeout=10).status_code == 200
            except requests.RequestException:
                ok = False
            self.sent += len(events) if ok else 0
            self.refused += 0 if ok else 1


def portal_contacts() -> dict[int, list[str]]:
    """Each portal's synced contact ids (after the backfill): what the webhooks name."""
    import sqlalchemy as sa

    from console.extensions import db
    from console.models import CrmLead, IntegrationConnection, IntegrationProviderAccount

    rows = db.session.execute(sa.select(IntegrationProviderAccount.external_account_id, CrmLead.external_id)
                              .join(IntegrationConnection, IntegrationConnection.account_id == IntegrationProviderAccount.id)
                              .join(CrmLead, CrmLead.connection_id == IntegrationConnection.id)
                              .where(CrmLead.object_type == "contacts").distinct()).all()
    found: dict[int, list[str]] = {}
    for portal, external_id in rows:
        found.setdefault(int(portal), []).append(external_id)
    return found


def start(args: list[str], env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", *args], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)


def dispatchers(n: int, env: dict) -> list[subprocess.Popen]:
    return [start(["flask", "--app", "wsgi", "jobs", "run"], env) for _ in range(n)]


def stop(procs: list[subprocess.Popen], wait: float = 180) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + wait
    for p in procs:
        try:
            p.wait(timeout=max(1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()


def scheduled_runs(since, until) -> list:
    import sqlalchemy as sa

    from console.extensions import db
    from console.models import IntegrationSyncRun as R

    db.session.rollback()  # a fresh snapshot
    return db.session.execute(sa.select(R.id, R.job_id, R.started_at, R.finished_at, R.status, R.worker).where(
        R.kind == "scheduled", R.started_at >= since, R.started_at < until).order_by(R.job_id, R.id)).all()


def lag_and_overlaps(since, until, measure_from) -> tuple[list[float], int, dict[int, list[float]]]:
    """Each run's start after its job was due again (the previous run's end + the schedule), how many
    runs of one job started before the one before had ended, and the lags by client."""
    import sqlalchemy as sa

    from console.extensions import db
    from console.models import IntegrationConnection, IntegrationSyncJob

    client_of = dict(db.session.execute(sa.select(IntegrationSyncJob.id, IntegrationConnection.client_id).join(
        IntegrationConnection, IntegrationConnection.id == IntegrationSyncJob.connection_id)).all())
    rows = scheduled_runs(since - timedelta(seconds=2 * SCHEDULE_SECONDS + 60), until)  # each job's run before
    lags, overlaps, previous, by_client = [], 0, {}, {}
    for _run_id, job_id, started, finished, _status, _worker in rows:
        before = previous.get(job_id)
        if before is not None:
            if before[1] is None or started < before[1]:
                overlaps += 1
            elif started >= measure_from:
                lag = (started - before[1]).total_seconds() - SCHEDULE_SECONDS
                lags.append(lag)
                by_client.setdefault(client_of.get(job_id, 0), []).append(lag)
        previous[job_id] = (started, finished)
    return lags, overlaps, by_client


def limits(url: str) -> dict:
    return requests.get(f"{url}/_sandbox/info", timeout=10).json()["limits"]


def phase(n: int, minutes: float, env: dict, watched: dict[str, int], poller: Poller, url: str) -> dict:
    from console.models.base import utcnow

    before = limits(url)
    procs = dispatchers(n, env)
    t0, cpu0 = utcnow(), {name: cpu_seconds(pid) for name, pid in watched.items()}
    dcpu0 = [cpu_seconds(p.pid) for p in procs]
    web0 = {pid: cpu_seconds(pid) for pid in children(watched["gunicorn"])}
    poller.take()
    wall0 = time.monotonic()
    time.sleep(minutes * 60)
    wall = time.monotonic() - wall0
    t1 = utcnow()
    dcpu = [cpu_seconds(p.pid) - c for p, c in zip(procs, dcpu0)]
    cpu = {name: cpu_seconds(pid) - cpu0[name] for name, pid in watched.items()}
    web = {pid: cpu_seconds(pid) for pid in children(watched["gunicorn"])}
    cpu["gunicorn"] += sum(v - web0.get(pid, 0.0) for pid, v in web.items())  # its workers are not waited for
    polls, poll_errors = poller.take()
    stop(procs)
    after = limits(url)
    allowed = 100 * wall / (after["window_ms"] / 1000)  # the starter tier's 100 calls a window
    shares = sorted((app["accepted"] - before["apps"].get(key, {}).get("accepted", 0)) / allowed
                    for key, app in after["apps"].items())
    runs = scheduled_runs(t0, t1)
    lags, overlaps, by_client = lag_and_overlaps(t0, t1, t0 + timedelta(minutes=1))
    client_p99 = sorted(pct(v, 0.99) for v in by_client.values())
    total = sum(dcpu) + sum(cpu.values())
    took = [(r.finished_at - r.started_at).total_seconds() for r in runs if r.finished_at and r.started_at]
    return {"dispatchers": n, "minutes": minutes, "runs": len(runs), "jobs": len({r.job_id for r in runs}),
            "took": took,
            "runs_per_minute": len(runs) / (wall / 60), "lag": lags, "overlaps": overlaps,
            "client_p99": client_p99, "rejected": after["rejected"] - before["rejected"], "shares": shares,
            "dispatcher_cpu": [c / wall * 100 for c in dcpu], "cpu": {k: v / wall * 100 for k, v in cpu.items()},
            "web_workers": len(web), "db_share": cpu.get("database", 0) / total * 100 if total else 0,
            "polls": polls, "poll_errors": poll_errors}


def kill_one(env: dict, n: int) -> dict:
    """`n` dispatchers; SIGKILL the first while it runs a job; watch the sweep and the re-claim."""
    import sqlalchemy as sa

    from console.extensions import db
    from console.models import CrmLeadEvent, IntegrationNormalizedEvent, IntegrationSyncJob, IntegrationSyncRun
    from console.models.base import utcnow
    from console.sync.runs.lease import LEASE_SECONDS
    from console.sync.runs.lifecycle import STOPPED, STOPPED_AFTER

    procs = dispatchers(n, env)
    victim = procs[0]
    prefix = f"{socket.gethostname()}:{victim.pid}:"
    held = None
    deadline = time.monotonic() + 180
    while held is None and time.monotonic() < deadline:
        db.session.rollback()
        held = db.session.execute(sa.select(IntegrationSyncRun.id, IntegrationSyncRun.job_id).where(
            IntegrationSyncRun.status == "running", IntegrationSyncRun.worker.startswith(prefix))).first()
        if held is None:
            time.sleep(0.05)
    if held is None:
        stop(procs)
        return {"error": "the first dispatcher never held a run in 3 minutes"}
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    killed_at = utcnow()
    swept = reclaimed = None
    deadline = time.monotonic() + STOPPED_AFTER.total_seconds() + 240
    while (swept is None or reclaimed is None) and time.monotonic() < deadline:
        time.sleep(0.5)
        db.session.rollback()
        run = db.session.get(IntegrationSyncRun, held.id)
        if swept is None and run.status != "running":
            swept = (run.finished_at - killed_at).total_seconds(), run.status, run.error_message or ""
        if reclaimed is None:
            later = db.session.execute(sa.select(IntegrationSyncRun.started_at, IntegrationSyncRun.worker).where(
                IntegrationSyncRun.job_id == held.job_id, IntegrationSyncRun.id > held.id)
                .order_by(IntegrationSyncRun.id).limit(1)).first()
            if later is not None:
                reclaimed = (later.started_at - killed_at).total_seconds(), later.worker
    stop(procs[1:])
    db.session.rollback()
    left_running = db.session.scalar(sa.select(sa.func.count()).select_from(IntegrationSyncRun).where(
        IntegrationSyncRun.status == "running"))
    leased = db.session.scalar(sa.select(sa.func.count()).select_from(IntegrationSyncJob).where(
        IntegrationSyncJob.lease_owner.startswith(prefix), IntegrationSyncJob.lease_expires_at > utcnow()))
    created_twice = db.session.scalar(sa.select(sa.func.count()).select_from(
        sa.select(CrmLeadEvent.lead_id).where(CrmLeadEvent.kind == "created").group_by(CrmLeadEvent.lead_id)
        .having(sa.func.count() > 1).subquery()))
    with db.engines["traffic"].connect() as traffic:
        ev = IntegrationNormalizedEvent
        keys_twice = traffic.scalar(sa.select(sa.func.count()).select_from(
            sa.select(ev.connection_id, ev.source_kind, ev.source_ref).group_by(ev.connection_id, ev.source_kind, ev.source_ref)
            .having(sa.func.count() > 1).subquery()))
    unbalanced = sum(0 if r.buckets_balance else 1 for r in db.session.scalars(sa.select(IntegrationSyncRun)))
    return {"run": held.id, "swept": swept, "reclaimed": reclaimed, "run_lease": STOPPED_AFTER.total_seconds(),
            "job_lease": LEASE_SECONDS, "left_running": left_running, "still_leased": leased,
            "created_twice": created_twice, "keys_twice": keys_twice, "unbalanced": unbalanced,
            "stopped_words": swept is not None and swept[2].startswith(STOPPED)}


def main() -> int:
    parser = argparse.ArgumentParser()
    global SCHEDULE_SECONDS
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--portals", type=int, default=100)
    parser.add_argument("--schedule", type=int, default=SCHEDULE_SECONDS)
    parser.add_argument("--dispatchers", default="1,2,3,4")
    parser.add_argument("--no-kill", action="store_true")
    args = parser.parse_args()
    SCHEDULE_SECONDS = args.schedule
    counts = [int(x) for x in args.dispatchers.split(",")]

    import sqlalchemy as sa

    admin_url = mariadb_admin()
    if not admin_url:
        print("no MariaDB reachable on 127.0.0.1 as root (set BENCH_MARIADB_ADMIN_URL)")
        return 2
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"scale_{uuid.uuid4().hex[:8]}"
    names = (name, name + "_traffic")
    with admin.connect() as c:
        for n in names:
            c.execute(sa.text(f"CREATE DATABASE `{n}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"))
    base = admin.url.render_as_string(hide_password=False)
    folder = f"/tmp/{name}"
    os.makedirs(folder, exist_ok=True)
    env = {**os.environ, **app_env(folder, tuple(f"{base}/{n}?charset=utf8mb4" for n in names)),
           "CONSOLE_SCHEDULER": "off", "CONSOLE_RECONCILE_EVERY_HOURS": "0"}
    procs: list[subprocess.Popen] = []
    try:
        subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"], cwd=ROOT, env=env,
                       check=True, capture_output=True)
        port = free_port()
        sandbox = start(["flask", "--app", "wsgi", "sandbox", "run", "--port", str(port), "--portals",
                         str(args.portals), "--contacts", "100", "--deals", "40", "--companies", "0", "--token", TOKEN],
                        env)
        procs.append(sandbox)
        url = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                if requests.get(f"{url}/_sandbox/info", timeout=1).ok:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        make_app(folder, env, migrate=False)
        portals = seed(url, args.connections)
        print(f"{args.connections} live connections over {len(portals)} portals (one client each), "
              f"{2 * args.connections} jobs every {SCHEDULE_SECONDS} s; dispatchers of 2 threads, a tick of "
              f"{TICK_SECONDS:g} s; MariaDB {name}")

        t = time.monotonic()  # the backfill: every job's first run
        warm = dispatchers(max(counts), env)
        from console.extensions import db
        from console.models import IntegrationSyncJob

        while time.monotonic() - t < 900:
            db.session.rollback()
            if not db.session.scalar(sa.select(sa.func.count()).select_from(IntegrationSyncJob).where(
                    IntegrationSyncJob.last_success_at.is_(None))):
                break
            time.sleep(2)
        stop(warm)
        print(f"backfill of every job: {time.monotonic() - t:.0f} s")

        web_port = free_port()
        gunicorn = start(["gunicorn", "--workers", "2", "--bind", f"127.0.0.1:{web_port}", "wsgi:app"], env)
        procs.append(gunicorn)
        time.sleep(3)
        poller = Poller(f"http://127.0.0.1:{web_port}")
        poller.sign_in()
        poller.start()
        changer = Changer(url, portals)
        changer.start()
        hooks = Webhooks(f"http://127.0.0.1:{web_port}/webhooks/hubspot", portal_contacts())
        hooks.start()
        watched = {"sandbox": sandbox.pid, "gunicorn": gunicorn.pid}
        db_pid = database_pid()
        if db_pid:
            watched["database"] = db_pid

        results = []
        for n in counts:
            r = phase(n, args.minutes, env, watched, poller, url)
            results.append(r)
            lags = r["lag"]
            print(f"[{n} dispatcher{'s' if n > 1 else ''}] {r['runs']:,} runs in {r['minutes']:g} min = "
                  f"{r['runs_per_minute']:.0f} runs/min ({r['jobs']} of {2 * args.connections} jobs ran); "
                  f"schedule lag p50 {pct(lags, 0.5):.1f} s, p99 {pct(lags, 0.99):.1f} s, max "
                  f"{max(lags, default=0):.1f} s ({len(lags):,} runs after the first minute); "
                  f"overlapping runs of one job: {r['overlaps']}; a run takes p50 {pct(r['took'], 0.5):.2f} s, "
                  f"p90 {pct(r['took'], 0.9):.2f} s")
            worst, median = (r["client_p99"][-1], pct(r["client_p99"], 0.5)) if r["client_p99"] else (0.0, 0.0)
            print(f"    lag p99 per client: the median client's {median:.1f} s ({median / TICK_SECONDS:.1f} ticks), "
                  f"the worst client's {worst:.1f} s ({worst / TICK_SECONDS:.1f} ticks) over {len(r['client_p99'])} "
                  f"clients; answers of 429: {r['rejected']}; share of each portal's window used: median "
                  f"{pct(r['shares'], 0.5) * 100:.1f}%, most {max(r['shares'], default=0) * 100:.1f}%")
            print(f"    CPU (% of one core): dispatchers {', '.join(f'{c:.0f}' for c in r['dispatcher_cpu'])}; "
                  + ", ".join(f"{k} {v:.0f}" for k, v in r["cpu"].items())
                  + f" (gunicorn: master + {r['web_workers']} workers); the database's share {r['db_share']:.0f}%")
            print(f"    dashboard partial through gunicorn: p50 {pct(r['polls'], 0.5) * 1000:.0f} ms, p99 "
                  f"{pct(r['polls'], 0.99) * 1000:.0f} ms over {len(r['polls'])} polls, {r['poll_errors']} failed")
        ok = all(r["overlaps"] == 0 and r["rejected"] == 0 for r in results)
        print(f"webhooks: {hooks.sent:,} events posted in signed batches, {hooks.refused} batches refused")
        ok = ok and hooks.refused == 0
        if not args.no_kill:
            k = kill_one(env, max(counts))
            if "error" in k:
                print(f"[kill] {k['error']}")
                ok = False
            else:
                swept, reclaimed = k["swept"], k["reclaimed"]
                print(f"[kill] SIGKILL of a dispatcher holding run {k['run']}: the run was closed "
                      + (f"{swept[0]:.0f} s later ({swept[1]}; run lease {k['run_lease']:.0f} s + sweep)" if swept
                         else "NEVER")
                      + "; its job ran again "
                      + (f"{reclaimed[0]:.0f} s later (job lease {k['job_lease']} s)" if reclaimed else "NEVER"))
                print(f"    runs left running: {k['left_running']}; jobs still leased to the dead process: "
                      f"{k['still_leased']}; leads created twice: {k['created_twice']}; event keys stored twice: "
                      f"{k['keys_twice']}; runs whose records do not add up: {k['unbalanced']}")
                ok = ok and bool(swept and reclaimed and k["stopped_words"]) and not any(
                    k[x] for x in ("left_running", "created_twice", "keys_twice", "unbalanced"))
                ok = ok and swept[0] <= k["run_lease"] + 60 and reclaimed[0] <= k["job_lease"] + 30
        poller.stop.set()
        changer.stop.set()
        hooks.stop.set()
        print("PASS" if ok else "FAIL")
        return 0 if ok else 1
    finally:
        stop(procs, wait=20)
        try:
            from console.extensions import db

            db.session.remove()  # an open transaction would hold the DROP below on a metadata lock
            for engine in db.engines.values():
                engine.dispose()
        except RuntimeError:  # no app was made
            pass
        with admin.connect() as c:
            for n in names:
                c.execute(sa.text(f"DROP DATABASE IF EXISTS `{n}`"))


if __name__ == "__main__":
    sys.exit(main())
