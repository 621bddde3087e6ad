"""Every benchmark under tests/bench/ runs end to end at a smoke size, so none rots unseen: it starts, seeds,
measures and prints its figures, and fails on a crash or a count that does not add up, never on a time
(BENCH_SMOKE=1: the time and memory targets are printed, not judged; tests/bench/verdict.py). They use
databases of their own (SQLite, or MariaDB for scale_out.py, as .ci/run provides), so they run once, in the
SQLite leg. peers.py runs the console's side and its Salesforce row (tap-salesforce, installed into a virtual
environment of its own as tests/integration/test_salesforce_tap.py needs it anyway); the HubSpot peers install
three other projects from the package registry, which is for a run by hand."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "tests" / "bench"

SMOKE = [
    ("sync_throughput.py", "--contacts", "600", "--db", "sqlite", "--no-limits-check", "--console-compare", "2000"),
    ("reconcile_bench.py", "3000"),
    ("csv_import.py", "2000"),
    ("dashboard_bench.py", "4"),
    ("pages_bench.py", "--leads", "500", "--raw-events", "2000", "--repeat", "2"),
    ("outbound_throughput.py", "--records", "200", "--no-limits-check"),
    ("sandbox_bench.py", "2000"),
    ("webhook_load.py", "20", "2"),
    ("peers.py", "--contacts", "500", "--rounds", "1", "--peers", "fetch,salesforce"),
    ("scale_out.py", "--minutes", "0.1", "--connections", "4", "--portals", "2", "--schedule", "60", "--dispatchers", "1",
     "--no-kill"),
]


@pytest.mark.skipif(bool(os.environ.get("TEST_DATABASE_URL")), reason="the benchmarks run once, in the SQLite leg")
@pytest.mark.parametrize("command", SMOKE, ids=[c[0] for c in SMOKE])
def test_the_benchmark_runs_at_a_smoke_size(command, tmp_path):
    if command[0] == "scale_out.py":
        from tests.bench.sync_throughput import mariadb_admin

        if not mariadb_admin():  # .ci/run has one; a laptop running the suite on SQLite may not
            pytest.skip("scale_out.py needs MariaDB on 127.0.0.1 as root (or BENCH_MARIADB_ADMIN_URL)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEST_")}
    env.update(CONSOLE_SCHEDULER="off", PYTHONPATH=str(ROOT), TMPDIR=str(tmp_path), BENCH_SMOKE="1")
    done = subprocess.run([sys.executable, str(BENCH / command[0]), *command[1:]], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=240)
    said = done.stdout + done.stderr
    assert "Traceback" not in said and done.returncode == 0, said[-4000:]
    assert "PASS" in done.stdout and any(ch.isdigit() for ch in done.stdout), said[-2000:]  # figures and a verdict
