"""A sync run from start to final status: open the provider, page, account, retry failed records."""
from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator

import sqlalchemy as sa
from flask import current_app

from ...choices import ErrorStatus, RunKind, RunStatus
from ...connectors.base import ConnectorError, Links, Page
from ...connectors.registry import source_label
from ...extensions import db
from ...mapping.service import ensure_default_mappings
from ...models import IntegrationConnection, IntegrationSyncError, IntegrationSyncJob, IntegrationSyncRun
from ...models.base import require, utcnow
from .. import schema_drift
from ..proof.testbatch import record_test_result
from ..provider import open_session
from ..runs import lifecycle as runs
from ..runs.accounting import MAX_FAILED_KEPT, Tally
from ..runs.events import announce_run_finished
from ..runs.frame import RunFrame
from ..runs.page_commit import PageCommit
from . import links
from .pipeline import PageWriter
from .record_errors import MAX_ERROR_ATTEMPTS, retry_at
from .spec import inbound_spec

log = logging.getLogger(__name__)
Progress = Callable[[IntegrationSyncRun], None]
MAX_KEPT_OUTCOMES = 1000  # test batches are small; a dry run over more keeps the first thousand
MERGE_RECORDS = 500  # pages already fetched are written together, up to this many records a transaction


def start_run(job: IntegrationSyncJob, kind: str, limit: int | None = None, dry_run: bool = False,
              worker: str | None = None, user_id: int | None = None) -> IntegrationSyncRun:
    run = runs.open_run(job.connection_id, job.object_type, kind, job=job, worker=worker, dry_run=dry_run,
                        record_limit=limit, triggered_by_user_id=user_id)
    db.session.commit()
    return run


def execute(run: IntegrationSyncRun, full: bool = False, progress: Progress | None = None,
            keep_outcomes: bool = False, client_options: dict | None = None, lease_owner: str | None = None,
            others_waiting: Callable[[], bool] | None = None) -> Tally:
    """Run to the end; never raises for provider trouble (the run records it). `lease_owner`: the job's
    lease this process holds, checked in each page's transaction (a process that stalled past its lease
    and was taken over stops without writing). `others_waiting`: whether other clients' jobs wait for a
    thread; a run that has gone on long enough then stops after a committed page (`Tally.yielded`)."""
    tally = Tally(keep_outcomes=keep_outcomes or run.dry_run)
    frame = SyncFrame(run, tally, require(IntegrationConnection, run.connection_id),
                      require(IntegrationSyncJob, run.job_id), full, progress, client_options, lease_owner)
    frame.turn = Turn(others_waiting, float(current_app.config.get("SYNC_YIELD_AFTER_SECONDS", 60)))
    finished = frame.execute()
    if finished.kind == RunKind.TEST_BATCH:
        record_test_result(finished)
    announce_run_finished(finished, frame.owners)
    return tally


class SyncFrame(RunFrame):
    """An inbound sync: the provider's pages through the page writer, then the failed records due again."""

    def __init__(self, run: IntegrationSyncRun, tally: Tally, connection: IntegrationConnection,
                 job: IntegrationSyncJob, full: bool, progress: Progress | None, client_options: dict | None,
                 lease_owner: str | None) -> None:
        super().__init__(run, tally, connection)
        self.job, self.full, self.progress = job, full, progress
        self.client_options, self.lease_owner = client_options, lease_owner
        self.owners: set[str] | None = None  # the owners the provider knows (the owner-change features use them)
        self.turn = Turn(None, 0.0)

    def body(self) -> None:
        run, job, connection, tally = self.run, self.job, self.connection, self.tally
        session = self.session = open_session(connection, **(self.client_options or {}))
        properties = session.properties(job.object_type)
        ensure_default_mappings(connection.id, job.object_type, properties)
        schema_drift.observe(connection.id, job.object_type, properties, f"run #{run.id}")
        drifts = schema_drift.breaking(connection.id, job.object_type)
        if drifts and connection.drift_policy == "pause" and not run.dry_run:  # a test batch shows the failures
            raise ConnectorError(schema_drift.hold(job, drifts))
        spec = inbound_spec(connection.id, job, job.object_type, session.reference(),
                            schema_drift.broken(connection.id, job.object_type) if drifts else None)
        self.owners = set(spec.reference.owners)
        owner = None if run.dry_run else self.lease_owner
        writer = PageWriter(connection, job.object_type, spec, run, source_label(connection.provider.key),
                            job.eligibility, run.dry_run, tally, PageCommit(run, tally, session.stats, job.id, owner))
        stream = session.stream(job.object_type, spec.requested(_eligibility_fields(job)), lookback_ms())
        cursor = None if self.full else job.cursor
        writer.measure_lag = (cursor or {}).get("mode") == "incremental"
        cursor_target = None if run.dry_run else job
        size = _page_size(run)
        merge = size if run.kind == RunKind.TEST_BATCH else MERGE_RECORDS  # a test batch shows each page
        pages = links.with_links(stream.pages(cursor, run.record_limit, size), session, job.object_type,
                                 links.linked_types(session, connection.id, job.object_type), merge, tally.clock)
        for page in prefetch(pages, merge_up_to=merge, clock=tally.clock):
            writer.apply(page, cursor_target)
            if self.progress:
                self.progress(run)
            if not page.done and not run.dry_run and self.turn.over():
                tally.yielded = True  # the page and its cursor are committed: the next run goes on from here
                return
        if not run.dry_run and run.kind != RunKind.TEST_BATCH:
            _retry_failed(connection, job, writer, session)

    def closed(self, run: IntegrationSyncRun) -> None:
        """The cursor the run ended at and the records it kept; the job's last run and success move only
        while this process holds the job."""
        job, tally = self.job, self.tally
        run.cursor_after = None if run.dry_run else job.cursor
        if tally.outcomes:  # a test batch's every record; any other run's failed records
            run.outcomes = [list(o) for o in tally.outcomes[:MAX_KEPT_OUTCOMES if tally.keep_outcomes else MAX_FAILED_KEPT]]
        run.yielded = tally.yielded
        if self.holder and run.status in (RunStatus.SUCCEEDED, RunStatus.PARTIAL) and not run.dry_run \
                and not tally.yielded:  # a yielded run has not caught up: the job's data is not fresh yet
            job.last_success_at = run.finished_at
        if self.holder:
            job.last_run_id = run.id


class Turn:
    """When a long run gives its thread up: once it has run `after_s`, it asks `others_waiting` at most
    every ASK_EVERY_S seconds (a query), after a committed page."""

    ASK_EVERY_S = 10.0

    def __init__(self, others_waiting: Callable[[], bool] | None, after_s: float) -> None:
        self.others_waiting, self.after_s = others_waiting, after_s
        self.started = self.asked = time.monotonic()

    def over(self) -> bool:
        now = time.monotonic()
        if self.others_waiting is None or now - self.started < self.after_s or now - self.asked < min(
                self.ASK_EVERY_S, self.after_s):
            return False
        self.asked = now
        return self.others_waiting()


def prefetch(pages: Iterator[Page], depth: int = 4, merge_up_to: int = 500,
             clock: Callable[[str, float], None] | None = None) -> Iterator[Page]:
    """Fetch the next pages (up to `depth`) while this one is written. Pages already waiting are
    merged, up to `merge_up_to` records, into one page with the last one's cursor: written in one
    transaction, still atomic with the cursor, so a writer slower than the provider commits less often.
    A page holding a record already in the merge is not merged: each copy of a record changed while
    the run paged is still decided (and its change recorded) on its own, as without merging.
    Safe for crashes: only a committed page moves the job's cursor."""
    box: queue.Queue = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def produce() -> None:
        try:
            started = time.perf_counter()
            for page in pages:
                if clock:
                    clock("fetch", time.perf_counter() - started)
                while not stop.is_set():
                    try:
                        box.put(page, timeout=0.2)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
                started = time.perf_counter()
            box.put(done)
        except BaseException as exc:  # handed to the consumer, raised in the run's thread
            box.put(exc)

    thread = threading.Thread(target=produce, daemon=True, name="sync-prefetch")
    thread.start()
    try:
        pending: object = None  # what stopped a merge (the end, a failure, a page for the next write)
        while True:
            waited = time.perf_counter()
            item = pending if pending is not None else box.get()
            if clock:
                clock("wait", time.perf_counter() - waited)
            pending = None
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            assert isinstance(item, Page)
            page, pending = gather(item, box, merge_up_to)
            yield page
    finally:
        stop.set()
        thread.join(timeout=30)


def gather(first: Page, box: queue.Queue, merge_up_to: int) -> tuple[Page, object]:
    """`first` merged with the pages waiting in `box`, and what stopped the merge when it must be
    handed over next (the end, a failure, or a page holding a record already in the merge: a record
    changed while the run paged is written as before, page by page)."""
    merged, ids = [first], {r.external_id for r in first.records}
    while len(ids) < merge_up_to and not merged[-1].done:
        try:
            more = box.get_nowait()
        except queue.Empty:
            break
        if not isinstance(more, Page) or any(r.external_id in ids for r in more.records):
            return (merged[0] if len(merged) == 1 else _merge(merged)), more
        merged.append(more)
        ids.update(r.external_id for r in more.records)
    return (merged[0] if len(merged) == 1 else _merge(merged)), None


def _merge(pages: list[Page]) -> Page:
    last = pages[-1]
    links: Links = {}
    for p in pages:  # the merged pages hold distinct records (gather sees to it)
        for to_type, by_id in p.links.items():
            links.setdefault(to_type, {}).update(by_id)
    return Page([r for p in pages for r in p.records], last.cursor, last.done, sum(p.skipped for p in pages),
                last.meta, links)


FULL_PAGE = 10_000


def _page_size(run: IntegrationSyncRun) -> int:
    """A test batch reads in about five pages, so its progress bar moves; other runs use full pages (each
    stream caps the size at its provider's largest: HubSpot's 100, Salesforce's 2,000)."""
    if run.kind == RunKind.TEST_BATCH and run.record_limit:
        return max(5, -(-run.record_limit // 5))
    return FULL_PAGE


def _eligibility_fields(job: IntegrationSyncJob) -> list[str]:
    return [c["field"] for c in (job.eligibility or []) if isinstance(c, dict) and c.get("field")]


def lookback_ms() -> int:
    """How far before the last search each incremental read starts again (provider search lags)."""
    return int(float(current_app.config["SYNC_LOOKBACK_SECONDS"]) * 1000)


def _retry_failed(connection: IntegrationConnection, job: IntegrationSyncJob, writer: PageWriter, session) -> None:
    """Re-read records whose earlier failure is due for retry; dead-letter after the last attempt."""
    now = utcnow()
    due = db.session.scalars(sa.select(IntegrationSyncError).where(
        IntegrationSyncError.connection_id == connection.id, IntegrationSyncError.object_type == job.object_type,
        IntegrationSyncError.status.in_([ErrorStatus.OPEN.value, ErrorStatus.RETRYING.value]),
        IntegrationSyncError.next_retry_at <= now, IntegrationSyncError.external_id.isnot(None),
    ).limit(500)).all()
    ids = [e.external_id for e in due if e.external_id not in writer.versions]
    if not ids:
        return
    records = session.stream(job.object_type, writer.spec.requested(_eligibility_fields(job))).read(ids)
    writer.apply(Page(records, job.cursor or {}), None)
    found = {r.external_id for r in records}
    for err in due:
        if err.status != ErrorStatus.RESOLVED.value and err.external_id in ids:
            err.attempts += 1
            if err.external_id not in found:
                err.message = "The record no longer exists at the provider."
            if err.attempts >= MAX_ERROR_ATTEMPTS:
                err.status = ErrorStatus.DEAD_LETTER.value
                err.next_retry_at = None
            else:
                err.status, err.next_retry_at = ErrorStatus.RETRYING.value, retry_at(err.attempts)
    db.session.commit()


def ensure_job(connection: IntegrationConnection, object_type: str, schedule_seconds: int = 300,
               enabled: bool = False) -> IntegrationSyncJob:
    job = db.session.scalar(sa.select(IntegrationSyncJob).where(
        IntegrationSyncJob.connection_id == connection.id, IntegrationSyncJob.object_type == object_type))
    if job is None:
        job = IntegrationSyncJob(connection_id=connection.id, object_type=object_type,
                                 schedule_seconds=schedule_seconds, enabled=enabled, next_run_at=utcnow(),
                                 depends_on="companies" if object_type in ("contacts", "deals") else None)
        db.session.add(job)
        db.session.flush()
    return job

