"""Uploaded files any node can read: in the traffic database in chunks (the default), or in a folder
every node shares (UPLOAD_STORE = "folder"). CSV imports and intake attachments keep their files here.

The database keeps 1 MiB chunks (well under MariaDB's 16 MB `max_allowed_packet`) and costs a copy of
each file in the traffic database until it is discarded; the folder costs shared storage (NFS or similar).
"""
from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from flask import current_app

from .extensions import db
from .models import UploadChunk
from .models.base import utcnow

CHUNK_BYTES = 1 << 20


def folder() -> Path:
    """The uploads folder (CONSOLE_UPLOAD_DIR, or the instance's `uploads`). Uploaded files hold clients'
    data: the folder is the service user's alone (0700)."""
    path = Path(current_app.config.get("CSV_UPLOAD_DIR") or Path(current_app.instance_path) / "uploads")
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.stat().st_mode & 0o077:
        path.chmod(0o700)
    return path


def in_database() -> bool:
    return current_app.config["UPLOAD_STORE"] == "database"


def put(key: str, data: bytes, folder_path: Path) -> None:
    """Store a file under `key` (the caller commits). In the database, chunks replace any left by an earlier try."""
    if not in_database():
        _write_private(folder_path, data)
        return
    now = utcnow()
    db.session.execute(sa.delete(UploadChunk).where(UploadChunk.upload_key == key))
    for seq, start in enumerate(range(0, len(data), CHUNK_BYTES)):  # Core inserts: the session keeps no copy
        db.session.execute(sa.insert(UploadChunk).values(upload_key=key, seq=seq, created_at=now,
                                                         data=data[start:start + CHUNK_BYTES]))


@contextmanager
def local_copy(key: str, folder_path: Path, suffix: str = "") -> Iterator[Path]:
    """A path to read the file from on this node: the shared folder's file, or a private temporary copy
    of the database's chunks, written chunk by chunk (flat memory) and deleted afterwards. OSError when
    the file is not there."""
    if not in_database():
        if not folder_path.exists():
            raise FileNotFoundError(f"{folder_path} is not on this node: share CONSOLE_UPLOAD_DIR between nodes")
        yield folder_path
        return
    ids = db.session.scalars(sa.select(UploadChunk.id).where(UploadChunk.upload_key == key)
                             .order_by(UploadChunk.seq)).all()
    if not ids:
        raise FileNotFoundError("the uploaded file is no longer stored")
    spool = Path(current_app.instance_path) / "tmp"
    spool.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix="upload-", suffix=suffix, dir=spool)  # 0600
    try:
        with os.fdopen(fd, "wb") as fh:
            for chunk_id in ids:
                fh.write(db.session.scalar(sa.select(UploadChunk.data).where(UploadChunk.id == chunk_id)) or b"")
        yield Path(name)
    finally:
        Path(name).unlink(missing_ok=True)


def discard(key: str, folder_path: Path | None = None) -> None:
    """The file is no longer needed (the caller commits). A folder's file is removed when its path is given."""
    if in_database():
        db.session.execute(sa.delete(UploadChunk).where(UploadChunk.upload_key == key))
    elif folder_path is not None:
        folder_path.unlink(missing_ok=True)


def _write_private(path: Path, data: bytes) -> None:
    """Write a file only its owner can read (0600), whatever the process umask."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.chmod(path, 0o600)
