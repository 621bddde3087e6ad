"""The console-side half of a reconciliation at 1,000,000 records (run by hand; prints its figures).

  .venv/bin/python tests/bench/reconcile_bench.py [records]

Stores N contacts (default 1,000,000) in SQLite, mapped by the real mapper from generated provider
records, then compares the same N records, as the provider's list endpoint would yield them, with the
stored copy value by value (console/sync/proof/inventory_diff.compare): 1 in 10,000 has a planted value drift
and 1 in 20,000 is missing, so the figures include finding them. The provider's side is generated in
this process (no HTTP: that half is the sandbox's, measured by sync_throughput.py), so the time and the
memory printed are the console's alone. Memory is sampled every 50 ms while the comparison runs.
Target (issue 33): flat memory, the peak well under what holding the records would take (< 150 MB of
growth at 1,000,000).
"""
from __future__ import annotations

import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.bench.sync_throughput import connection_for, make_app, rss_mb
from tests.bench.verdict import judged

BASE_MS = 1_767_225_600_000  # 2026-01-01


def record(i: int):
    from console.connectors.base import SourceRecord

    updated = BASE_MS + i * 7
    props = {"email": f"person{i}@example.com", "firstname": f"First{i % 997}", "lastname": f"Last{i % 991}",
             "company": f"Company {i % 13}", "lastmodifieddate": f"{updated}"}
    return SourceRecord(str(1000 + i), props, updated)


class Stream:
    def __init__(self, n: int) -> None:
        self.n = n

    def inventory(self, archived: bool, properties=()):
        if archived:
            return
        yield from (record(i) for i in range(self.n))


class Session:
    def __init__(self, n: int) -> None:
        self.n = n

    def stream(self, object_type, properties, *args):
        return Stream(self.n)

    def linked_types(self, object_type):
        return ()  # the records' comparison alone: associations are compared over HTTP (test_associations.py)


def seed(conn_id: int, client_id: int, n: int, spec) -> None:
    import sqlalchemy as sa

    from console.extensions import db
    from console.mapping.mapper import map_record
    from console.models import CrmLead
    from console.sync.inbound.decision import lead_values as _lead_values

    table = CrmLead.__table__
    batch = []
    now = time.time()
    for i in range(n):
        if i % 20_000 == 7:
            continue  # missing: active at the provider, never stored
        mapped = map_record(record(i), spec)
        values = _lead_values(mapped)
        if i % 10_000 == 3:
            values["first_name"] = "Planted"  # value drift, version untouched
        batch.append({"client_id": client_id, "connection_id": conn_id, "object_type": "contacts",
                      "external_id": str(1000 + i), "source_label": "CRM", "archived": False,
                      "content_hash": mapped.content_hash(), **values})
        if len(batch) == 5000:
            db.session.execute(sa.insert(table), batch)
            db.session.commit()
            batch = []
    if batch:
        db.session.execute(sa.insert(table), batch)
        db.session.commit()
    print(f"seeded {n:,} stored contacts in {time.time() - now:.0f} s")


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    from console.extensions import db
    from console.mapping.service import ensure_default_mappings
    from console.models import IntegrationConnection, IntegrationSyncJob, IntegrationSyncRun
    from console.models.base import utcnow
    from console.sync.inbound.spec import inbound_spec
    from console.sync.proof.inventory_diff import compare

    with tempfile.TemporaryDirectory() as folder:
        make_app(folder)
        job = connection_for("http://127.0.0.1:9", "bench")
        conn = db.session.get(IntegrationConnection, job.connection_id)
        ensure_default_mappings(conn.id, "contacts", [])
        spec = inbound_spec(conn.id, job, "contacts")
        seed(conn.id, conn.client_id, n, spec)
        db.session.add(IntegrationSyncRun(job_id=job.id, connection_id=conn.id, object_type="contacts", kind="backfill",
                                          status="succeeded", started_at=utcnow(), finished_at=utcnow()))
        db.session.commit()
        job = db.session.get(IntegrationSyncJob, job.id)
        start_mb, peak, done = rss_mb(), [rss_mb()], threading.Event()

        def sample() -> None:
            while not done.is_set():
                peak.append(rss_mb())
                time.sleep(0.05)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        started, cpu = time.perf_counter(), time.process_time()
        found, _ = compare(conn, job, Session(n), spec)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        done.set()
        sampler.join()
        growth = max(peak) - start_mb
        c = found.counts
        print(f"console-side compare of {n:,} records: {elapsed:.1f} s ({cpu:.1f} s CPU) = {n / elapsed:,.0f} records/s")
        drift = sum(1 for i in range(n) if i % 10_000 == 3)
        missing = sum(1 for i in range(n) if i % 20_000 == 7)
        print(f"found: value drift {c['value_drift']:,} of {drift:,} planted, missing {c['missing']:,} of {missing:,}; "
              f"stale {c['stale']:,}, extra {c['extra']:,}")
        print(f"memory: {start_mb:.0f} MB before, peak {max(peak):.0f} MB while comparing (growth {growth:+.0f} MB)")
        exact = (c["value_drift"], c["missing"], c["stale"], c["extra"]) == (drift, missing, 0, 0)
        return 0 if judged(exact, growth < 150, "(target: growth < 150 MB at 1,000,000; exact counts)") else 1


if __name__ == "__main__":
    sys.exit(main())
