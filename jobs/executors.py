"""Which code runs each kind of queued run: the one table from run kind to executor.

The engine queues and claims runs (console/sync/runs/lifecycle.py) without knowing who executes them; features
(CSV imports) are reached from here, never from the engine. A new run kind is a function and a line."""
from __future__ import annotations

from collections.abc import Callable

from console.choices import RunKind
from console.imports import run as imports
from console.models import IntegrationSyncRun
from console.models.base import require
from console.sync.inbound.runner import execute
from console.sync.outbound.push import execute_push
from console.sync.runs import lifecycle as runs
from console.sync.runs.lease import JobBusy, holding_lease


def _test_batch(run: IntegrationSyncRun) -> None:
    execute(run, full=True, keep_outcomes=True)


def _first_sync(run: IntegrationSyncRun) -> None:
    try:  # the job's own lease: nothing else syncs this object meanwhile (a `flask sync run`, say)
        owner = run.worker or "first-sync"
        if run.job_id is None:
            raise JobBusy("A first complete sync needs its job; this run has none.")
        with holding_lease(run.job_id, owner, wait=5.0):
            execute(run, full=True, lease_owner=owner)
    except JobBusy as busy:
        runs.fail(run, str(busy))


def _csv_import(run: IntegrationSyncRun) -> None:
    imports.execute(run)  # in its run frame, as every run is


def _outbound(run: IntegrationSyncRun) -> None:
    execute_push(run)


EXECUTORS: dict[str, Callable[[IntegrationSyncRun], None]] = {
    RunKind.OUTBOUND.value: _outbound,
    RunKind.TEST_BATCH.value: _test_batch,
    RunKind.BACKFILL.value: _first_sync,
    RunKind.CSV_IMPORT.value: _csv_import,
}


def run_queued(run_id: int) -> None:
    """Run a claimed queued run with its kind's executor."""
    run = require(IntegrationSyncRun, run_id)
    executor = EXECUTORS.get(run.kind)
    if executor is None:
        runs.fail(run, f"No executor runs {run.kind} runs; this is a bug in the console.")
        return
    executor(run)
