"""An import uploaded through one app instance is run by a dispatcher in another process, with an instance
folder of its own (issue 20): with uploads in the database it imports; with a folder that is not shared it
fails, saying why. Runs on SQLite and, in CI, on MariaDB."""
from __future__ import annotations

import io
import subprocess
import time

import pytest
import sqlalchemy as sa

from console.extensions import db
from console.imports import service
from console.models import CrmLead, CsvImport, IntegrationSyncRun, UploadChunk

from .. import factories
from .test_processes import ROOT, child_env, flask_cmd

ROWS = 1200  # more than one chunk would hold at 1 KiB: the test shrinks the chunk size to cross it


def _file() -> bytes:
    out = io.StringIO()
    out.write("Record ID,Email,First Name\r\n")
    for i in range(ROWS):
        out.write(f"{i},person{i}@example.com,P{i}\r\n")
    return out.getvalue().encode()


def _queue(conn, user) -> CsvImport:
    imp = service.upload(conn, "people.csv", _file(), "contacts", user)
    service.save_mapping(conn, imp, "Record ID", {"email": "Email", "first_name": "First Name"}, "", user)
    service.queue(conn, imp, user)
    return imp


def _run_elsewhere(app, imp_id: int, **env) -> CsvImport:
    """`flask jobs run` in another process (its instance folder is the checkout's, not this test's) until
    the import finishes."""
    child = subprocess.Popen(flask_cmd("jobs", "run", "--interval", "0.3"), cwd=ROOT,
                             env={**child_env(app), **env}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            db.session.commit()  # a fresh snapshot: the child writes on its own connections
            imp = db.session.get(CsvImport, imp_id)
            if imp.status in ("succeeded", "partial", "failed"):
                return imp
            time.sleep(0.3)
        raise AssertionError("the other process did not finish the import")
    finally:
        child.terminate()
        child.wait(timeout=60)
        child.stderr.close()


def test_an_upload_in_the_database_is_imported_by_another_process(app, monkeypatch):
    from console import blobs

    monkeypatch.setattr(blobs, "CHUNK_BYTES", 1024)
    user = factories.user("ops")
    conn = factories.connection(factories.client("Harbour Physio"), live=True)
    db.session.commit()
    imp = _queue(conn, user)
    chunks = db.session.scalar(sa.select(sa.func.count()).select_from(UploadChunk))
    assert chunks > 20 and not service.upload_dir().joinpath(f"{conn.id}-{imp.file_hash}.csv").exists()
    done = _run_elsewhere(app, imp.id)
    run = db.session.get(IntegrationSyncRun, done.run_id)
    assert done.status == "succeeded" and (run.seen, run.created) == (ROWS, ROWS)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CrmLead)) == ROWS
    assert db.session.scalar(sa.select(sa.func.count()).select_from(UploadChunk)) == 0  # gone once imported


@pytest.mark.parametrize("store", ["folder"])
def test_a_folder_that_is_not_shared_fails_the_import_and_says_why(app, store):
    app.config["UPLOAD_STORE"] = store
    user = factories.user("ops")
    conn = factories.connection(factories.client("Bay Dental"), live=True)
    db.session.commit()
    imp = _queue(conn, user)
    done = _run_elsewhere(app, imp.id, CONSOLE_UPLOAD_STORE=store)  # its own instance folder: no such file
    assert done.status == "failed" and "could not be read" in (done.error or "")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CrmLead)) == 0
