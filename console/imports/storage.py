"""Where an uploaded CSV waits for its import, readable from whichever node claims the import.

`database` (the default): the file in 1 MiB chunks in the traffic database (well under MariaDB's
16 MB `max_allowed_packet`), copied to a private temporary file on the node that imports it, chunk by
chunk (flat memory), and removed once the import has finished. `folder`: the file stays in
CONSOLE_UPLOAD_DIR, which every node must then share (NFS or similar); nothing is copied. The database
costs a copy of each upload in the traffic database until it is imported; the folder costs shared storage.
"""
from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from flask import current_app

from ..extensions import db
from ..models import CsvImport, UploadChunk
from ..models.base import utcnow

CHUNK_BYTES = 1 << 20


def _key(imp: CsvImport) -> str:
    return f"csv:{imp.connection_id}:{imp.object_type}:{imp.file_hash}"


def in_database() -> bool:
    return current_app.config.get("UPLOAD_STORE", "database") == "database"


def put(imp: CsvImport, data: bytes, folder_path: Path) -> None:
    """Store the upload (the caller commits). In the database, chunks replace any left by an earlier try."""
    if not in_database():
        _write_private(folder_path, data)
        return
    key, now = _key(imp), utcnow()
    db.session.execute(sa.delete(UploadChunk).where(UploadChunk.upload_key == key))
    for seq, start in enumerate(range(0, len(data), CHUNK_BYTES)):  # Core inserts: the session keeps no copy
        db.session.execute(sa.insert(UploadChunk).values(upload_key=key, seq=seq, created_at=now,
                                                         data=data[start:start + CHUNK_BYTES]))


@contextmanager
def local_copy(imp: CsvImport, folder_path: Path) -> Iterator[Path]:
    """A path to read the upload from on this node: the shared folder's file, or a private temporary
    copy of the database's chunks (deleted afterwards). OSError when the file is not there."""
    if not in_database():
        if not folder_path.exists():
            raise FileNotFoundError(f"{folder_path} is not on this node: share CONSOLE_UPLOAD_DIR between nodes")
        yield folder_path
        return
    key = _key(imp)
    ids = db.session.scalars(sa.select(UploadChunk.id).where(UploadChunk.upload_key == key)
                             .order_by(UploadChunk.seq)).all()
    if not ids:
        raise FileNotFoundError(f"the upload of import {imp.id} is no longer stored")
    spool = Path(current_app.instance_path) / "tmp"
    spool.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix="import-", suffix=".csv", dir=spool)  # 0600
    try:
        with os.fdopen(fd, "wb") as fh:
            for chunk_id in ids:
                fh.write(db.session.scalar(sa.select(UploadChunk.data).where(UploadChunk.id == chunk_id)) or b"")
        yield Path(name)
    finally:
        Path(name).unlink(missing_ok=True)


def discard(imp: CsvImport) -> None:
    """The import has finished: its stored chunks go (the caller commits). A folder's file stays."""
    if in_database():
        db.session.execute(sa.delete(UploadChunk).where(UploadChunk.upload_key == _key(imp)))


def _write_private(path: Path, data: bytes) -> None:
    """Write a file only its owner can read (0600), whatever the process umask."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.chmod(path, 0o600)
