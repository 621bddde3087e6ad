"""CSV imports: upload (size, encoding, duplicate file), preview (a dry run of the first rows), queue,
and the import itself, run by the dispatcher with the same accounting as a sync run. Completion goes
through the webhook-operation pipeline as a "Manual CSV Import Completed" event."""
from __future__ import annotations

import hashlib
import os
import re
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC
from pathlib import Path

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from .. import audit, blobs
from ..choices import ImportStatus, RunKind
from ..config import upload_limit_text
from ..connectors.base import SourceRecord
from ..connectors.manual_csv.reader import CsvFacts, inspect, records
from ..connectors.registry import source_label
from ..extensions import db
from ..models import CsvImport, EventWebhookEvent, IntegrationConnection, IntegrationFieldMapping, IntegrationSyncRun, User
from ..models.base import changed_rows
from ..refusals import Refused
from ..sync.inbound.pipeline import PageWriter
from ..sync.runs import lifecycle as runs
from ..sync.runs.accounting import Tally
from . import mapping as csv_mapping
from . import storage, two_way
from .rows import FileRows

PAGE_ROWS = 500  # the most rows a page holds (one transaction); small files use smaller pages
PREVIEW_ROWS = 20
MAX_KEPT_FAILURES = 10_000
MAX_SHOWN_PROBLEMS = 50  # rows with a problem listed by the whole-file check (all are counted)
ACTIVE = (ImportStatus.QUEUED.value, ImportStatus.RUNNING.value, ImportStatus.SUCCEEDED.value,
          ImportStatus.PARTIAL.value)


class ImportRefused(Refused):
    pass


def upload_dir() -> Path:
    return blobs.folder()


def file_path(imp: CsvImport) -> Path:
    return upload_dir() / imp.disk_name


def upload(conn: IntegrationConnection, name: str, data: bytes, object_type: str, user: User) -> CsvImport:
    if len(data) > current_app.config["CSV_MAX_BYTES"]:
        raise ImportRefused(f"The file is {len(data) / 2 ** 20:.1f} MB; files up to {upload_limit_text()} are accepted.")
    digest = hashlib.sha256(data).hexdigest()
    earlier = _earlier(conn, object_type, digest, user)
    if earlier is not None:
        return earlier  # uploaded before but never imported: carry on with it
    facts: CsvFacts = inspect(data)  # raises CsvRejected with the line of the problem
    imp = CsvImport(connection_id=conn.id, object_type=object_type, file_name=os.path.basename(name)[:255] or "upload.csv",
                    file_hash=digest, size_bytes=len(data), encoding=facts.encoding, delimiter=facts.delimiter,
                    header=facts.header, row_count=facts.row_count, uploaded_by_user_id=user.id,
                    status=ImportStatus.UPLOADED.value)
    template = csv_mapping.matching_template(conn, facts.header)
    if template is not None and template.object_type == object_type:
        imp.mapping = dict(template.mapping)
    else:
        imp.mapping = {"id_column": csv_mapping.suggest_id(facts.header),
                       "fields": {t: c for t, (c, _) in csv_mapping.suggest(object_type, facts.header).items()}}
    db.session.add(imp)
    try:
        db.session.flush()
    except IntegrityError:  # the same file uploaded at the same moment: the other upload won
        db.session.rollback()
        earlier = _earlier(conn, object_type, digest, user)
        if earlier is None:
            raise
        return earlier
    storage.put(imp, data, file_path(imp))
    audit.record("csv_import.uploaded", conn, user, import_id=imp.id, file_name=imp.file_name, rows=imp.row_count,
                 file_hash=digest)
    db.session.commit()
    return imp


def _earlier(conn: IntegrationConnection, object_type: str, digest: str, user: User) -> CsvImport | None:
    """The import this file already has for this object type; refused when it ran or is running."""
    earlier = db.session.scalar(sa.select(CsvImport).where(
        CsvImport.connection_id == conn.id, CsvImport.object_type == object_type, CsvImport.file_hash == digest))
    if earlier is not None and earlier.status in ACTIVE:
        earlier.duplicate_uploads += 1
        count_duplicate_event(conn, completion_id(earlier))
        audit.record("csv_import.duplicate_upload", conn, user, import_id=earlier.id, file_hash=digest)
        db.session.commit()
        raise ImportRefused(f"This exact file was already imported as {object_type} (import #{earlier.id}, "
                            f"{earlier.created_at:%Y-%m-%d %H:%M} UTC). It is not imported twice.")
    return earlier


def completion_id(imp: CsvImport) -> str:
    """The "import completed" event's id: one per file and object type."""
    return f"{imp.connection_id}:{imp.object_type}:{imp.file_hash}"


def count_duplicate_event(conn: IntegrationConnection, event_id: str) -> None:
    db.session.execute(sa.update(EventWebhookEvent).where(
        EventWebhookEvent.provider == "manual_csv", EventWebhookEvent.source_event_id == event_id,
    ).values(duplicate_count=EventWebhookEvent.duplicate_count + 1).execution_options(synchronize_session=False))


def _sensitive(conn_id: int, object_type: str) -> set[str]:
    return set(db.session.scalars(sa.select(IntegrationFieldMapping.target_field).where(
        IntegrationFieldMapping.connection_id == conn_id, IntegrationFieldMapping.object_type == object_type,
        IntegrationFieldMapping.sensitive.is_(True))))


def page_rows(imp: CsvImport) -> int:
    """About twenty pages a file, 5 to 500 rows each: the progress bar moves on a small file too."""
    return max(5, min(PAGE_ROWS, -(-(imp.row_count or 1) // 20)))


def in_file_terms(reason: str, imp: CsvImport) -> str:
    """A reason as the person who made the file reads it: the file's column, not our field name."""
    for target, column in ((imp.mapping or {}).get("fields") or {}).items():
        if column:
            reason = re.sub(rf"(^|; ){re.escape(target)}:", _column_words(column), reason)
    return reason


def _column_words(column: str) -> Callable[[re.Match[str]], str]:
    return lambda m: f"{m.group(1)}Column “{column}”:"


def source_records(imp: CsvImport, rows_with_lines) -> tuple[list[SourceRecord], list[tuple[int, str, str]]]:
    """Rows as records; a row without an id cannot be matched and fails on its own."""
    stamp = int(imp.created_at.replace(tzinfo=UTC).timestamp() * 1000)
    id_column = (imp.mapping or {})["id_column"]
    good: list[SourceRecord] = []
    bad: list[tuple[int, str, str]] = []
    for line, row in rows_with_lines:
        ext = (row.get(id_column) or "").strip()
        if not ext:
            bad.append((line, "", f"Line {line}: the id column “{id_column}” is empty."))
            continue
        good.append(SourceRecord(ext[:255], row, stamp, line=line))
    return good, bad


def check(conn: IntegrationConnection, imp: CsvImport) -> dict:
    """The whole file as a dry run, nothing written: how many rows will be created, updated, left
    unchanged, skipped as duplicates within the file (naming the kept line) or failed (with their
    reason), the first rows as they will go, and the rows with a problem. Kept on the import, so the
    summary and the Import button survive a reload; a new mapping clears it."""
    issues = csv_mapping.problems(imp.object_type, imp.mapping or {}, imp.header)
    if issues:
        raise ImportRefused(" ".join(issues))
    tally = Tally()
    writer = writer_for(conn, imp, None, tally, dry_run=True)
    file_rows = file_rows_for(conn, imp, writer)
    counts: Counter[str] = Counter()
    first: list[dict] = []
    problems: list[dict] = []

    def note(line: int, ext: str, bucket: str, reason: str) -> None:
        counts[bucket] += 1
        row = {"line": line, "id": ext, "bucket": bucket, "reason": in_file_terms(reason, imp)}
        if len(first) < PREVIEW_ROWS:
            first.append(row)
        if bucket in ("failed", "duplicate") and len(problems) < MAX_SHOWN_PROBLEMS:
            problems.append(row)

    email_matched = two_way.applies(conn, imp.object_type)
    for batch in batches(imp, PAGE_ROWS):
        good, bad = source_records(imp, batch)
        if email_matched:  # rows go to leads by email (two_way.py): what each would do, nothing written
            for line, ext, bucket, reason in sorted([(line, ext, "failed", reason) for line, ext, reason in bad]
                                                    + two_way.foresee(conn, writer.spec, good)):
                note(line, ext, bucket, reason)
            continue
        to_write, settled = file_rows.split(good, writer.versions)
        outcomes = [(line, ext, "failed", reason) for line, ext, reason in bad]
        outcomes += [(s.record.line, s.record.external_id, s.bucket, s.reason) for s in settled]
        for d in writer.decide(to_write):
            file_rows.keep(d.record, d.bucket)
            if d.bucket != "duplicate":
                writer.versions.put(d.record.external_id, d.record.updated_ms, d.record.archived)
            outcomes.append((d.record.line, d.record.external_id, d.bucket, d.reason))
        for outcome in sorted(outcomes):
            note(*outcome)
        db.session.rollback()
    imp.checked = {"mapping": imp.mapping, "counts": dict(counts), "rows": first, "problems": problems,
                   "problem_count": counts["failed"] + counts["duplicate"]}
    db.session.commit()
    return imp.checked


def current_check(imp: CsvImport) -> dict | None:
    """The stored check, when it was made for the mapping the import has now."""
    checked = imp.checked
    return checked if checked and checked.get("mapping") == imp.mapping else None


def batches(imp: CsvImport, size: int) -> Iterator[list[tuple[int, dict[str, str]]]]:
    batch: list[tuple[int, dict[str, str]]] = []
    with storage.local_copy(imp, file_path(imp)) as path:
        for item in records(path, _facts(imp)):
            batch.append(item)
            if len(batch) >= size:
                yield batch
                batch = []
    if batch:
        yield batch


def file_rows_for(conn: IntegrationConnection, imp: CsvImport, writer: PageWriter) -> FileRows:
    return FileRows(writer.spec, {t: c for t, c in ((imp.mapping or {}).get("fields") or {}).items() if c},
                    conn.id, imp.object_type, stored=not writer.dry_run)


def _facts(imp: CsvImport) -> CsvFacts:
    return CsvFacts(imp.encoding, imp.delimiter, imp.header, imp.row_count)


def writer_for(conn, imp, run, tally, dry_run=False) -> PageWriter:
    spec = csv_mapping.spec(imp.object_type, imp.mapping, _sensitive(conn.id, imp.object_type),
                            csv_mapping.picklist_options(conn, imp.object_type))
    writer = PageWriter(conn, imp.object_type, spec, run, source_label("manual_csv"), None, dry_run, tally)
    writer.source_kind = "csv"
    return writer


def save_mapping(conn: IntegrationConnection, imp: CsvImport, id_column: str, fields: dict[str, str],
                 template_name: str, user: User) -> None:
    """The header mapping of an uploaded file (and, when named, a template for the next file like it)."""
    imp.mapping = {"id_column": id_column, "fields": {k: v for k, v in fields.items() if v}}
    imp.checked = None
    if template_name:
        csv_mapping.save_template(conn, template_name, imp.object_type, imp.header, imp.mapping, user)
    db.session.commit()


def queue(conn: IntegrationConnection, imp: CsvImport, user: User) -> IntegrationSyncRun:
    if imp.status == ImportStatus.EXPIRED:
        raise ImportRefused("This upload expired without being imported, and its file was removed; upload the file again.")
    if imp.status != ImportStatus.UPLOADED:
        raise ImportRefused(f"This import is {ImportStatus.label_of(imp.status).lower()} already.")
    issues = csv_mapping.problems(imp.object_type, imp.mapping or {}, imp.header)
    if issues:
        raise ImportRefused(" ".join(issues))
    # Taken with a conditional UPDATE: of eight "Run import" clicks at once, one queues a run.
    won = changed_rows(db.session.execute(sa.update(CsvImport).where(
        CsvImport.id == imp.id, CsvImport.status == ImportStatus.UPLOADED.value)
        .values(status=ImportStatus.QUEUED.value).execution_options(synchronize_session=False)))
    if won != 1:
        db.session.rollback()
        raise ImportRefused("This import was queued already (another click or tab); it runs once.")
    run = runs.open_run(conn.id, imp.object_type, RunKind.CSV_IMPORT.value, queued=True, record_limit=imp.row_count,
                        triggered_by_user_id=user.id)
    imp.run_id, imp.status = run.id, ImportStatus.QUEUED.value
    audit.record("csv_import.queued", conn, user, import_id=imp.id, run_id=run.id)
    db.session.commit()
    return run
