"""The console's Salesforce sync beside singer's tap-salesforce, against one Salesforce sandbox process (run
by hand, or from peers.py --peers ...,salesforce; prints its figures).

  .venv/bin/python tests/bench/salesforce_peer.py [--contacts 100000] [--rounds 2]

The console runs a full backfill of the org's contacts into fresh SQLite databases (extract, map, load, raw
and normalized events), in a process of its own like sync_throughput.py; tap-salesforce (unmodified, in a
virtual environment of its own, REST mode) reads the same contacts through queryAll, its login host shimmed
to the sandbox. Rounds are interleaved; each run's wall time is its whole process, its peak RSS the
kernel's. Both must read every contact. No time target is set for Salesforce (issue 38 asks for the row).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from tests.bench.peers import ensure_venv, timed  # noqa: E402
from tests.bench.sync_throughput import app_env, free_port, make_app, rss_mb  # noqa: E402
from tests.bench.verdict import judged  # noqa: E402

SHIM = '''import os
import requests
_TARGET, _HOSTS = os.environ["PEER_SALESFORCE_URL"], ("https://login.salesforce.com", "https://test.salesforce.com")
_send = requests.Session.send
def send(self, request, **kwargs):
    for host in _HOSTS:
        if request.url.startswith(host):
            request.url = _TARGET + request.url[len(host):]
    return _send(self, request, **kwargs)
requests.Session.send = send
'''
# fixed: the console runs in a process of its own, which reads the same values
APP = {"client_id": "3MVG9bench" + "x" * 20, "client_secret": "bench-secret", "refresh_token": "5Aep-bench-refresh-token"}


def start_org(contacts: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "sandbox", "salesforce", "--port", str(port),
                             "--contacts", str(contacts), "--daily-limit", "10000000", "--client-id", APP["client_id"],
                             "--client-secret", APP["client_secret"], "--refresh-token", APP["refresh_token"]],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "CONSOLE_SCHEDULER": "off"})
    url = f"http://127.0.0.1:{port}"
    import requests

    for _ in range(1200):
        try:
            if requests.get(url + "/", timeout=1).ok:
                return proc, url
        except requests.RequestException:
            time.sleep(0.1)
    raise RuntimeError("the Salesforce sandbox did not start")


def one(url: str, folder: str) -> dict:
    """The console's backfill of the org's contacts (in this process; the databases migrated beforehand)."""
    from console.extensions import db
    from console.models import Client, IntegrationConnection, IntegrationProviderAccount
    from console.reference import ensure_providers
    from console.sync.inbound.runner import ensure_job, execute, start_run

    make_app(folder, json.loads(os.environ["BENCH_ENV"]), migrate=False)
    provider = ensure_providers()["salesforce"]
    client = Client(name="Bench SF", slug="bench-sf")
    db.session.add(client)
    db.session.flush()
    account = IntegrationProviderAccount(provider_id=provider.id, client_id=client.id, environment="sandbox",
                                         auth_type="oauth", base_url=url, external_account_id="00DDn0000000001",
                                         oauth_client_id=APP["client_id"])
    db.session.add(account)
    account.set_secret("credentials", json.dumps({"access_token": "", "refresh_token": APP["refresh_token"]}))
    account.set_secret("client_secret", APP["client_secret"])
    conn = IntegrationConnection(client_id=client.id, provider_id=provider.id, account_id=account.id, name="bench",
                                 environment="sandbox")
    db.session.add(conn)
    db.session.flush()
    job = ensure_job(conn, "contacts")
    db.session.commit()
    started = time.perf_counter()
    run = start_run(job, "backfill")
    execute(run)
    return {"seconds": time.perf_counter() - started, "seen": run.seen, "failed": run.failed, "calls": run.api_calls,
            "peak_mb": rss_mb(), "balanced": run.buckets_balance, "status": run.status, "error": run.error_message}


def console(url: str) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        env = app_env(folder)
        subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"], cwd=ROOT, check=True,
                       env={**os.environ, **env}, capture_output=True)
        out = Path(folder) / "console.out"
        with open(out, "wb") as fh:
            seconds, peak, code = timed([sys.executable, __file__, "--one", url, "--folder", folder],
                                        {**os.environ, **env, "BENCH_ENV": json.dumps(env)}, fh)
        result = json.loads(out.read_text().strip().splitlines()[-1]) if code == 0 else {"seen": 0, "seconds": 0}
        return {**result, "process_seconds": seconds, "process_peak_mb": peak, "ok": code == 0}


def tap(url: str, folder: Path) -> dict:
    home = ensure_venv("tap-salesforce")
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(folder / "shim"), "PEER_SALESFORCE_URL": url}
    config = folder / "config.json"
    config.write_text(json.dumps({**APP, "start_date": "2000-01-01T00:00:00Z", "api_type": "REST",
                                  "select_fields_by_default": True, "is_sandbox": False}))
    catalog = folder / "catalog.json"
    if not catalog.exists():
        found = subprocess.run([str(home / "bin" / "tap-salesforce"), "--config", str(config), "--discover"], env=env,
                               capture_output=True, text=True, check=True)
        stream = next(s for s in json.loads(found.stdout)["streams"] if s["stream"] == "Contact")
        next(m for m in stream["metadata"] if m["breadcrumb"] == [])["metadata"].update(
            selected=True, **{"replication-key": "SystemModstamp", "replication-method": "INCREMENTAL"})
        catalog.write_text(json.dumps({"streams": [stream]}))
    out = folder / "tap.out"
    with open(out, "wb") as fh:
        seconds, peak, code = timed([str(home / "bin" / "tap-salesforce"), "--config", str(config), "--properties",
                                     str(catalog)], env, fh)
    ids = {json.loads(line)["record"]["Id"] for line in out.read_bytes().splitlines() if b'"RECORD"' in line[:40]}
    return {"process_seconds": seconds, "process_peak_mb": peak, "seen": len(ids), "ok": code == 0}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--one")
    parser.add_argument("--folder")
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args.folder)))
        return 0
    proc, url = start_org(args.contacts)
    results: dict[str, list[dict]] = {"console": [], "tap-salesforce": []}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            (folder / "shim").mkdir()
            (folder / "shim" / "sitecustomize.py").write_text(SHIM)
            for round_ in range(args.rounds):
                for name in (["console", "tap-salesforce"] if round_ % 2 == 0 else ["tap-salesforce", "console"]):
                    results[name].append(console(url) if name == "console" else tap(url, folder))
    finally:
        proc.terminate()
        proc.wait()
    print(f"[salesforce] {args.contacts:,} contacts, {args.rounds} interleaved rounds, one Salesforce sandbox process:")
    ok = True
    for name, runs in results.items():
        seconds = statistics.median(r["process_seconds"] for r in runs)
        complete = all(r["ok"] and r["seen"] == args.contacts for r in runs)
        ok = ok and complete and all(r.get("balanced", True) for r in runs)
        sync = f"; the sync itself {statistics.median(r['seconds'] for r in runs):.1f} s, {runs[0]['calls']} calls" \
            if name == "console" else ""
        print(f"  {name:15} {seconds:6.1f} s  {args.contacts / seconds:7,.0f} records/s  peak "
              f"{max(r['process_peak_mb'] for r in runs):4.0f} MB  {runs[0]['seen']:,} contacts"
              f"{'' if complete else ' (INCOMPLETE)'}{sync}")
        if not complete:
            print(f"    {runs[0].get('status')}: {runs[0].get('error')}")
    ratio = statistics.median(r["process_seconds"] for r in results["console"]) / statistics.median(
        r["process_seconds"] for r in results["tap-salesforce"])
    print(f"  console time / tap-salesforce time {ratio:.2f}")
    return 0 if judged(ok, True, "" if ok else "(a run did not read every contact)") else 1


if __name__ == "__main__":
    sys.exit(main())
