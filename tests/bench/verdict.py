"""One verdict for every benchmark: exact counts always, the time and memory targets at full size.

At a smoke size (BENCH_SMOKE=1, as tests/integration/test_bench_smoke.py runs them) the targets are
printed but not judged: a smoke size sits below the boundaries they are set at, and a loaded CI machine is
no place for a time. A count that does not add up fails at any size."""
from __future__ import annotations

import os

SMOKE = os.environ.get("BENCH_SMOKE") == "1"


def judged(counts_ok: bool, targets_ok: bool, words: str = "") -> bool:
    ok = counts_ok and (targets_ok or SMOKE)
    note = "" if targets_ok or not SMOKE else " (smoke size: the targets were missed and are not judged)"
    print("PASS" if ok else "FAIL", words + note if words or note else "")
    return ok
