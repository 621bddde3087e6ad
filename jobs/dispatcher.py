"""Claim due sync jobs with an atomic lease and run them in a small pool.

A claim is one conditional UPDATE (`... WHERE id = :id AND lease is free`): whichever process's
UPDATE changes the row owns the job. The lease is renewed while the job runs and released with
the next run time at the end. A lease that expires (its process died) frees the job for others.
Any number of processes on any number of machines can run this against one database.
"""
from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from flask import Flask

from console.choices import RunKind
from console.extensions import db
from console.models import IntegrationConnection, IntegrationSyncJob
from console.models.base import require, utcnow
from console.sync.runs.claims import worker_id
from console.sync.runs.lease import JOB_LEASE

from .due import claim_due, others_waiting

log = logging.getLogger(__name__)
ALERT_EVERY_SECONDS = 60
SWEEP_EVERY_SECONDS = 30
CHAIN_RUNS = 20  # due jobs a worker claims one after another before it waits for the tick again


def release(job_id: int, worker: str, again: bool = False) -> None:
    """The job's lease goes, with its next run a schedule away (`again`: due at once, behind the jobs
    already waiting, as after a run that yielded to them)."""
    job = db.session.get(IntegrationSyncJob, job_id)
    every = job.schedule_seconds if job is not None else 3600  # a job deleted mid-run: its lease still goes
    JOB_LEASE.release(job_id, worker, next_run_at=utcnow() + timedelta(seconds=0 if again else every))


def run_claimed(app: Flask, job_id: int, worker: str) -> None:
    from console.sync.inbound.runner import execute, start_run
    from console.sync.outbound.push import execute_push, pushes, start_push

    with app.app_context():
        yielded = False
        try:
            with JOB_LEASE.renewing(job_id, worker):
                job = require(IntegrationSyncJob, job_id)
                client_id = require(IntegrationConnection, job.connection_id).client_id
                yielded = execute(start_run(job, RunKind.SCHEDULED.value, worker=worker), lease_owner=worker,
                                  others_waiting=lambda: others_waiting(client_id)).yielded
                after = db.session.get(IntegrationSyncJob, job_id)
                if after is not None and not yielded and pushes(after):  # then the console's changes go out
                    execute_push(start_push(after, worker=worker), leased=True)
        except Exception:
            log.exception("job %s crashed", job_id)
            db.session.rollback()
        finally:
            release(job_id, worker, again=yielded)
            db.session.remove()


class Dispatcher:
    """What the scheduler's three timers call (jobs/scheduler.py): `tick()` claims due work for a small
    pool, `sweep()` fails dead runs and queues due reconciliations, `alerts()` evaluates and notifies."""

    def __init__(self, app: Flask, max_workers: int = 2) -> None:
        self.app, self.worker = app, worker_id()
        self.pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="sync")
        self.busy: set[int] = set()
        self.batches: set[int] = set()
        self.reconciles: set[int] = set()
        self.maintaining: set[int] = set()  # the nightly retention pass, when this process holds it
        self.normalizing = False
        self.normalizer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="webhooks")
        self.lock = threading.Lock()
        self.stopping = threading.Event()  # set by shutdown: a worker finishes its run and claims no more
        self.last_tick: datetime | None = None

    def sweep(self) -> None:
        """Fail the runs whose process died, and queue the reconciliations that are due (a timer of its own,
        every SWEEP_EVERY_SECONDS)."""
        from console.sync.proof import reconcile
        from console.sync.runs.lifecycle import sweep

        with self.app.app_context():
            try:
                now = utcnow()
                sweep(now)
                every = float(self.app.config["RECONCILE_EVERY_HOURS"])
                if every > 0:
                    reconcile.schedule_due(timedelta(hours=every), now)
            finally:
                db.session.remove()

    def alerts(self) -> None:
        """Evaluate the alert conditions and send what changed, beside the webhook normalizer (a timer of its
        own, every ALERT_EVERY_SECONDS): a slow mail server never holds a sync thread."""
        if not self.stopping.is_set():
            self.normalizer.submit(self._evaluate_alerts)

    def tick(self) -> list[int]:
        """Claim due jobs, queued test batches, queued reconciliations and the nightly retention pass, up to
        the free workers; start the webhook normalizer if it is idle."""
        from console.retention import nightly
        from console.sync.proof import reconcile
        from console.sync.runs.lifecycle import claim_queued

        if self.stopping.is_set():
            return []
        with self.app.app_context():
            with self.lock:
                free = (self.pool._max_workers - len(self.busy) - len(self.batches) - len(self.reconciles)
                        - len(self.maintaining))
            claimed = claim_due(self.worker, free) if free > 0 else []
            batches = claim_queued(self.worker, free - len(claimed)) if free - len(claimed) > 0 else []
            left = free - len(claimed) - len(batches)
            checks = reconcile.claim_queued(self.worker, left) if left > 0 else []
            maintenance = nightly.claim_due(self.worker) if left - len(checks) > 0 and not self.maintaining else None
            self.last_tick = utcnow()
            db.session.remove()
        for job_id in claimed:
            with self.lock:
                self.busy.add(job_id)
            self.pool.submit(self._run, job_id)
        for run_id in batches:
            with self.lock:
                self.batches.add(run_id)
            self.pool.submit(self._run_batch, run_id)
        for rec_id in checks:
            with self.lock:
                self.reconciles.add(rec_id)
            self.pool.submit(self._reconcile, rec_id)
        if maintenance is not None:
            with self.lock:
                self.maintaining.add(maintenance)
            self.pool.submit(self._pooled, "retention pass", maintenance,
                             lambda tid: nightly.run_claimed(tid, self.worker), self.maintaining)
        with self.lock:
            start_normalizer = not self.normalizing
            self.normalizing = True
        if start_normalizer:
            self.normalizer.submit(self._normalize)
        return claimed

    def _evaluate_alerts(self) -> None:
        from console.monitoring.alerts import evaluate
        from console.monitoring.notify import notify_pending
        from console.sync import schema_drift
        from console.sync.provider import open_session

        with self.app.app_context():
            try:
                schema_drift.check_due(lambda conn: open_session(conn, timeout=10.0, max_attempts=2))
            except Exception:
                log.exception("the daily schema check failed")
                db.session.rollback()
            try:
                evaluate()
                notify_pending(owner=self.worker)
            except Exception:
                log.exception("alert evaluation failed")
            finally:
                db.session.remove()

    def _normalize(self) -> None:
        """Drain due webhook events (one normalizer per process; the claims keep processes apart)."""
        from console.webhooks.normalize import process_due

        try:
            with self.app.app_context():
                try:
                    while process_due(200, self.worker):
                        pass
                except Exception:
                    log.exception("webhook normalization crashed")
                finally:
                    db.session.remove()
        finally:
            with self.lock:
                self.normalizing = False

    def _pooled(self, what: str, item_id: int, work, tracking: set[int]) -> None:
        """Run one claimed item in its own app context; forget it when done, whatever happened."""
        try:
            with self.app.app_context():
                try:
                    work(item_id)
                except Exception:
                    log.exception("%s %s crashed", what, item_id)
                finally:
                    db.session.remove()
        finally:
            with self.lock:
                tracking.discard(item_id)

    def _run_batch(self, run_id: int) -> None:
        from jobs.executors import run_queued

        self._pooled("queued run", run_id, run_queued, self.batches)

    def _reconcile(self, rec_id: int) -> None:
        from console.sync.proof.reconcile import execute

        self._pooled("reconciliation", rec_id, lambda rid: execute(rid, self.worker), self.reconciles)

    def _run(self, job_id: int) -> None:
        """Run the claimed job; then, while jobs are due, claim the next one at once (up to CHAIN_RUNS in a
        row, then back to the tick, which also takes test batches and reconciliations). Without this a
        worker idles until the next tick: at a 5-second tick two workers started at most 24 runs a minute
        however short the runs (measured by tests/bench/scale_out.py)."""
        current: int | None = job_id
        chained = 0
        while current is not None:
            try:
                run_claimed(self.app, current, self.worker)
            finally:
                with self.lock:
                    self.busy.discard(current)
            chained += 1
            current = None if self.stopping.is_set() or chained >= CHAIN_RUNS else self._claim_next()

    def _claim_next(self) -> int | None:
        with self.app.app_context():
            try:
                claimed = claim_due(self.worker, 1)
            except Exception:
                log.exception("claiming the next due job failed")
                claimed = []
            finally:
                db.session.remove()
        if not claimed:
            return None
        with self.lock:
            self.busy.add(claimed[0])
        return claimed[0]

    def shutdown(self, wait: bool = True) -> None:
        self.stopping.set()
        self.pool.shutdown(wait=wait)
        self.normalizer.shutdown(wait=wait)
