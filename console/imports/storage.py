"""Where an uploaded CSV waits for its import, readable from whichever node claims the import
(console/blobs.py: chunks in the traffic database by default, or a shared folder). A finished import's
database copy is removed; a folder's file stays."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .. import blobs
from ..models import CsvImport


def _key(imp: CsvImport) -> str:
    return imp.blob_key


def put(imp: CsvImport, data: bytes, folder_path: Path) -> None:
    """Store the upload (the caller commits)."""
    blobs.put(_key(imp), data, folder_path)


@contextmanager
def local_copy(imp: CsvImport, folder_path: Path) -> Iterator[Path]:
    """A path to read the upload from on this node (see blobs.local_copy)."""
    with blobs.local_copy(_key(imp), folder_path, suffix=".csv") as path:
        yield path


def discard(imp: CsvImport) -> None:
    """The import has finished: its stored chunks go (the caller commits). A folder's file stays."""
    blobs.discard(_key(imp))  # in the database only: no folder path, so a folder's file stays
