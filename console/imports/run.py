"""A CSV import running: page by page through the sync engine's writer (each page its own transaction),
the run's accounting, the rows with a problem kept in the file's own terms, the completion event, and
what an import says when the sweep finds its process gone."""
from __future__ import annotations

import csv
import io

import sqlalchemy as sa

from ..choices import ImportStatus, RunStatus, WebhookStatus
from ..connectors.base import Page
from ..connectors.manual_csv.reader import CsvRejected
from ..connectors.registry import source_label
from ..extensions import db
from ..metrics.cards import safe_cell
from ..models import CsvImport, EventWebhookEvent, IntegrationConnection, IntegrationSyncRun
from ..models.base import require
from ..sync.inbound.pipeline import PageWriter
from ..sync.runs.accounting import Tally
from ..sync.runs.events import run_stopped, safely
from ..sync.runs.frame import RunFrame
from . import storage, two_way
from .rows import FileRows
from .service import (
    MAX_KEPT_FAILURES,
    batches,
    completion_id,
    count_duplicate_event,
    file_rows_for,
    in_file_terms,
    page_rows,
    source_records,
    writer_for,
)
from .two_way import TwoWayImport

Failure = tuple[int, str, str, str]  # line, record id, reason in the file's terms, bucket


def execute(run: IntegrationSyncRun) -> None:
    """The import, page by page (each page its own transaction); counts move as it goes."""
    imp = db.session.execute(sa.select(CsvImport).where(CsvImport.run_id == run.id)).scalar_one()
    imp.status = ImportStatus.RUNNING.value
    db.session.commit()
    finished = ImportFrame(run, Tally(), require(IntegrationConnection, run.connection_id), imp).execute()
    if finished.status != RunStatus.FAILED:
        completed(db.session.merge(imp), finished)


class ImportFrame(RunFrame):
    """A CSV import's run: the stored file's rows through the page writer (or, for contacts that flow to
    the CRM, matched on email), its problem rows kept in the file's own terms."""

    marks_credentials = False

    def __init__(self, run: IntegrationSyncRun, tally: Tally, connection: IntegrationConnection,
                 imp: CsvImport) -> None:
        super().__init__(run, tally, connection)
        self.imp, self.failures = imp, list[Failure]()

    def body(self) -> None:
        run, conn, imp, tally = self.run, self.connection, self.imp, self.tally
        try:
            pages = writer_for(conn, imp, run, tally)
            file_rows = file_rows_for(conn, imp, pages)
            writer: PageWriter | TwoWayImport = pages
            if two_way.applies(conn, imp.object_type):  # contacts that flow to the CRM: matched on email
                writer = TwoWayImport(conn, pages.spec, run, tally, source_label("manual_csv"))
            for batch in batches(imp, page_rows(imp)):
                _apply(writer, file_rows, imp, batch, tally, self.failures)
        except (OSError, CsvRejected, UnicodeDecodeError) as exc:
            db.session.rollback()
            self.error = f"The stored file could not be read: {type(exc).__name__}"

    def closed(self, run: IntegrationSyncRun) -> None:
        imp = db.session.merge(self.imp)
        run.outcomes = [list(f) for f in self.failures]
        if run.status == RunStatus.FAILED:
            imp.status, imp.error = ImportStatus.FAILED.value, run.error_message
        else:
            imp.status = ImportStatus.PARTIAL.value if run.status == RunStatus.PARTIAL else ImportStatus.SUCCEEDED.value
        storage.discard(imp)  # a finished import is never run again: its stored upload goes


def _apply(writer: PageWriter | TwoWayImport, file_rows: FileRows, imp: CsvImport,
           batch: list[tuple[int, dict[str, str]]], tally: Tally, failures: list[Failure]) -> None:
    """One page: id-less rows fail, rows whose id repeats are settled by `file_rows`, the rest are written;
    the rows with a problem are kept for the errors file in the file's own terms."""
    good, bad = source_records(imp, batch)
    problems = [(line, ext, reason, "failed") for line, ext, reason in bad]
    if isinstance(writer, TwoWayImport):
        tally.read(len(bad))
        for line, _, reason in bad:
            tally.add(f"line-{line}", "failed", reason)
        problems += [(rec.line, rec.external_id, reason, "failed") for rec, bucket, reason in writer.apply(good)
                     if bucket == "failed"]
    else:
        to_write, settled = file_rows.split(good, writer.versions)
        tally.read(len(bad) + len(settled))  # counted with the page's commit below
        for line, _, reason in bad:
            tally.add(f"line-{line}", "failed", reason)
        for s in settled:
            tally.add(s.record.external_id, s.bucket, s.reason)
            problems.append((s.record.line, s.record.external_id, s.reason, s.bucket))
        for d in writer.apply(Page(to_write, {}), None):
            file_rows.keep(d.record, d.bucket)
            if d.bucket == "failed":
                problems.append((d.record.line, d.record.external_id, d.reason, "failed"))
    failures += [(line, ext, in_file_terms(reason, imp), bucket) for line, ext, reason, bucket in sorted(problems)]
    del failures[MAX_KEPT_FAILURES:]  # the writer's commit already stored the tally, id-less rows included


@run_stopped.connect
@safely
def _on_run_stopped(run: IntegrationSyncRun, **_: object) -> None:
    """The sweep failed an import's run (its process died): the import says how far it got."""
    imp = db.session.scalar(sa.select(CsvImport).where(CsvImport.run_id == run.id))
    if imp is None:
        return
    imp.status = ImportStatus.FAILED.value
    imp.error = (f"The import stopped after {run.seen:,} of {imp.row_count:,} rows ({run.created:,} new, "
                 f"{run.updated:,} updated, {run.failed:,} failed were kept); upload the file again to import "
                 "the rest: rows already imported count as unchanged.")
    storage.discard(imp)
    db.session.commit()


def completed(imp: CsvImport, run: IntegrationSyncRun) -> None:
    """'Manual CSV Import Completed' through the webhook-operation pipeline (deduplicated on the file hash
    and object type)."""
    event_id = completion_id(imp)
    if db.session.scalar(sa.select(EventWebhookEvent.id).where(
            EventWebhookEvent.provider == "manual_csv", EventWebhookEvent.source_event_id == event_id)):
        count_duplicate_event(require(IntegrationConnection, imp.connection_id), event_id)
        db.session.commit()
        return
    who = imp.uploaded_by.email if imp.uploaded_by else None
    summary = {"rows": run.seen, "created": run.created, "updated": run.updated, "unchanged": run.unchanged,
               "duplicate": run.duplicate, "failed": run.failed, "who": who, "file_name": imp.file_name,
               "file_hash": imp.file_hash, "object_type": imp.object_type, "import_id": imp.id}
    db.session.add(EventWebhookEvent(provider="manual_csv", source_event_id=event_id, connection_id=imp.connection_id,
                                     event_type="manual_csv.import_completed", object_id=str(imp.id),
                                     occurred_at=run.finished_at, status=WebhookStatus.RECEIVED.value,
                                     payload_summary=summary, raw_payload=summary))
    db.session.commit()


def errors_csv(run: IntegrationSyncRun) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["Line", "Record id", "Outcome", "Reason"])
    for line, ext, reason, *bucket in run.outcomes or []:
        writer.writerow([line, safe_cell(ext), (bucket or ["failed"])[0], safe_cell(reason)])
    return out.getvalue()
