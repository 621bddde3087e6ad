"""Sandbox memory and speed: 100,000 contacts held in under 300 MB; a 100-record list page served
in under 10 ms of server time. Run by hand: `.venv/bin/python tests/bench/sandbox_bench.py`."""
from __future__ import annotations

import gc
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from console.sandbox import SandboxConfig, create_sandbox_app
from tests.bench.verdict import judged


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(contacts: int = 100_000) -> int:
    gc.collect()
    before = rss_mb()
    t0 = time.perf_counter()
    app = create_sandbox_app(SandboxConfig(contacts=contacts, deals=contacts // 4, seed=42, limits=False,
                                           deliver_webhooks=False))
    built = time.perf_counter() - t0
    gc.collect()
    after = rss_mb()
    token = app.extensions["sandbox"].auth.private_token
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    props = "email,firstname,lastname,phone,lifecyclestage,hs_lead_status,hubspot_owner_id,lastmodifieddate"
    timings, after_token = [], None
    for _ in range(300):
        url = f"/crm/v3/objects/contacts?limit=100&properties={props}" + (f"&after={after_token}" if after_token else "")
        start = time.perf_counter()
        resp = client.get(url, headers=headers)
        timings.append((time.perf_counter() - start) * 1000)
        assert resp.status_code == 200 and resp.json["results"]
        after_token = resp.json.get("paging", {}).get("next", {}).get("after")  # wraps at the end
    timings.sort()
    p50, p99 = statistics.median(timings), timings[int(len(timings) * 0.99) - 1]
    search_t = []
    for offset in range(0, 2000, 200):
        start = time.perf_counter()
        resp = client.post("/crm/v3/objects/contacts/search", headers=headers, json={
            "filterGroups": [{"filters": [{"propertyName": "lastmodifieddate", "operator": "GTE", "value": "0"}]}],
            "sorts": [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}], "limit": 200, "after": offset})
        search_t.append((time.perf_counter() - start) * 1000)
        assert resp.status_code == 200
    ids = app.extensions["sandbox"].portal.ids
    others = ", ".join(f"{len(ids[t]):,} {t.replace('_', ' ')}" for t in ids if t not in ("contacts", "deals", "companies"))
    print(f"contacts: {contacts:,} (+{contacts // 4:,} deals, {contacts // 20:,} companies, {others}), built in {built:.1f} s")
    print(f"process RSS: {before:.0f} MB -> {after:.0f} MB (+{after - before:.0f} MB)   target: < 300 MB")
    print(f"100-record list page, server time over 300 pages: p50 {p50:.2f} ms, p99 {p99:.2f} ms   target: < 10 ms")
    print(f"200-record search page (GTE + sort, 10 pages): first {search_t[0]:.0f} ms (builds the ordered match "
          f"list), then median {statistics.median(search_t[1:]):.2f} ms")
    print(f"memory per contact-equivalent record: {(after - before) * 2**20 / (contacts * 1.3):.0f} bytes")
    return 0 if judged(True, after - before < 300 and p50 < 10) else 1


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000))
