"""Outbound push throughput against the sandbox (run by hand; prints its figures).

  .venv/bin/python tests/bench/outbound_throughput.py [--records 10000] [--no-limits-check]

1. Limits off: N console-side contacts (new leads, three fields each: first name, last name, lead status)
   pushed to an empty sandbox: upserts on email, 100 a call, with ID write-back: records/s and calls.
   Then every one of them changes its first name on the console side and the push updates them by id.
   Calls must stay within records / 100 + setup (the property catalogue, owners, pipelines).
2. Limits on (HubSpot's default 100 calls per 10 s): the same creation, measured as the share of the
   provider's window the push used and its 429s. Targets (issue 18): >= 95 % of the window, zero 429s.
A check after each phase: the sandbox holds exactly N contacts with those emails (no duplicate) carrying
the console's values, and every lead holds the CRM's id.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sync_throughput import connection_for, make_app, start_sandbox

SETUP_CALLS = 5  # per push: properties, owners (one page), pipelines, plus slack for a retried call


def prepare(url: str, portal: str, n: int):
    """A connection whose contacts flow out, and N console-side leads each with three pending changes
    (written as the outbox rows record_change makes, in bulk: the setup is not what is measured)."""
    import sqlalchemy as sa

    from console.extensions import db
    from console.mapping.service import ensure_default_mappings
    from console.models import CrmLead, CrmLeadChange, IntegrationConnection, IntegrationFieldMapping
    from console.models.base import table, utcnow
    from console.sync.provider import open_session

    job = connection_for(url, portal)
    job.direction = "out"
    conn = db.session.get(IntegrationConnection, job.connection_id)
    ensure_default_mappings(conn.id, "contacts", open_session(conn).properties("contacts"))
    for row in db.session.scalars(sa.select(IntegrationFieldMapping).where(
            IntegrationFieldMapping.connection_id == conn.id,
            IntegrationFieldMapping.target_field.in_(["first_name", "last_name", "lead_status"]))):
        row.direction = "out"
    db.session.commit()
    now = utcnow()
    leads = [{"client_id": conn.client_id, "connection_id": conn.id, "object_type": "contacts",
              "external_id": f"console:bench{i:08d}", "source_label": "Bench", "email": f"bench.{i}@example.org",
              "first_name": f"First{i}", "last_name": f"Last{i}", "lead_status": "New", "archived": False,
              "created_at": now, "updated_at": now} for i in range(n)]
    db.session.execute(sa.insert(table(CrmLead)), leads)
    ids = db.session.execute(sa.select(CrmLead.id, CrmLead.first_name, CrmLead.last_name).where(
        CrmLead.connection_id == conn.id)).all()
    changes = [{"connection_id": conn.id, "object_type": "contacts", "lead_id": lead_id, "field": field, "value": value,
                "base_value": None, "origin": "csv_import", "status": "pending", "attempts": 0, "note": "",
                "created_at": now, "updated_at": now}
               for lead_id, first, last in ids for field, value in (("first_name", first), ("last_name", last),
                                                                    ("lead_status", "New"))]
    db.session.execute(sa.insert(table(CrmLeadChange)), changes)
    db.session.commit()
    return job


def rename_all(job) -> None:
    import sqlalchemy as sa

    from console.extensions import db
    from console.models import CrmLead, CrmLeadChange
    from console.models.base import table, utcnow

    now = utcnow()
    rows = db.session.execute(sa.select(CrmLead.id, CrmLead.first_name).where(
        CrmLead.connection_id == job.connection_id)).all()
    db.session.execute(sa.update(table(CrmLead)).where(table(CrmLead).c.id == sa.bindparam("_id")),
                       [{"_id": lead_id, "first_name": f"{first}-renamed"} for lead_id, first in rows])
    db.session.execute(sa.insert(table(CrmLeadChange)), [
        {"connection_id": job.connection_id, "object_type": "contacts", "lead_id": lead_id, "field": "first_name",
         "value": f"{first}-renamed", "base_value": first, "origin": "lead_page", "status": "pending", "attempts": 0,
         "note": "", "created_at": now, "updated_at": now} for lead_id, first in rows])
    db.session.commit()


def push(job) -> tuple[object, float]:
    from console.extensions import db
    from console.sync.outbound.push import execute_push, start_push

    started = time.perf_counter()
    run = start_push(job)
    execute_push(run)
    elapsed = time.perf_counter() - started
    db.session.refresh(run)
    return run, elapsed


def check(url: str, job, n: int, renamed: bool) -> str | None:
    """The sandbox's own view (over HTTP, its list endpoint): N contacts with the bench emails, each once,
    with the console's first name; every lead holds a CRM id."""
    import requests
    import sqlalchemy as sa

    from console.extensions import db
    from console.models import CrmLead

    token = "pat-bench-0000000000000000"
    found, after = {}, None
    while True:
        params = {"limit": 100, "properties": "email,firstname", **({"after": after} if after else {})}
        resp = requests.get(f"{url}/crm/v3/objects/contacts", params=params, timeout=30,
                            headers={"Authorization": f"Bearer {token}"})
        if resp.status_code == 429:  # the limits-on sandbox: the check waits its turn like anyone
            time.sleep(float(resp.headers.get("Retry-After") or 1))
            continue
        reply = resp.json()
        for r in reply["results"]:
            email = (r["properties"].get("email") or "")
            if email.startswith("bench."):
                if email in found:
                    return f"duplicate contact for {email}"
                found[email] = r["properties"].get("firstname")
        after = ((reply.get("paging") or {}).get("next") or {}).get("after")
        if not after:
            break
    if len(found) != n:
        return f"{len(found)} bench contacts in the sandbox, expected {n}"
    wrong = [e for e, first in found.items() if not first or first.endswith("-renamed") != renamed]
    if wrong:
        return f"{len(wrong)} contacts without the console's first name (e.g. {wrong[0]})"
    db.session.commit()
    placeholders = db.session.scalar(sa.select(sa.func.count()).select_from(CrmLead).where(
        CrmLead.connection_id == job.connection_id, CrmLead.external_id.like("console:%")))
    return f"{placeholders} leads without the CRM's id" if placeholders else None


def unlimited(n: int) -> bool:
    proc, url = start_sandbox(10, limits=False)
    ok = True
    try:
        with tempfile.TemporaryDirectory() as folder:
            make_app(folder)
            job = prepare(url, "outbound", n)
            for phase in ("create", "update"):
                if phase == "update":
                    rename_all(job)
                run, elapsed = push(job)
                budget = n // 100 + SETUP_CALLS
                problem = check(url, job, n, renamed=phase == "update")
                print(f"[limits off] {phase}: {run.seen:,} records in {elapsed:.1f} s = {run.seen / elapsed:,.0f} records/s "
                      f"(created {run.created:,}, updated {run.updated:,}, failed {run.failed:,}); {run.api_calls} calls, "
                      f"budget {budget}; check: {problem or 'exact'}")
                ok = ok and run.seen == n and run.failed == 0 and run.api_calls <= budget and problem is None
    finally:
        proc.terminate()
        proc.wait()
    return ok


def limited(n: int) -> bool:
    proc, url = start_sandbox(10, limits=True)
    try:
        with tempfile.TemporaryDirectory() as folder:
            make_app(folder)
            job = prepare(url, "outbound-limited", n)
            run, elapsed = push(job)
            share = run.api_calls / elapsed / 10.0
            problem = check(url, job, n, renamed=False)
            print(f"[limits on] {run.seen:,} records in {elapsed:.1f} s, {run.api_calls} calls = {share:.0%} of the "
                  f"10 calls/s window; 429s: {run.rate_limited}; check: {problem or 'exact'}   target >= 95 %, zero 429s")
            return share >= 0.95 and run.rate_limited == 0 and problem is None
    finally:
        proc.terminate()
        proc.wait()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--no-limits-check", action="store_true")
    args = parser.parse_args()
    ok = unlimited(args.records)
    if not args.no_limits_check:
        ok = limited(args.records) and ok
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
