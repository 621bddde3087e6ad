"""Scale-out on one MariaDB (issue 20, item 4; run by hand; prints its figures).

  .venv/bin/python tests/bench/scale_out.py [--minutes 10] [--connections 300] [--portals 30]
                                            [--dispatchers 1,2,3] [--no-kill]

One sandbox process serves `portals` HubSpot portals (HubSpot's limits on); `connections` live
connections (spread over the portals) each sync contacts and deals on a one-minute schedule; a
background thread changes a few contacts in a random portal every 3 s, so incremental runs write.
After a backfill (warm-up), for each count of dispatchers, `flask jobs run` processes run for
`minutes` beside gunicorn (2 workers, no dispatcher) serving the console, polled like an open ops
dashboard every 5 s. Each phase reports:

- runs per minute (scheduled runs started in the phase), and how many jobs ran at all;
- schedule lag: how late each run started after its job became due again (its previous run's end
  plus the schedule; the dispatcher schedules from the end of a run), p50 / p99 / max, the first
  minute (the backlog from the pause between phases) left out;
- overlapping runs of one job (must be 0);
- CPU per process (% of one core over the phase) and the database server's share of all of it;
- the dashboard's polled partial through gunicorn, p50 / p99.

Then three dispatchers run and one is SIGKILLed while it runs a job: the run it held is closed by the
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

SCHEDULE_SECONDS = 60
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
    """Live connections spread over the sandbox's portals, two jobs each due now; an ops user."""
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
    for i in range(connections):
        portal = portals[i % len(portals)]
        client = Client(name=f"Client {i:03d}", slug=f"client-{i:03d}")
        db.session.add(client)
        db.session.flush()
        account = IntegrationProviderAccount(provider_id=provider.id, client_id=client.id, environment="production",
                                             auth_type="private_app", base_url=url,
                                             external_account_id=str(portal["portal_id"]))
        db.session.add(account)
        db.session.flush()
        account.set_secret("credentials", json.dumps({"token": portal["private_app_token"]}))
        conn = IntegrationConnection(client_id=client.id, provider_id=provider.id, account_id=account.id,
                                     name=f"Client {i:03d} CRM", environment=Environment.PRODUCTION.value,
                                     status="live", went_live_at=utcnow())
        db.session.add(conn)
        db.session.flush()
        for object_type in ("contacts", "deals"):
            job = ensure_job(conn, object_type, schedule_seconds=SCHEDULE_SECONDS, enabled=True)
            job.depends_on = None
        if i % 50 == 49:
            db.session.commit()
    db.session.commit()
    return [p["portal_id"] for p in portals]


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


def lag_and_overlaps(since, until, measure_from) -> tuple[list[float], int]:
    """Each run's start after its job was due again (the previous run's end + the schedule), and how
    many runs of one job started before the one before had ended."""
    rows = scheduled_runs(since - timedelta(minutes=5), until)
    lags, overlaps, previous = [], 0, {}
    for _run_id, job_id, started, finished, _status, _worker in rows:
        before = previous.get(job_id)
        if before is not None:
            if before[1] is None or started < before[1]:
                overlaps += 1
            elif started >= measure_from:
                lags.append((started - before[1]).total_seconds() - SCHEDULE_SECONDS)
        previous[job_id] = (started, finished)
    return lags, overlaps


def phase(n: int, minutes: float, env: dict, watched: dict[str, int], poller: Poller) -> dict:
    from console.models.base import utcnow

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
    runs = scheduled_runs(t0, t1)
    lags, overlaps = lag_and_overlaps(t0, t1, t0 + timedelta(minutes=1))
    total = sum(dcpu) + sum(cpu.values())
    took = [(r.finished_at - r.started_at).total_seconds() for r in runs if r.finished_at and r.started_at]
    return {"dispatchers": n, "minutes": minutes, "runs": len(runs), "jobs": len({r.job_id for r in runs}),
            "took": took,
            "runs_per_minute": len(runs) / (wall / 60), "lag": lags, "overlaps": overlaps,
            "dispatcher_cpu": [c / wall * 100 for c in dcpu], "cpu": {k: v / wall * 100 for k, v in cpu.items()},
            "web_workers": len(web), "db_share": cpu.get("database", 0) / total * 100 if total else 0,
            "polls": polls, "poll_errors": poll_errors}


def kill_one(env: dict) -> dict:
    """Three dispatchers; SIGKILL the first while it runs a job; watch the sweep and the re-claim."""
    import sqlalchemy as sa

    from console.extensions import db
    from console.models import CrmLeadEvent, IntegrationNormalizedEvent, IntegrationSyncJob, IntegrationSyncRun
    from console.models.base import utcnow
    from console.sync.runs.lease import LEASE_SECONDS
    from console.sync.runs.lifecycle import STOPPED, STOPPED_AFTER

    procs = dispatchers(3, env)
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
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--connections", type=int, default=300)
    parser.add_argument("--portals", type=int, default=30)
    parser.add_argument("--dispatchers", default="1,2,3")
    parser.add_argument("--no-kill", action="store_true")
    args = parser.parse_args()

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
        print(f"{args.connections} live connections over {len(portals)} portals, {2 * args.connections} jobs "
              f"every {SCHEDULE_SECONDS} s; MariaDB {name}")

        t = time.monotonic()  # the backfill: every job's first run, three dispatchers
        warm = dispatchers(3, env)
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
        watched = {"sandbox": sandbox.pid, "gunicorn": gunicorn.pid}
        db_pid = database_pid()
        if db_pid:
            watched["database"] = db_pid

        results = []
        for n in [int(x) for x in args.dispatchers.split(",")]:
            r = phase(n, args.minutes, env, watched, poller)
            results.append(r)
            lags = r["lag"]
            print(f"[{n} dispatcher{'s' if n > 1 else ''}] {r['runs']:,} runs in {r['minutes']:g} min = "
                  f"{r['runs_per_minute']:.0f} runs/min ({r['jobs']} of {2 * args.connections} jobs ran); "
                  f"schedule lag p50 {pct(lags, 0.5):.1f} s, p99 {pct(lags, 0.99):.1f} s, max "
                  f"{max(lags, default=0):.1f} s ({len(lags):,} runs after the first minute); "
                  f"overlapping runs of one job: {r['overlaps']}; a run takes p50 {pct(r['took'], 0.5):.2f} s, "
                  f"p90 {pct(r['took'], 0.9):.2f} s")
            print(f"    CPU (% of one core): dispatchers {', '.join(f'{c:.0f}' for c in r['dispatcher_cpu'])}; "
                  + ", ".join(f"{k} {v:.0f}" for k, v in r["cpu"].items())
                  + f" (gunicorn: master + {r['web_workers']} workers); the database's share {r['db_share']:.0f}%")
            print(f"    dashboard partial through gunicorn: p50 {pct(r['polls'], 0.5) * 1000:.0f} ms, p99 "
                  f"{pct(r['polls'], 0.99) * 1000:.0f} ms over {len(r['polls'])} polls, {r['poll_errors']} failed")
        ok = all(r["overlaps"] == 0 for r in results)
        if not args.no_kill:
            k = kill_one(env)
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
