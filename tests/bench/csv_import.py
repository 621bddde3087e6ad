"""Manual CSV import throughput (run by hand; prints its figures).

  .venv/bin/python tests/bench/csv_import.py [rows]

Writes a CSV of N contacts (default 100,000; with quoted commas and newlines, some invalid emails),
uploads it through the service (whole-file check, hash, stored file), then runs the import the way
the dispatcher does, into SQLite (or DATABASE_URL/TRAFFIC_DATABASE_URL when set, already migrated).
Prints rows/s and memory sampled as rows are imported. The databases are migrated by one process and
the import runs in another, as a dispatcher that never held the upload would, so the figures are the
import's own. Targets (issue 17): 100,000 rows in under 10 s, peak under 120 MB.
"""
from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.bench.sync_throughput import ROOT, app_env, make_app, rss_mb
from tests.bench.verdict import judged


def build_csv(rows: int) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["Record ID", "Email", "First Name", "Last Name", "Phone Number", "Company", "Notes"])
    for i in range(rows):
        email = f"person{i}@example.com" if i % 50 else f"broken-{i}"
        writer.writerow([str(1_000_000 + i), email, f"First{i}", f"Last, {i}", f"416555{i % 10000:04d}",
                         f"Company {i % 997}", "two\nlines" if i % 10 == 0 else ""])
    return out.getvalue().encode("utf-8")


def main(rows: int) -> bool:
    from console.extensions import db
    from console.imports import service
    from console.models import Client, IntegrationConnection, IntegrationSyncRun, User
    from console.reference import ensure_providers

    with tempfile.TemporaryDirectory() as folder:
        env = app_env(folder)
        subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"], cwd=ROOT, check=True,
                       env={**os.environ, **env}, capture_output=True)
        make_app(folder, env, migrate=False)
        provider = ensure_providers()["manual_csv"]
        client = Client(name="Bench", slug="bench")
        user = User(email="ops@example.com", name="Ops", role="ops")
        user.set_password("bench-password-not-used")
        db.session.add_all([client, user])
        db.session.flush()
        conn = IntegrationConnection(client_id=client.id, provider_id=provider.id, name="bench csv",
                                     environment="sandbox")
        db.session.add(conn)
        db.session.commit()
        data = build_csv(rows)
        print(f"file: {len(data) / 1e6:.1f} MB, {rows:,} rows")

        t0 = time.perf_counter()
        imp = service.upload(conn, "bench.csv", data, "contacts", user)
        t_upload = time.perf_counter() - t0
        del data
        imp.mapping = {"id_column": "Record ID", "fields": {"email": "Email", "first_name": "First Name",
                                                            "last_name": "Last Name", "phone": "Phone Number",
                                                            "company_name": "Company"}}
        db.session.commit()
        run = service.queue(conn, imp, user)
        # The import runs in a process of its own, as on a dispatcher that never held the upload: the
        # figures are the import's, not the bench's (building and uploading the file here).
        child = subprocess.run([sys.executable, __file__, "--run", str(run.id), "--folder", folder], cwd=ROOT,
                               env={**os.environ, **env}, capture_output=True, text=True)
        if child.returncode != 0:
            raise RuntimeError(child.stderr[-3000:])
        figures = json.loads(child.stdout.strip().splitlines()[-1])
        db.session.expire_all()
        run = db.session.get(IntegrationSyncRun, run.id)
        samples, elapsed, base = figures["samples"], figures["seconds"], figures["base"]
        samples = samples or [figures["end"]]  # an import faster than the sampler's first look (a smoke size)
        quarter = len(samples) // 4 or 1
        print(f"upload check + hash + store: {t_upload:.2f} s")
        print(f"import: {run.seen:,} rows in {elapsed:.1f} s = {run.seen / elapsed:,.0f} rows/s "
              f"(created {run.created:,}, failed {run.failed:,}, balanced {run.buckets_balance})")
        peak = max(samples + [figures["end"]])
        print(f"memory of the importing process: {base:.0f} MB before; at each quarter of the import "
              f"{', '.join(f'{samples[min(len(samples) - 1, q * quarter)]:.0f}' for q in range(4))} MB; "
              f"peak {peak:.0f} MB")
        ok = run.seen == rows and run.buckets_balance
        print(f"targets: under 10 s {'met' if elapsed < 10 else 'MISSED'}; peak under 120 MB "
              f"{'met' if peak < 120 else 'MISSED'}")
        # The targets are set at 100,000 rows: a smaller file is below the boundary they are set at.
        return judged(ok, rows < 100_000 or (elapsed < 10 and peak < 120), "(every row accounted for)")


def run_import(run_id: int, folder: str) -> dict:
    """Claim and run the queued import the way a dispatcher does, sampling this process's memory."""
    from console.sync.runs.lifecycle import claim_queued
    from jobs.executors import run_queued

    make_app(folder, app_env_from_environ(), migrate=False)
    samples, stop = [], threading.Event()

    def sample() -> None:
        while not stop.wait(0.25):
            samples.append(rss_mb())
    threading.Thread(target=sample, daemon=True).start()
    base = rss_mb()
    started = time.perf_counter()
    claimed = claim_queued("bench", 1)
    assert claimed == [run_id], claimed
    run_queued(run_id)
    elapsed = time.perf_counter() - started
    stop.set()
    return {"seconds": elapsed, "base": base, "samples": samples, "end": rss_mb()}


def app_env_from_environ() -> dict:
    return {k: os.environ[k] for k in ("DATABASE_URL", "TRAFFIC_DATABASE_URL", "SECRET_KEY", "CONSOLE_MASTER_KEY",
                                       "CONSOLE_SCHEDULER", "CONSOLE_PROVIDER_HOSTS")}


if __name__ == "__main__":
    if "--run" in sys.argv:
        print(json.dumps(run_import(int(sys.argv[sys.argv.index("--run") + 1]),
                                    sys.argv[sys.argv.index("--folder") + 1])))
        sys.exit(0)
    sys.exit(0 if main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000) else 1)
