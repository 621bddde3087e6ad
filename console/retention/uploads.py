"""Uploaded CSV files that were never imported hold clients' data for no purpose: after
CONSOLE_UPLOAD_KEEP_DAYS (14 by default) without a change, the nightly pass removes the stored file and
marks the import expired (its row stays, so the page and the audit still say what was uploaded)."""
from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from .. import blobs
from ..choices import ImportStatus
from ..extensions import db
from ..models import CsvImport

TABLE = "csv_uploads (never imported)"
WAITING = (ImportStatus.UPLOADED.value, ImportStatus.QUEUED.value, ImportStatus.RUNNING.value)


def keep_days() -> int:
    return max(1, int(current_app.config["UPLOAD_KEEP_DAYS"]))


def stale(cutoff: datetime) -> sa.Select:
    return sa.select(CsvImport).where(CsvImport.status == ImportStatus.UPLOADED.value, CsvImport.updated_at < cutoff)


def expire(now: datetime, dry_run: bool = False, batch: int = 200) -> tuple[datetime, int, int]:
    """(cutoff, uploads past their age, uploads expired); each batch its own transaction."""
    cutoff = now - timedelta(days=keep_days())
    due = int(db.session.scalar(sa.select(sa.func.count()).select_from(stale(cutoff).subquery())) or 0)
    done = 0
    while not dry_run:
        rows = db.session.scalars(stale(cutoff).order_by(CsvImport.id).limit(batch)).all()
        if not rows:
            break
        for imp in rows:
            shared = db.session.scalar(sa.select(sa.func.count()).select_from(CsvImport).where(
                CsvImport.connection_id == imp.connection_id, CsvImport.file_hash == imp.file_hash,
                CsvImport.id != imp.id, CsvImport.status.in_(WAITING)))
            # A folder's file is shared by the same file's imports of other objects: kept while one waits.
            blobs.discard(imp.blob_key, None if shared else blobs.folder() / imp.disk_name)
            imp.status = ImportStatus.EXPIRED.value
            done += 1
        db.session.commit()
    db.session.rollback()
    return cutoff, due, done
