"""Schema drift end to end against the sandbox: a HubSpot admin deletes, retypes, relabels a property, removes
an option or makes a field read-only (the sandbox's /_sandbox/schema); the next run and the daily check find
it, classify it, raise the schema_drift alert, mark the mapping rows, and follow the connection's policy:
pause the job (it resumes once the mapping no longer depends on it) or fail the records with a `mapping`
failure. A harmless new property is offered for mapping."""
from __future__ import annotations

from datetime import timedelta

import pytest
import requests
import sqlalchemy as sa

from console.extensions import db
from console.models import (
    IntegrationFieldMapping,
    IntegrationSchemaDrift,
    IntegrationSyncError,
    MonitorAlert,
)
from console.models.base import utcnow
from console.monitoring.alerts import evaluate
from console.sandbox import SandboxConfig, SandboxServer
from console.sync import schema_drift
from console.sync.inbound.runner import ensure_job
from console.sync.provider import open_session
from jobs.due import claim_due

from .. import factories
from ..reporting import sync


@pytest.fixture
def world(app):
    with SandboxServer(SandboxConfig(contacts=120, deals=0, companies=5, seed=91, limits=False)) as sb:
        conn = factories.hubspot_connection(sb.url, sb.token)
        conn.status = "live"
        job = ensure_job(conn, "contacts", enabled=True)
        job.depends_on = None
        db.session.commit()
        run = sync(job, "backfill")  # the first look takes the snapshot: nothing has drifted
        assert run.status in ("succeeded", "partial") and not db.session.scalars(sa.select(IntegrationSchemaDrift)).all()
        yield sb, conn, job


def drift(sb, action: str, name: str, value=None) -> None:
    requests.post(f"{sb.url}/_sandbox/schema", json={"object_type": "contacts", "action": action, "name": name,
                                                    "value": value}, timeout=10).raise_for_status()


def changes(conn) -> list[tuple[str, str, bool]]:
    db.session.commit()
    return [(d.property, d.kind, d.breaking) for d in db.session.scalars(sa.select(IntegrationSchemaDrift).where(
        IntegrationSchemaDrift.connection_id == conn.id).order_by(IntegrationSchemaDrift.id))]


def test_a_deleted_mapped_property_pauses_the_job_alerts_marks_the_row_and_resumes_once_unmapped(world, login):
    sb, conn, job = world
    drift(sb, "delete", "firstname")
    run = sync(job)
    assert run.status == "failed" and run.error_message.startswith("Paused: the provider's schema changed")
    assert "firstname (deleted)" in run.error_message and run.seen == 0  # nothing mapped without it
    assert changes(conn) == [("firstname", "removed", True)]
    db.session.refresh(job)
    assert job.paused_reason and claim_due("w") == []  # held: no claim takes it
    evaluate()
    alert = db.session.scalar(sa.select(MonitorAlert).where(MonitorAlert.kind == "schema_drift"))
    assert alert is not None and alert.severity == "critical" and "contacts “firstname” deleted" in alert.message

    admin = login("admin")
    page = admin.get(f"/connections/{conn.id}/wizard/mapping").get_data(as_text=True)
    assert 'id="drift-contacts-first_name-1"' in page and "Deleted in HubSpot on" in page
    assert admin.hx_post(f"/connections/{conn.id}/wizard/mapping/contacts/first_name/remove").status_code == 200
    db.session.refresh(job)
    assert job.paused_reason is None  # nothing depends on the deleted property any more
    assert all(d.resolved_at is not None for d in db.session.scalars(sa.select(IntegrationSchemaDrift)))
    evaluate()
    db.session.refresh(alert)
    assert alert.status == "resolved"
    assert sync(job).status in ("succeeded", "partial")


def test_with_the_fail_policy_a_retyped_field_fails_its_records_with_a_mapping_failure(world, login):
    sb, conn, job = world
    admin = login("admin")
    saved = admin.hx_post(f"/connections/{conn.id}/wizard/mapping/drift-policy", {"drift_policy": "fail"})
    assert saved.status_code == 200 and conn.drift_policy == "fail"
    assert admin.hx_post(f"/connections/{conn.id}/wizard/mapping/drift-policy", {"drift_policy": "x"}).status_code == 422
    drift(sb, "retype", "notes_next_activity_date", "number")  # datetime_utc cannot read a number
    drift(sb, "rename", "city", "Town")  # harmless: not mapped
    drift(sb, "remove_option", "hs_lead_status", "UNQUALIFIED")  # mapped in the picklist table: breaking
    run = sync(job, full=True)
    assert run.status == "partial" and run.seen > 0 and run.failed == run.seen  # every record, each once
    assert set(changes(conn)) == {("notes_next_activity_date", "retyped", True), ("city", "relabelled", False),
                                  ("hs_lead_status", "option_removed", True)}
    codes = set(db.session.scalars(sa.select(IntegrationSyncError.code).where(IntegrationSyncError.run_id == run.id)))
    assert "mapping" in codes
    message = db.session.scalar(sa.select(IntegrationSyncError.message).where(IntegrationSyncError.code == "mapping"))
    assert "notes_next_activity_date" in message and "retyped from datetime to number" in message
    db.session.refresh(job)
    assert job.paused_reason is None  # the fail policy never holds the job


def test_the_daily_check_finds_drift_without_a_run_and_a_new_property_is_offered_for_mapping(world, login):
    sb, conn, job = world
    requests.post(f"{sb.url}/crm/v3/properties/contacts", timeout=10, headers={"Authorization": f"Bearer {sb.token}"},
                  json={"name": "preferred_name", "label": "Preferred name", "type": "string", "fieldType": "text",
                        "groupName": "contactinformation"}).raise_for_status()
    rows = db.session.scalars(sa.select(IntegrationFieldMapping).where(IntegrationFieldMapping.source_field == "firstname"))
    for row in rows:
        row.direction = "both"  # the console writes first names back
    db.session.commit()
    drift(sb, "read_only", "firstname")
    assert schema_drift.check_due(lambda c: open_session(c)) == 0  # checked moments ago
    later = utcnow() + timedelta(hours=25)
    assert schema_drift.check_due(lambda c: open_session(c), now=later) == 1
    assert schema_drift.check_due(lambda c: open_session(c), now=later) == 0  # once a day, whoever asks
    assert set(changes(conn)) == {("preferred_name", "added", False), ("firstname", "read_only", True)}
    found = db.session.scalar(sa.select(IntegrationSchemaDrift).where(IntegrationSchemaDrift.kind == "read_only"))
    assert found.found_by == "daily check"
    admin = login("admin")
    page = admin.get(f"/connections/{conn.id}/wizard/mapping").get_data(as_text=True)
    assert "Made read-only in HubSpot on" in page and 'id="map-it-contacts-preferred_name"' in page
    assert "Map it to First name" in page  # the field a preferred name fills best
    editor = admin.hx_get(f"/connections/{conn.id}/wizard/mapping/contacts/first_name/edit?source=preferred_name")
    assert '<option selected value="preferred_name">' in editor.get_data(as_text=True)


KINDS = [("delete", "firstname", None, "removed", "first_name", "Deleted"),
         ("retype", "notes_next_activity_date", "number", "retyped", "next_activity_at", "Retyped from datetime to number"),
         ("remove_option", "hs_lead_status", "UNQUALIFIED", "option_removed", "lead_status", "Option “UNQUALIFIED” removed"),
         ("read_only", "firstname", None, "read_only", "first_name", "Made read-only")]


@pytest.mark.parametrize("found_by", ["run", "daily check"])
@pytest.mark.parametrize("action,name,value,kind,target,words", KINDS, ids=[k[0] for k in KINDS])
def test_each_breaking_kind_is_found_by_a_run_and_by_the_daily_check(world, login, found_by, action, name, value,
                                                                     kind, target, words):
    sb, conn, job = world
    if action == "read_only":  # breaking only for a field the console writes
        for row in db.session.scalars(sa.select(IntegrationFieldMapping).where(IntegrationFieldMapping.source_field == name)):
            row.direction = "both"
        db.session.commit()
    drift(sb, action, name, value)
    if found_by == "run":
        assert sync(job).status == "failed"  # the default policy holds the job
    else:
        assert schema_drift.check_due(lambda c: open_session(c), now=utcnow() + timedelta(hours=25)) == 1
    found = db.session.scalars(sa.select(IntegrationSchemaDrift).where(IntegrationSchemaDrift.breaking.is_(True))).all()
    assert [(d.property, d.kind) for d in found] == [(name, kind)]
    assert found[0].found_by.startswith("run #" if found_by == "run" else "daily check")
    evaluate(utcnow() + timedelta(hours=25))
    assert db.session.scalar(sa.select(MonitorAlert).where(MonitorAlert.kind == "schema_drift", MonitorAlert.status == "open"))
    page = login("admin").get(f"/connections/{conn.id}/wizard/mapping").get_data(as_text=True)
    mark = page[page.find(f'id="drift-contacts-{target}-1"'):][:200]
    assert words.lower() in mark.lower() and "in HubSpot on" in mark


def test_two_runs_looking_at_once_keep_one_snapshot_and_record_a_change_once(app):
    """A test batch beside a first sync (or two dispatchers) compare at the same moment: one snapshot is
    taken, one change recorded; neither run fails (it did, on the snapshot's unique key)."""
    import threading

    conn = factories.connection(factories.client("Twin Runs"))
    db.session.commit()
    conn_id = conn.id
    before = [{"name": "email", "label": "Email", "type": "string"}, {"name": "firstname", "label": "First", "type": "string"}]
    after = before[:1]
    errors: list[BaseException] = []

    def look(properties: list[dict], barrier: threading.Barrier) -> None:
        try:
            with app.app_context():
                barrier.wait(5)
                schema_drift.observe(conn_id, "contacts", properties, "run #1")
                db.session.remove()
        except BaseException as exc:  # handed to the test
            errors.append(exc)

    for properties in (before, after):
        for _ in range(5):  # overlapping starts, a few times over
            barrier = threading.Barrier(2)
            threads = [threading.Thread(target=look, args=(properties, barrier)) for _ in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(30)
    assert errors == []
    from console.models import IntegrationSchemaSnapshot

    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(IntegrationSchemaSnapshot)) == 1
    assert changes(conn) == [("firstname", "removed", False)]  # once; not mapped here, so harmless
