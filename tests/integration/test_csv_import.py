"""Manual CSV import through its routes: encodings, delimiters, quoted newlines, malformed files,
a re-upload, row errors (formula-safe), the completion event through the webhook pipeline, and the
same accounting as a sync run."""
from __future__ import annotations

import io

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from console.extensions import db
from console.models import (
    CrmLead,
    CsvImport,
    CsvImportTemplate,
    EventWebhookEvent,
    IntegrationNormalizedEvent,
    IntegrationSyncRun,
)
from console.webhooks import normalize

from .. import factories
from ..wizard_flow import run_queued_test_batches

HEADER = ["Record ID", "Email", "First Name", "Last Name", "Phone Number", "Notes"]


def _csv(rows: list[list[str]], delimiter: str = ",", header=HEADER) -> str:
    out = io.StringIO()
    import csv

    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


@pytest.fixture
def ops_and_conn(login):
    conn = factories.connection(factories.client("Harbour Physio"), live=True)
    db.session.commit()
    return login("ops"), conn


def _upload(browser, conn, data: bytes, name: str = "contacts.csv", object_type: str = "contacts"):
    # encoded in memory: the test client would spool a big body to a temporary file it never closes
    boundary, body = encode_multipart({"file": FileStorage(io.BytesIO(data), name), "object_type": object_type,
                                       "csrf_token": browser.token})
    return browser.client.post(f"/connections/{conn.id}/imports/", data=body,
                               headers={"HX-Request": "true", "X-CSRFToken": browser.token},
                               content_type=f"multipart/form-data; boundary={boundary}")


def _import(browser, conn, data: bytes, **kw) -> CsvImport:
    resp = _upload(browser, conn, data, **kw)
    assert resp.status_code == 204, resp.get_data(as_text=True)
    imp = db.session.scalar(sa.select(CsvImport).order_by(CsvImport.id.desc()))
    preview = browser.hx_post(f"/connections/{conn.id}/imports/{imp.id}/mapping", {
        "id_column": "Record ID", "field::email": "Email", "field::first_name": "First Name",
        "field::last_name": "Last Name", "field::phone": "Phone Number"})
    assert preview.status_code == 200, preview.get_data(as_text=True)
    assert browser.hx_post(f"/connections/{conn.id}/imports/{imp.id}/run").status_code == 200
    run_queued_test_batches()  # the dispatcher's job: claims queued runs (test batches and imports)
    db.session.refresh(imp)
    return imp


ROWS = [["101", "elodie@example.com", "Élodie", "Brûlé", "+1 416 555 0101", "likes café"],
        ["102", "sam@example.com", "Sam", "O'Neil", "416-555-0102", "line one\nline two, with a comma"],
        ["103", "not-an-email", "Bad", "Row", "", ""]]


@pytest.mark.parametrize("encoding, delimiter", [("utf-8", ","), ("utf-8-sig", ";"), ("latin-1", "\t")])
def test_encodings_delimiters_and_quoted_newlines(ops_and_conn, encoding, delimiter):
    ops, conn = ops_and_conn
    data = _csv(ROWS, delimiter).encode(encoding)
    imp = _import(ops, conn, data)
    assert (imp.encoding, imp.delimiter, imp.row_count) == (encoding, delimiter, 3)
    assert imp.status == "partial"
    run = db.session.get(IntegrationSyncRun, imp.run_id)
    assert (run.seen, run.created, run.failed) == (3, 2, 1) and run.buckets_balance
    leads = {lead.external_id: lead for lead in db.session.scalars(sa.select(CrmLead))}
    assert leads["101"].first_name == "Élodie" and leads["101"].last_name == "Brûlé"
    assert leads["102"].phone == "+14165550102" and leads["101"].source_label == "Manual import"


def test_suggestions_preselect_columns_and_templates_are_offered_again(ops_and_conn):
    ops, conn = ops_and_conn
    resp = _upload(ops, conn, _csv(ROWS).encode())
    imp = db.session.scalar(sa.select(CsvImport))
    assert imp.mapping["id_column"] == "Record ID"
    assert imp.mapping["fields"]["email"] == "Email" and imp.mapping["fields"]["first_name"] == "First Name"
    ops.hx_post(f"/connections/{conn.id}/imports/{imp.id}/mapping", {
        "id_column": "Record ID", "field::email": "Email", "field::phone": "Phone Number",
        "template_name": "Clinic export"})
    assert db.session.scalar(sa.select(CsvImportTemplate.name)) == "Clinic export"
    resp = _upload(ops, conn, _csv(ROWS[:1]).encode())  # another file, same columns
    second = db.session.scalar(sa.select(CsvImport).order_by(CsvImport.id.desc()))
    assert second.mapping == {"id_column": "Record ID", "fields": {"email": "Email", "phone": "Phone Number"}}
    assert "Saved template “Clinic export” matches" in ops.get(
        f"/connections/{conn.id}/imports/{second.id}").get_data(as_text=True)
    assert resp.status_code == 204


def test_the_check_is_a_dry_run_and_shows_buckets(ops_and_conn):
    ops, conn = ops_and_conn
    _upload(ops, conn, _csv(ROWS).encode())
    imp = db.session.scalar(sa.select(CsvImport))
    resp = ops.hx_post(f"/connections/{conn.id}/imports/{imp.id}/mapping", {
        "id_column": "Record ID", "field::email": "Email", "field::first_name": "First Name"})
    html = resp.get_data(as_text=True)
    preview = html[html.index('id="csv-preview"'):]
    assert preview.count('class="bucket-created"') == 2 and preview.count('class="bucket-failed"') == 1
    assert "Column “Email”" in html and db.session.scalar(sa.select(sa.func.count()).select_from(CrmLead)) == 0
    missing = ops.hx_post(f"/connections/{conn.id}/imports/{imp.id}/mapping", {"id_column": ""})
    assert missing.status_code == 422 and "identifies each record" in missing.get_data(as_text=True)


@pytest.mark.parametrize("data, words", [
    (b"Record ID,Email\n1,a@example.com\n2,b@example.com,extra\n", "Line 3: 3 fields, but the header has 2"),
    (b'Record ID,Email\n1,"unclosed\n', "Line"),
    (b"PK\x03\x04\x00\x00binary", "not a text CSV"),
    (b"Record ID,Email\n", "no rows"),
    (b"", "empty"),
    (b"Record ID,Record ID\n1,2\n", "Two columns are named"),
])
def test_a_malformed_file_is_refused_with_the_line_and_nothing_is_imported(ops_and_conn, data, words):
    ops, conn = ops_and_conn
    resp = _upload(ops, conn, data)
    assert resp.status_code == 422 and words in resp.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CsvImport)) == 0


def test_oversized_upload_is_refused(ops_and_conn, app):
    ops, conn = ops_and_conn
    app.config["CSV_MAX_BYTES"] = 100
    resp = _upload(ops, conn, _csv(ROWS).encode())
    assert resp.status_code == 422 and "are accepted" in resp.get_data(as_text=True)


def test_reupload_is_a_duplicate_and_completion_goes_through_the_webhook_pipeline(ops_and_conn, login):
    ops, conn = ops_and_conn
    data = _csv(ROWS).encode()
    imp = _import(ops, conn, data)
    event = db.session.scalar(sa.select(EventWebhookEvent).where(EventWebhookEvent.provider == "manual_csv"))
    assert event.source_event_id == f"{conn.id}:{imp.object_type}:{imp.file_hash}" and event.status == "received"
    assert event.payload_summary["rows"] == 3 and event.payload_summary["file_name"] == "contacts.csv"
    again = _upload(ops, conn, data, name="renamed.csv")
    assert again.status_code == 422 and "already imported" in again.get_data(as_text=True)
    db.session.refresh(imp)
    db.session.refresh(event)
    assert imp.duplicate_uploads == 1 and event.duplicate_count == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(IntegrationSyncRun)) == 1

    assert normalize.process_due() == 1
    db.session.refresh(event)
    line = db.session.scalar(sa.select(IntegrationNormalizedEvent).where(
        IntegrationNormalizedEvent.event_type == "import_completed"))
    assert event.status == "normalized" and "2 new" in line.summary["line"]
    client = login("client", conn.client)
    page = client.get(f"/portal/connections/{conn.id}").get_data(as_text=True)
    assert "Manual import: 3 rows checked, 2 new and 0 updated records." in page
    assert "contacts.csv" not in page and imp.file_hash not in page


def test_row_errors_download_neutralises_formulas(ops_and_conn):
    ops, conn = ops_and_conn
    rows = [["=HYPERLINK(\"http://evil.example.com\")", "bad-email", "X", "Y", "", ""], ["", "a@example.com", "", "", "", ""]]
    imp = _import(ops, conn, _csv(rows).encode())
    resp = ops.get(f"/connections/{conn.id}/imports/{imp.id}/errors.csv")
    text = resp.get_data(as_text=True).lstrip("\ufeff")
    assert resp.mimetype == "text/csv"
    assert "'=HYPERLINK" in text and "the id column “Record ID” is empty" in text
    assert not any(line.startswith("=") or ",=" in line for line in text.splitlines())


def test_other_owners_and_clients_cannot_import(ops_and_conn, login):
    _, conn = ops_and_conn
    assert login("owner").get(f"/connections/{conn.id}/imports/").status_code == 403
    assert login("client", conn.client).get(f"/connections/{conn.id}/imports/").status_code == 404


def test_a_100000_row_file_imports_with_balanced_accounting(ops_and_conn):
    ops, conn = ops_and_conn
    rows = [[str(500_000 + i), f"p{i}@example.com" if i % 100 else "broken", f"F{i}", f"L, {i}", "", ""]
            for i in range(100_000)]
    imp = _import(ops, conn, _csv(rows).encode())
    run = db.session.get(IntegrationSyncRun, imp.run_id)
    assert (run.seen, run.created, run.failed) == (100_000, 99_000, 1_000) and run.buckets_balance
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CrmLead)) == 99_000
    assert len(run.outcomes) == 1_000  # every failed row, with its line, for the errors download


# ---- the traps (issue 19): duplicates, picklists, reloads, column names, encodings, one limit ----------------
TRAP_HEADER = ["Record ID", "Email", "First Name", "Phone Number", "Lead Status"]
TRAP_MAPPING = {"id_column": "Email", "field::email": "Email", "field::first_name": "First Name",
                "field::phone": "Phone Number", "field::lead_status": "Lead Status"}


def trap_rows() -> list[list[str]]:
    """540 data rows (lines 2..541): the whole-file check reads 500 rows a batch and the import about 27
    a page, so the duplicates below are met in later batches and pages than the lines they repeat."""
    rows = [[str(i), f"p{i}@example.com", f"P{i}", f"416555{i:04d}", "New"] for i in range(540)]
    rows[20] = ["20", "p20@example.com", "P20", "4165550020", "vip"]  # line 22: not a lead status option
    rows[30] = ["30", "broken", "Bad", "", "Open"]  # line 32: an invalid email, id "broken"
    rows[31] = ["31", "broken", "Bad", "", "Open"]  # line 33: the same invalid email: failed, not a duplicate
    rows[510] = ["510", "p5@example.com", "P5", "4165559999", "New"]  # line 512: same id as line 7, other phone
    rows[520] = ["520", "p6@example.com", "P6", "4165550006", "new"]  # line 522: same as line 8, identical
    rows[530] = ["530", "p10@example.com", "P10", "bad phone", "New"]  # line 532: repeats line 12 but fails
    rows[531][4] = "in progress"  # line 533: a label, any case
    return rows


def test_the_whole_file_check_names_kept_lines_and_survives_a_reload_and_the_import_agrees(ops_and_conn):
    ops, conn = ops_and_conn
    _upload(ops, conn, _csv(trap_rows(), header=TRAP_HEADER).encode())
    imp = db.session.scalar(sa.select(CsvImport))
    resp = ops.hx_post(f"/connections/{conn.id}/imports/{imp.id}/mapping", TRAP_MAPPING)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    db.session.refresh(imp)
    expected = {"created": 534, "duplicate": 2, "failed": 4}
    assert imp.checked["counts"] == expected and db.session.scalar(sa.select(sa.func.count()).select_from(CrmLead)) == 0
    problems = {p["line"]: p for p in imp.checked["problems"]}
    assert set(problems) == {22, 32, 33, 512, 522, 532}
    assert problems[22]["bucket"] == "failed" and "Column “Lead Status”: “vip” is not one of the options" in \
        problems[22]["reason"]
    assert problems[32]["bucket"] == problems[33]["bucket"] == "failed"  # never "a duplicate of line 32"
    assert "Column “Email”" in problems[33]["reason"] and "email:" not in problems[33]["reason"]
    assert problems[512]["bucket"] == "duplicate" and "kept line 7" in problems[512]["reason"]
    assert problems[532]["bucket"] == "failed" and "Column “Phone Number”" in problems[532]["reason"]

    page = ops.get(f"/connections/{conn.id}/imports/{imp.id}").get_data(as_text=True)  # a reload
    assert 'id="csv-check"' in page and 'id="csv-import-run"' in page and "kept line 7" in page

    assert ops.hx_post(f"/connections/{conn.id}/imports/{imp.id}/run").status_code == 200
    run_queued_test_batches()
    db.session.refresh(imp)
    run = db.session.get(IntegrationSyncRun, imp.run_id)
    assert (run.created, run.duplicate, run.failed, run.seen) == (534, 2, 4, 540) and run.buckets_balance
    leads = {lead.email: lead for lead in db.session.scalars(sa.select(CrmLead))}
    assert leads["p5@example.com"].phone == "+14165550005"  # the kept line's value, not line 512's
    # stored as a sync stores HubSpot's options (the label), whatever the spelling in the file
    assert leads["p531@example.com"].lead_status == "In Progress" and leads["p1@example.com"].lead_status == "New"
    assert "p20@example.com" not in leads and "broken" not in leads
    errors = ops.get(f"/connections/{conn.id}/imports/{imp.id}/errors.csv").get_data(as_text=True)
    lines = {row.split(",")[0]: row for row in errors.splitlines()[1:]}
    assert set(lines) == {"22", "32", "33", "512", "522", "532"}
    assert "This row differs in Phone Number" in lines["512"] and "The rows are identical" in lines["522"]
    assert "provider_" not in errors and "lead_status:" not in errors and ",duplicate," in lines["512"]


def test_a_picklist_takes_the_clients_own_crm_options(ops_and_conn):
    from console.models import IntegrationEnumMapping, IntegrationFieldMapping

    ops, conn = ops_and_conn
    crm = factories.hubspot_connection("http://127.0.0.1:9", "pat-x", client_obj=conn.client)
    other_client = factories.hubspot_connection("http://127.0.0.1:9", "pat-y")
    for c, value in ((crm, "VIP_CLIENT"), (other_client, "PLATINUM")):
        db.session.add(IntegrationFieldMapping(connection_id=c.id, object_type="contacts", source_field="hs_lead_status",
                                               target_field="lead_status", transform="enum"))
        db.session.add(IntegrationEnumMapping(connection_id=c.id, object_type="contacts", source_field="hs_lead_status",
                                              source_value=value, source_label=value.title().replace("_", " "),
                                              target_value=value))
    db.session.commit()
    rows = [["1", "a@example.com", "A", "", "vip client"], ["2", "b@example.com", "B", "", "PLATINUM"]]
    _upload(ops, conn, _csv(rows, header=TRAP_HEADER).encode())
    imp = db.session.scalar(sa.select(CsvImport))
    ops.hx_post(f"/connections/{conn.id}/imports/{imp.id}/mapping", TRAP_MAPPING)
    db.session.refresh(imp)
    assert imp.checked["counts"] == {"created": 1, "failed": 1}  # another client's options are not this one's
    assert "PLATINUM" in imp.checked["problems"][0]["reason"] and "VIP_CLIENT" in imp.checked["problems"][0]["reason"]


@pytest.mark.parametrize("encode, encoding", [
    (lambda text: text.encode("utf-16"), "utf-16"),  # with its BOM
    (lambda text: text.encode("utf-16-le"), "utf-16-le"),  # without
    (lambda text: text.encode("utf-16-be"), "utf-16-be"),
    (lambda text: ("\ufeff\ufeff" + text).encode("utf-8"), "utf-8-sig"),  # two BOMs
])
def test_utf16_and_repeated_boms_are_read(ops_and_conn, encode, encoding):
    ops, conn = ops_and_conn
    imp = _import(ops, conn, encode(_csv(ROWS)))
    assert imp.encoding == encoding and imp.header[0] == "Record ID"
    leads = {lead.external_id: lead for lead in db.session.scalars(sa.select(CrmLead))}
    assert leads["101"].first_name == "Élodie" and leads["102"].phone == "+14165550102"


def test_a_file_mixing_utf8_and_latin1_is_refused_with_the_line(ops_and_conn):
    ops, conn = ops_and_conn
    data = (_csv(ROWS[:1]).encode("utf-8") + "104,zoe@example.com,Zoë,Lin,,\r\n".encode("latin-1"))
    resp = _upload(ops, conn, data)
    text = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "Line 3 is not UTF-8, but line 2 is" in text
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CsvImport)) == 0
    latin = _import(ops, conn, _csv(ROWS).encode("latin-1"))  # all Latin-1 is still read as Latin-1
    assert latin.encoding == "latin-1"


def test_the_upload_limit_is_stated_once(ops_and_conn, app):
    ops, conn = ops_and_conn
    app.config["CSV_MAX_BYTES"] = 2 ** 20
    page = ops.get(f"/connections/{conn.id}/imports/").get_data(as_text=True)
    assert "up to 1 MB" in page
    big = _upload(ops, conn, b"Record ID,Email\n" + b"1,a@example.com\n" * 70_000)
    assert big.status_code == 422 and "files up to 1 MB are accepted" in big.get_data(as_text=True)
    app.config["MAX_CONTENT_LENGTH"] = 2 ** 20 + 4096
    too_big = _upload(ops, conn, b"Record ID,Email\n" + b"1,a@example.com\n" * 140_000)
    assert too_big.status_code == 413 and "files up to 1 MB are accepted" in too_big.get_data(as_text=True)


def test_progress_moves_in_small_pages_and_the_header_follows(ops_and_conn):
    ops, conn = ops_and_conn
    from console.imports.service import page_rows

    rows = [[str(i), f"q{i}@example.com", "Q", "Lee", "", ""] for i in range(60)]
    imp = _import(ops, conn, _csv(rows).encode())
    assert page_rows(imp) == 5  # 60 rows: twelve pages, so the bar moves
    run = db.session.get(IntegrationSyncRun, imp.run_id)
    assert run.created == 60 and imp.status == "succeeded"
    status = ops.hx_get(f"/connections/{conn.id}/imports/{imp.id}/status").get_data(as_text=True)
    oob = status[status.index(f'id="import-status-{imp.id}" hx-swap-oob="true"'):]
    assert "Imported" in oob  # the page's header badge is swapped with the bar


def test_an_import_that_hits_a_bug_fails_its_run_at_once_with_the_reason(ops_and_conn):
    """The run frame (sync/runs/frame.py): an import whose stored mapping was damaged after it was queued
    (its id column gone) fails there and then, run and import alike, instead of staying "running" until the
    sweep finds its process gone."""
    ops, conn = ops_and_conn
    resp = _upload(ops, conn, _csv(ROWS).encode())
    assert resp.status_code == 204
    imp = db.session.scalar(sa.select(CsvImport).order_by(CsvImport.id.desc()))
    assert ops.hx_post(f"/connections/{conn.id}/imports/{imp.id}/mapping", {
        "id_column": "Record ID", "field::email": "Email"}).status_code == 200
    assert ops.hx_post(f"/connections/{conn.id}/imports/{imp.id}/run").status_code == 200
    db.session.refresh(imp)
    imp.mapping = {k: v for k, v in imp.mapping.items() if k != "id_column"}
    db.session.commit()
    run_queued_test_batches()
    db.session.expire_all()
    imp = db.session.get(CsvImport, imp.id)
    run = db.session.get(IntegrationSyncRun, imp.run_id)
    assert run.status == "failed" and run.error_message == "Internal error: KeyError" and run.finished_at
    assert imp.status == "failed" and imp.error == "Internal error: KeyError"
