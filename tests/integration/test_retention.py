"""Retention and archive (issue 20): the rows past their age, and only those, are archived then deleted
in batches; kept rows (referenced, in flight, the day's last reading, the audit log) stay; the archive
matches its manifest and never holds a sensitive value; a dry run changes nothing; the nightly pass is
claimed by one process. Runs on SQLite and, in CI, on MariaDB."""
from __future__ import annotations

import gzip
from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa

from console.extensions import db
from console.models import (
    AutomationRun,
    EventAdminAction,
    EventWebhookEvent,
    IntegrationFieldMapping,
    IntegrationRawEvent,
    IntegrationSyncRun,
    MaintenanceTask,
    MetricBaseline,
    MetricSnapshot,
)
from console.models.base import utcnow
from console.retention import archive, nightly
from console.retention.run import archive_dir, run

from .. import factories

SECRET_PHONE = "+15550199123"  # the value of a field mapped as sensitive: it must never be archived


def ids(model) -> set[int]:
    return set(db.session.scalars(sa.select(model.id)))


def seed(conn) -> dict:
    """Rows on both sides of each table's age; returns the ids that must go."""
    now = utcnow()
    old, young = now - timedelta(days=45), now - timedelta(days=10)
    db.session.add(IntegrationFieldMapping(connection_id=conn.id, object_type="contacts", source_field="phone",
                                           target_field="phone", transform="phone_e164", sensitive=True))
    raw = [IntegrationRawEvent(connection_id=conn.id, object_type="contacts", external_id=str(i),
                               event_key=f"{i}:1:l", created_at=old + timedelta(minutes=i),
                               payload={"email": f"p{i}@example.com", "phone": SECRET_PHONE, "hs_token": "x" * 40})
           for i in range(25)]
    raw += [IntegrationRawEvent(connection_id=conn.id, object_type="contacts", external_id=str(100 + i),
                                event_key=f"{100 + i}:1:l", created_at=young, payload={"email": "young@example.com"})
            for i in range(5)]
    hooks = [EventWebhookEvent(provider="hubspot", source_event_id=f"e{i}", connection_id=conn.id,
                               event_type="contact.propertyChange", status=status, created_at=when,
                               raw_payload={"propertyName": "phone", "propertyValue": SECRET_PHONE, "objectId": i})
             for i, (status, when) in enumerate([("normalized", old), ("dead_letter", old), ("retrying", old),
                                                  ("normalized", young)])]
    db.session.add_all(raw + hooks)
    runs = [IntegrationSyncRun(connection_id=conn.id, object_type="contacts", kind="scheduled", status=status,
                               created_at=when) for status, when in
            [("succeeded", now - timedelta(days=500)), ("succeeded", now - timedelta(days=500)),
             ("running", now - timedelta(days=500)), ("succeeded", young)]]
    db.session.add_all(runs)
    db.session.flush()
    db.session.add(MetricBaseline(connection_id=conn.id, metric_key="lead_owner", value=Decimal(90), unit="%",
                                  period="now", captured_from_run_id=runs[1].id))  # keeps runs[1]
    automation = AutomationRun(connection_id=conn.id, kind="snapshot", status="succeeded", created_at=young)
    db.session.add(automation)
    db.session.flush()
    snaps = []
    for day in (120, 100):  # three readings a day, past the 90 days: the day's last one stays
        for hour in (1, 9, 17):
            when = (now - timedelta(days=day)).replace(hour=hour, minute=0, second=0, microsecond=0)
            snaps.append(MetricSnapshot(connection_id=conn.id, automation_run_id=automation.id,
                                        metric_key="lead_owner", value=Decimal(hour), unit="%", period="now",
                                        captured_at=when, created_at=when))
    snaps.append(MetricSnapshot(connection_id=conn.id, automation_run_id=automation.id, metric_key="lead_owner",
                                value=Decimal(1), unit="%", period="now", captured_at=young, created_at=young))
    db.session.add_all(snaps)
    db.session.add(EventAdminAction(action="client.created", created_at=now - timedelta(days=4000)))
    db.session.commit()
    return {"raw": {r.id for r in raw[:25]}, "hooks": {hooks[0].id, hooks[1].id}, "runs": {runs[0].id},
            "snaps": {s.id for s in snaps if s.captured_at.hour != 17 and s.captured_at < now - timedelta(days=90)}}


def archived_rows(folder, table: str) -> list[str]:
    return [line for path in sorted((folder / table).rglob("*.jsonl.gz"))
            for line in gzip.decompress(path.read_bytes()).decode().splitlines()]


def test_rows_past_their_age_are_archived_then_deleted_and_only_those(app, tmp_path):
    app.config["ARCHIVE_DIR"] = str(tmp_path / "archive")
    conn = factories.connection(factories.client("Harbour Physio"))
    db.session.commit()
    gone = seed(conn)
    before = {m: ids(m) for m in (IntegrationRawEvent, EventWebhookEvent, IntegrationSyncRun, MetricSnapshot,
                                   EventAdminAction)}

    dry = {o.table: o.due for o in run(dry_run=True)}
    assert dry["integration_raw_events"] == 25 and dry["event_webhook_events"] == 2
    assert dry["integration_sync_runs"] == 1 and dry["metric_snapshots"] == 4
    assert {m: ids(m) for m in before} == before and not (tmp_path / "archive").exists()  # nothing changed

    done = {o.table: o for o in run(batch=7)}  # 25 raw events: four batches
    assert done["integration_raw_events"].deleted == 25 and done["integration_raw_events"].files >= 4
    assert ids(IntegrationRawEvent) == before[IntegrationRawEvent] - gone["raw"]
    assert ids(EventWebhookEvent) == before[EventWebhookEvent] - gone["hooks"]  # in flight and young stay
    assert ids(IntegrationSyncRun) == before[IntegrationSyncRun] - gone["runs"]  # referenced and running stay
    assert ids(MetricSnapshot) == before[MetricSnapshot] - gone["snaps"]  # each day's last reading stays
    assert ids(EventAdminAction) >= before[EventAdminAction]  # the audit log is never removed

    folder = archive_dir()
    assert archive.verify(folder) == []
    raw_lines = archived_rows(folder, "integration_raw_events")
    assert len(raw_lines) == 25 and all('"p' in line for line in raw_lines)
    every = "\n".join(line for t in ("integration_raw_events", "event_webhook_events", "integration_sync_runs",
                                      "metric_snapshots") for line in archived_rows(folder, t))
    assert SECRET_PHONE not in every and "x" * 40 not in every  # sensitive and secret-looking values left out
    assert len(archived_rows(folder, "metric_snapshots")) == 4
    assert {o.table: o.due for o in run(dry_run=True)}["integration_raw_events"] == 0

    first = sorted((folder / "integration_raw_events").rglob("*.gz"))[0]
    first.write_bytes(gzip.compress(b"{}\n"))  # a damaged file is found
    assert any("SHA-256 differs" in p for p in archive.verify(folder))


def test_the_cli_dry_run_prints_and_changes_nothing(app, tmp_path):
    app.config["ARCHIVE_DIR"] = str(tmp_path / "archive")
    conn = factories.connection(factories.client("Bay Dental"))
    db.session.commit()
    seed(conn)
    result = app.test_cli_runner().invoke(args=["retention", "run", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "integration_raw_events" in result.output and "25 rows would be archived and deleted" in result.output
    assert "event_admin_actions              kept for ever" in result.output
    assert len(ids(IntegrationRawEvent)) == 30
    app.config["RETENTION_DAYS"] = "integration_raw_events=never"
    again = app.test_cli_runner().invoke(args=["retention", "run"])
    assert again.exit_code == 0 and len(ids(IntegrationRawEvent)) == 30  # kept for ever now
    assert "integration_raw_events           kept for ever" in again.output
    app.config["RETENTION_DAYS"] = "crm_leads=5"
    refused = app.test_cli_runner().invoke(args=["retention", "run", "--dry-run"])
    assert refused.exit_code != 0 and "not a table with a retention policy" in str(refused.exception)


def test_the_nightly_pass_is_claimed_by_one_process_and_moves_to_the_next_night(app, tmp_path):
    app.config["ARCHIVE_DIR"] = str(tmp_path / "archive")
    conn = factories.connection(factories.client("Maple Legal"))
    db.session.commit()
    seed(conn)
    task = nightly.task()
    db.session.execute(sa.update(MaintenanceTask).values(next_run_at=utcnow() - timedelta(minutes=1)))
    db.session.commit()
    first, second = nightly.claim_due("worker-a"), nightly.claim_due("worker-b")
    assert first == task.id and second is None  # one lease, one winner
    nightly.run_claimed(first, "worker-a")
    db.session.expire_all()
    row = db.session.get(MaintenanceTask, task.id)
    assert row.lease_owner is None and row.next_run_at > utcnow() and row.next_run_at.hour == 3
    tables = {t["table"]: t for t in row.last_result["tables"]}
    assert tables["integration_raw_events"]["deleted"] == 25
    assert nightly.claim_due("worker-b") is None  # not due again until the next night


def test_the_admin_page_shows_each_table_its_age_size_oldest_row_and_the_last_pass(app, tmp_path, login):
    app.config["ARCHIVE_DIR"] = str(tmp_path / "archive")
    conn = factories.connection(factories.client("Page Co"))
    db.session.commit()
    seed(conn)
    admin = login("admin")
    page = admin.get("/admin/retention").get_data(as_text=True)
    raw = page[page.index('id="retention-integration_raw_events"'):].split("</tr>")[0]
    assert "30 days" in raw and ">30<" in raw and ">25<" in raw  # 30 rows, 25 past their age
    assert "for ever" in page[page.index('id="retention-event_admin_actions"'):].split("</tr>")[0]
    assert "Not run yet" in page
    db.session.execute(sa.update(MaintenanceTask).values(next_run_at=utcnow() - timedelta(minutes=1)))
    nightly.task()
    db.session.execute(sa.update(MaintenanceTask).values(next_run_at=utcnow() - timedelta(minutes=1)))
    db.session.commit()
    nightly.run_claimed(nightly.claim_due("w"), "w")
    after = admin.get("/admin/retention").get_data(as_text=True)
    assert 'id="retention-pass"' in after and "Not run yet" not in after and ">25<" in after.split('id="retention-pass"')[1]
    assert login("ops").get("/admin/retention").status_code == 403


def test_a_dispatcher_tick_runs_the_pass_when_it_is_due(app, tmp_path):
    from jobs.dispatcher import Dispatcher

    app.config["ARCHIVE_DIR"] = str(tmp_path / "archive")
    conn = factories.connection(factories.client("Tick Co"))
    db.session.commit()
    seed(conn)
    dispatcher = Dispatcher(app, max_workers=2)
    try:
        dispatcher.tick()  # the first tick schedules tonight's pass; nothing is due yet
        db.session.commit()
        assert len(ids(IntegrationRawEvent)) == 30
        db.session.execute(sa.update(MaintenanceTask).values(next_run_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
        dispatcher.tick()
    finally:
        dispatcher.shutdown(wait=True)
    db.session.commit()
    row = db.session.scalar(sa.select(MaintenanceTask))
    assert len(ids(IntegrationRawEvent)) == 5 and row.lease_owner is None and row.next_run_at > utcnow()
