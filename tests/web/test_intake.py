"""The integration intake through its routes: answers saved as they are typed (htmx) and through plain
section forms, who answered and when, the role checks, and attachments read into fields."""
from __future__ import annotations

import io
import json
import re

import sqlalchemy as sa

from console.extensions import db
from console.intake_questions import QUESTIONS, SECTIONS
from console.models import EventAdminAction, IntakeAnswer, IntakeAttachment, UploadChunk

from .. import factories
from ..conftest import count

SAMPLE_CSV = "Member ID,Email,Tier,Joined,Balance\n" + "".join(
    f"M{i:03d},m{i}@example.com,{['gold', 'silver', 'bronze'][i % 3]},2026-0{1 + i % 9}-1{i % 10},{i * 12.5}\n"
    for i in range(40))
OPENAPI_YAML = """
openapi: 3.0.3
info: {title: Reservations, version: "2"}
paths: {}
components:
  schemas:
    Reservation:
      type: object
      properties:
        id: {type: string}
        status: {type: string, enum: [pending, paid, cancelled]}
        starts_at: {type: string, format: date-time}
        member: {$ref: '#/components/schemas/Member'}
    Member:
      type: object
      properties:
        email: {type: string, format: email}
        visits: {type: integer}
"""


def _owned(login, role="owner"):
    browser = login(role)
    conn = factories.connection(factories.client("Harbour Physio"), owner_user_id=browser.user.id)
    db.session.commit()
    return browser, conn


def _url(conn, tail=""):
    return f"/connections/{conn.id}/intake/{tail}"


def _answer(conn, key):
    db.session.expire_all()
    return db.session.scalar(sa.select(IntakeAnswer).where(IntakeAnswer.connection_id == conn.id,
                                                           IntakeAnswer.question == key))


def test_answers_save_as_typed_and_say_who_answered_and_when(login):
    owner, conn = _owned(login)
    page = owner.get(_url(conn)).get_data(as_text=True)
    for section in SECTIONS:  # every section and question of the intake is on the page
        assert f'id="section-{section.key}"' in page and section.title.replace("&", "&amp;") in page
    assert page.count("<textarea") == len(QUESTIONS) and "Not answered yet" in page

    resp = owner.hx_post(_url(conn, "answers/topology_flows"),
                         {"topology_flows": "Members: SourceApp to HubSpot Contacts (one-way).\r\nDeals: bidirectional.  "})
    assert resp.status_code == 200
    status = resp.get_data(as_text=True)
    assert 'id="answer-status-topology_flows"' in status and f"Answered by {owner.user.name}" in status
    row = _answer(conn, "topology_flows")
    assert row.text == "Members: SourceApp to HubSpot Contacts (one-way).\nDeals: bidirectional."
    assert row.answered_by_user_id == owner.user.id and row.answered_at is not None
    audit = db.session.scalars(sa.select(EventAdminAction).where(EventAdminAction.action == "intake.answered")).all()
    assert len(audit) == 1 and audit[0].details == {"question": "topology_flows", "characters": len(row.text)}
    assert "SourceApp" not in json.dumps(audit[0].details)  # the audit log keeps which question, never the answer

    # An admin saving the same text changes nothing; a new text makes the admin the one who answered.
    admin = login("admin")
    first_at = row.answered_at
    admin.hx_post(_url(conn, "answers/topology_flows"), {"topology_flows": row.text})
    assert (_answer(conn, "topology_flows").answered_by_user_id, _answer(conn, "topology_flows").answered_at) == (
        owner.user.id, first_at)
    admin.hx_post(_url(conn, "answers/topology_flows"), {"topology_flows": "Members: one-way."})
    assert _answer(conn, "topology_flows").answered_by_user_id == admin.user.id
    # Clearing is an answer too: kept empty, with who cleared it.
    resp = admin.hx_post(_url(conn, "answers/topology_flows"), {"topology_flows": "   "})
    assert "Cleared by" in resp.get_data(as_text=True) and _answer(conn, "topology_flows").text == ""
    page = owner.get(_url(conn)).get_data(as_text=True)
    assert "0 of 3 answered" in page  # the topology section again has no answer


def test_sections_save_without_scripts(login):
    owner, conn = _owned(login)
    resp = owner.post(_url(conn, "sections/mapping"), {"matching": "Contacts on email, fallback external id.",
                                                       "never_leave": "ssn\ninternal_flag"})
    assert resp.status_code == 303 and resp.headers["Location"].endswith(f"{_url(conn)}#section-mapping")
    page = owner.get(_url(conn)).get_data(as_text=True)
    assert "Field mapping &amp; transformations: saved." in page and "internal_flag" in page
    assert "2 of 6 answered" in page
    # One answer through its own endpoint without htmx: a 303 too, never a bare fragment.
    resp = owner.post(_url(conn, "answers/sla"), {"sla": "Within 5 minutes 99% of the time."})
    assert resp.status_code == 303 and _answer(conn, "sla").text.startswith("Within 5 minutes")
    # Each section has a plain Save button for browsers without scripts.
    assert page.count("<noscript><button type=\"submit\">Save ") == len(SECTIONS)


def test_bad_answers_are_refused_and_output_is_escaped(login):
    owner, conn = _owned(login)
    resp = owner.hx_post(_url(conn, "answers/use_cases"), {"use_cases": "x" * 20_001})
    assert resp.status_code == 422 and "20,000 characters" in resp.get_data(as_text=True)
    assert _answer(conn, "use_cases") is None
    resp = owner.post(_url(conn, "sections/use_cases"), {"use_cases": "y" * 20_001})
    assert resp.status_code == 422 and "20,000 characters" in resp.get_data(as_text=True)
    assert owner.hx_post(_url(conn, "answers/no_such_question"), {"no_such_question": "x"}).status_code == 404
    assert owner.post(_url(conn, "sections/no_such_section"), {}).status_code == 404
    owner.hx_post(_url(conn, "answers/use_cases"), {"use_cases": "<script>alert(1)</script>"})
    page = owner.get(_url(conn)).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_who_may_read_and_who_may_answer(login):
    owner, conn = _owned(login)
    ops, other_owner, client_user = login("ops"), login("owner"), login("client", conn.client)
    page = ops.get(_url(conn))
    assert page.status_code == 200 and "Read-only for you" in page.get_data(as_text=True)
    assert "hx-post" not in page.get_data(as_text=True)
    for browser, code in ((ops, 403), (other_owner, 403), (client_user, 404)):
        assert browser.hx_post(_url(conn, "answers/sla"), {"sla": "x"}).status_code == code
        assert browser.post(_url(conn, "sections/monitoring"), {"sla": "x"}).status_code == code
        assert browser.post(_url(conn, "attachments"), {"file": (io.BytesIO(b"a,b\n1,2\n"), "s.csv")},
                            content_type="multipart/form-data").status_code == code
    assert client_user.get(_url(conn)).status_code == 404
    assert count(IntakeAnswer) == 0 and count(IntakeAttachment) == 0
    # Without the CSRF token nothing is saved.
    bare = owner.client.post(_url(conn, "answers/sla"), data={"sla": "x"}, headers={"HX-Request": "true"})
    assert bare.status_code == 400 and count(IntakeAnswer) == 0


def _attach(browser, conn, name, data, hx=True):
    form = {"file": (io.BytesIO(data), name)}
    if hx:
        return browser.client.post(_url(conn, "attachments"), data=form, content_type="multipart/form-data",
                                    headers={"HX-Request": "true", "X-CSRFToken": browser.token})
    return browser.post(_url(conn, "attachments"), form, content_type="multipart/form-data")


def test_attachments_are_read_into_fields_and_stored_where_any_node_reads_them(login):
    owner, conn = _owned(login)
    resp = _attach(owner, conn, "members.csv", SAMPLE_CSV.encode())
    assert resp.status_code == 200 and "5 fields found" in resp.get_data(as_text=True)
    csv_row = db.session.scalar(sa.select(IntakeAttachment).where(IntakeAttachment.kind == "csv"))
    fields = {f["name"]: f for f in csv_row.fields}
    assert [f["name"] for f in csv_row.fields] == ["Member ID", "Email", "Tier", "Joined", "Balance"]
    assert (fields["Email"]["type"], fields["Joined"]["type"], fields["Balance"]["type"]) == ("email", "date", "number")
    assert fields["Tier"]["values"] == ["gold", "silver", "bronze"] and fields["Member ID"]["values"] == []
    chunks = db.session.scalars(sa.select(UploadChunk.upload_key)).all()
    assert chunks == [f"intake:{conn.id}:{csv_row.file_hash}"]

    resp = _attach(owner, conn, "reservations-api.yaml", OPENAPI_YAML.encode(), hx=False)
    assert resp.status_code == 303
    api = db.session.scalar(sa.select(IntakeAttachment).where(IntakeAttachment.kind == "openapi"))
    by_name = {(f["source"], f["name"]): f for f in api.fields}
    assert by_name[("Reservation", "status")]["values"] == ["pending", "paid", "cancelled"]
    assert by_name[("Reservation", "starts_at")]["type"] == "datetime"
    assert by_name[("Reservation", "member")]["type"] == "reference"
    assert (by_name[("Member", "email")]["type"], by_name[("Member", "visits")]["type"]) == ("email", "number")

    payloads = json.dumps({"results": [{"id": i, "status": "paid" if i % 2 else "pending",
                                        "member": {"email": f"m{i}@example.com", "tier": "gold"}} for i in range(6)]})
    _attach(owner, conn, "webhook-samples.json", payloads.encode())
    sample = db.session.scalar(sa.select(IntakeAttachment).where(IntakeAttachment.kind == "json"))
    assert {f["name"]: f["type"] for f in sample.fields} == {"id": "number", "status": "text", "member.email": "email",
                                                             "member.tier": "text"}
    assert count(EventAdminAction, EventAdminAction.action == "intake.attached") == 3

    # Removing one removes its stored file.
    resp = owner.hx_post(_url(conn, f"attachments/{csv_row.id}/delete"))
    assert resp.status_code == 200 and "members.csv" not in resp.get_data(as_text=True)
    assert f"intake:{conn.id}:{csv_row.file_hash}" not in db.session.scalars(sa.select(UploadChunk.upload_key)).all()
    assert count(IntakeAttachment) == 2


def test_bad_attachments_get_a_clear_message_and_store_nothing(login, app):
    owner, conn = _owned(login)
    app.config["INTAKE_MAX_BYTES"] = 4096
    cases = [("big.csv", b"a,b\n" + b"1,2\n" * 2000, "attachments up to 0.00390625 MB"),
             ("empty.csv", b"", "The file is empty."),
             ("notes.yaml", b"just: a mapping\n", "not an OpenAPI or Swagger document"),
             ("broken.json", b"{\"a\": [1, 2", "neither JSON nor YAML"),
             ("numbers.json", b"[1, 2, 3]", "no object to read fields from"),
             ("blank-header.csv", b"\n1,2\n", "header) is empty")]
    for name, data, words in cases:
        resp = _attach(owner, conn, name, data)
        assert resp.status_code == 422, name
        assert words in resp.get_data(as_text=True), (name, resp.get_data(as_text=True)[:2000])
    assert count(IntakeAttachment) == 0 and count(UploadChunk) == 0
    resp = owner.post(_url(conn, "attachments"), {}, content_type="multipart/form-data")
    assert resp.status_code == 422 and "Choose a file to attach." in resp.get_data(as_text=True)
    assert _attach(owner, conn, "s.csv", b"a,b\n1,2\n").status_code == 200
    resp = _attach(owner, conn, "again.csv", b"a,b\n1,2\n")
    assert resp.status_code == 422 and "already attached as s.csv" in resp.get_data(as_text=True)
    assert count(IntakeAttachment) == 1
    other = factories.connection(factories.client("Other"), owner_user_id=owner.user.id)
    db.session.commit()
    row = db.session.scalar(sa.select(IntakeAttachment))
    assert owner.hx_post(f"/connections/{other.id}/intake/attachments/{row.id}/delete").status_code == 404
    assert count(IntakeAttachment) == 1


def test_the_intake_fills_the_wizard_and_never_overwrites_what_was_set(login):
    from console.sync.inbound.runner import ensure_job

    owner, conn = _owned(login)
    answers = {"sla": "Records reflected within 10 minutes 95% of the time.",
               "quality": "Required-field completeness 98%, duplicate rate under 1%",
               "alert_channels": "Slack, #ops-alerts", "stakeholders": "Business owner: Dana Roy, dana@example.com",
               "topology_flows": "Members: HubSpot Contacts to SourceApp (one-way).\nDeals: bidirectional.\n"
                                 "Products: HubSpot to SourceApp."}
    for key, text in answers.items():
        owner.hx_post(_url(conn, f"answers/{key}"), {key: text})
    page = owner.get(f"/connections/{conn.id}/wizard/monitor").get_data(as_text=True)
    assert re.search(r'name="freshness_target"[^>]*value="600"', page)
    assert re.search(r'name="freshness_objective"[^>]*value="95"', page)
    assert re.search(r'name="completeness"[^>]*value="98"', page) and re.search(r'name="duplicate_records"[^>]*value="1"', page)
    assert re.search(r'<option selected value="slack">|<option value="slack" selected>', page)
    assert page.count("From the intake") >= 3 and "Dana Roy, dana@example.com" in page
    assert page.count("Matches the intake") >= 2  # the SLA is the connection's freshness as soon as it is answered
    jobs = owner.get(f"/connections/{conn.id}/wizard/mapping").get_data(as_text=True)
    assert 'selected value="in"' in _select(jobs, "contacts_direction") and "Matches the intake (topology)" in jobs
    # Both ways writes to the CRM: proposed, never pre-filled (issue 32).
    assert 'selected value="in"' in _select(jobs, "deals_direction") and 'id="use-direction-deals"' in jobs
    assert "The intake proposes both ways (topology). It writes to HubSpot CRM, so it is not set until you use it." in jobs
    assert 'selected value="in"' in _select(jobs, "companies_direction")  # the intake names no company flow
    # A 10-minute SLA: every new job runs at least every 5 minutes (half the target).
    assert re.search(r'name="companies_minutes"[^>]*value="5"', jobs) and "at most half its target" in jobs
    # Values someone already set are kept; the intake's differing value is shown beside them.
    conn.freshness_target_seconds = 120
    ensure_job(conn, "deals").direction = "in"
    db.session.commit()
    page = owner.get(f"/connections/{conn.id}/wizard/monitor").get_data(as_text=True)
    assert re.search(r'name="freshness_target"[^>]*value="120"', page)
    assert "The intake says 600 seconds" in page
    jobs = owner.get(f"/connections/{conn.id}/wizard/mapping").get_data(as_text=True)
    assert 'selected value="in"' in _select(jobs, "deals_direction")
    assert "The intake proposes both ways (topology)" in jobs
    slow = ensure_job(conn, "contacts")
    slow.schedule_seconds = 3600
    db.session.commit()
    jobs = owner.get(f"/connections/{conn.id}/wizard/mapping").get_data(as_text=True)
    assert re.search(r'name="contacts_minutes"[^>]*value="60"', jobs) and "this schedule is slower" in jobs


def _select(html: str, name: str) -> str:
    return re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', html, re.S).group(1)


def test_samples_become_ranked_mapping_suggestions(login, sandbox):
    from console.mapping.targets import target
    from console.sync.inbound.runner import ensure_job
    from console.wizard import samples

    owner = login("owner")
    conn = factories.hubspot_connection(sandbox.url, sandbox.token)
    conn.owner_user_id = owner.user.id
    ensure_job(conn, "contacts", enabled=True)
    db.session.commit()
    assert _attach(owner, conn, "members.csv", SAMPLE_CSV.encode()).status_code == 200
    assert _attach(owner, conn, "reservations-api.yaml", OPENAPI_YAML.encode()).status_code == 200
    email = samples.for_target(conn.id, target("contacts", "email"))
    assert [(s.name, s.file_name) for s in email[:2]] == [("Email", "members.csv"), ("email", "reservations-api.yaml")]
    assert email[0].score > 90 and email[0].transform == "email" and email[0].source == ""
    assert email[1].source == "Member" and email[0].score >= email[1].score
    status = samples.for_target(conn.id, target("contacts", "lead_status"))
    assert status and status[0].name == "status" and status[0].values == ["pending", "paid", "cancelled"]
    assert status[0].transform == "enum"  # a field with picklist values reads as a choice
    assert all(s.score >= 50 for s in samples.for_target(conn.id, target("contacts", "phone")))
    form = owner.get(f"/connections/{conn.id}/wizard/mapping/contacts/email/edit").get_data(as_text=True)
    assert 'id="sample-suggestions-contacts-email"' in form and "members.csv" in form


def test_the_intakes_blackout_window_fills_the_jobs_and_the_dispatcher_keeps_it(login):
    from datetime import timedelta

    from console.models import IntegrationSyncJob
    from console.models.base import utcnow
    from jobs.due import claim_due

    owner, conn = _owned(login)
    conn.status = "live"
    db.session.commit()
    owner.hx_post(_url(conn, "answers/blackouts"), {"blackouts": "Source maintenance 11pm-2am ET; not during the batch."})
    page = owner.get(f"/connections/{conn.id}/wizard/mapping").get_data(as_text=True)
    assert re.search(r'name="blackout"[^>]*value="23:00-02:00 America/Toronto"', page)
    assert "From the intake (&#34;Source maintenance 11pm-2am ET" in page

    bad = owner.hx_post(f"/connections/{conn.id}/wizard/mapping/jobs", {"contacts": "y", "contacts_minutes": "5",
                                                                          "companies_minutes": "60", "deals_minutes": "15",
                                                                          "blackout": "after lunch"})
    assert bad.status_code == 422 and "23:00-02:00 America/Toronto" in bad.get_data(as_text=True)
    # A window around now (in UTC): the job is due, yet the dispatcher leaves it until the window ends.
    now = utcnow()
    start, end = (now - timedelta(hours=1)).strftime("%H:%M"), (now + timedelta(hours=1)).strftime("%H:%M")
    ok = owner.hx_post(f"/connections/{conn.id}/wizard/mapping/jobs", {"contacts": "y", "contacts_minutes": "5",
                                                                         "companies_minutes": "60", "deals_minutes": "15",
                                                                         "blackout": f"{start}-{end} UTC"})
    assert ok.status_code == 200
    job = db.session.scalar(sa.select(IntegrationSyncJob).where(IntegrationSyncJob.connection_id == conn.id))
    assert job.blackout == {"start": start, "end": end, "timezone": "UTC"} and job.enabled
    job.next_run_at = now - timedelta(minutes=1)
    db.session.commit()
    assert claim_due("test-worker") == []
    db.session.refresh(job)
    assert abs((job.next_run_at - (now + timedelta(hours=1)).replace(second=0, microsecond=0)).total_seconds()) < 1


def test_hostile_attachments_get_a_422_never_a_500(login):
    owner, conn = _owned(login)
    hostile = [("nul.csv", b"a,b\n1,\x002\n"), ("huge-field.csv", b"a\n" + b"x" * 200_000 + b"\n"),
               ("deep.json", b"[" * 100_000 + b"]" * 100_000), ("deep.yaml", b"a: " + b"[" * 50_000 + b"]" * 50_000),
               ("enum.yaml", b"openapi: 3.0.0\ncomponents: {schemas: {X: {properties: {s: {enum: 5}}}}}\n"),
               ("odd.yaml", b"openapi: 3.0.0\ncomponents: {schemas: {X: {properties: [1, 2]}}}\n"),
               ("binary.json", bytes(range(256)) * 10)]
    for name, data in hostile:
        resp = _attach(owner, conn, name, data)
        assert resp.status_code in (200, 422), (name, resp.status_code)
    kept = {a.file_name: a.fields for a in db.session.scalars(sa.select(IntakeAttachment))}
    assert kept.get("enum.yaml") == [{"name": "s", "type": "text", "values": [], "source": "X"}]


def _post_jobs(browser, conn, **extra):
    return browser.hx_post(f"/connections/{conn.id}/wizard/mapping/jobs", {
        "contacts_minutes": "15", "companies_minutes": "60", "deals_minutes": "15", **extra})


def test_the_dependency_order_sets_what_each_job_waits_for_and_no_circle_is_saved(login):
    from datetime import timedelta

    from console.models import IntegrationSyncJob
    from console.models.base import utcnow
    from jobs.due import claim_due

    owner, conn = _owned(login)
    conn.status = "live"
    db.session.commit()
    owner.hx_post(_url(conn, "answers/dependencies"),
                  {"dependencies": "A Company must exist before a Contact association. Deals after contacts."})
    page = owner.get(f"/connections/{conn.id}/wizard/mapping").get_data(as_text=True)
    assert 'selected value="companies"' in _select(page, "contacts_after") and "Matches the intake" in page
    assert 'selected value="contacts"' in _select(page, "deals_after") and "From the intake" in page

    circle = _post_jobs(owner, conn, contacts="y", deals="y", contacts_after="deals", deals_after="contacts")
    assert circle.status_code == 422 and "would wait for each other and never run" in circle.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(IntegrationSyncJob)) == 0  # nothing saved

    assert _post_jobs(owner, conn, contacts="y", deals="y", companies="y", contacts_after="companies",
                      deals_after="contacts").status_code == 200
    jobs = {j.object_type: j for j in db.session.scalars(sa.select(IntegrationSyncJob))}
    assert (jobs["contacts"].depends_on, jobs["deals"].depends_on, jobs["companies"].depends_on) == \
        ("companies", "contacts", None)
    # The dispatcher keeps the order: deals wait while contacts have not run.
    for job in jobs.values():
        job.next_run_at = utcnow() - timedelta(minutes=1)
    jobs["companies"].last_success_at = utcnow()
    jobs["companies"].next_run_at = utcnow() + timedelta(hours=1)
    db.session.commit()
    assert claim_due("test-worker") == [jobs["contacts"].id]
    # An object that is not synced is never waited for.
    assert _post_jobs(owner, conn, deals="y", deals_after="contacts").status_code == 200
    db.session.expire_all()
    assert db.session.get(IntegrationSyncJob, jobs["deals"].id).depends_on is None


def test_stakeholders_become_the_owner_and_the_alert_addresses(login):
    owner, conn = _owned(login)
    admin = login("admin")
    admin.user.email = "sam.lee@agency.example"
    db.session.commit()
    assert owner.hx_post(_url(conn, "answers/stakeholders"), {"stakeholders": (
        "Business owner: Dana Roy, dana@example.com\n"
        "Technical owner of HubSpot: Sam Lee <Sam.Lee@agency.example>\n"
        "Security approver: Ira Moss, ira@example.com\n"
        "Day-to-day contact: Pat Kim, pat@example.com")}).status_code == 200
    conn.owner_user_id = None  # a connection created without an owner: the intake names one
    db.session.commit()
    access = owner.get(f"/connections/{conn.id}/wizard/access").get_data(as_text=True)
    assert f'selected value="{admin.user.id}"' in _select(access, "owner_id")
    assert "From the intake (stakeholders)" in access

    conn.owner_user_id = owner.user.id
    db.session.commit()
    monitor = owner.get(f"/connections/{conn.id}/wizard/monitor").get_data(as_text=True)
    wanted = f"{owner.user.email}, sam.lee@agency.example, pat@example.com"
    assert re.search(rf'name="target"[^>]*value="{re.escape(wanted)}"', monitor)  # not the business owner or approver
    form = {"stale_multiple": "3", "pressure_pct": "20", "failed_webhooks": "5", "duplicate_events": "20",
            "freshness_target": "300", "freshness_objective": "99", "completeness": "95", "duplicate_records": "5",
            "unresolved": "2", "channel": "email", "visibility_note": "Counts only.", "failure_path": "Ops replays.",
            "manual_fallback": "CSV import."}
    bad = owner.hx_post(f"/connections/{conn.id}/wizard/monitor", {**form, "target": "pat@example.com, not-an-address"})
    assert bad.status_code == 422 and "not-an-address is not an email address" in bad.get_data(as_text=True)
    ok = owner.hx_post(f"/connections/{conn.id}/wizard/monitor", {**form, "target": f"{wanted};"})
    assert ok.status_code == 200, ok.get_data(as_text=True)[-2000:]
    db.session.refresh(conn)
    assert conn.notify_target == wanted


def test_systems_of_record_from_the_intake_preset_who_wins_a_two_way_field(login, sandbox):
    from console.sync.inbound.runner import ensure_job

    owner = login("owner")
    conn = factories.hubspot_connection(sandbox.url, sandbox.token)
    conn.owner_user_id = owner.user.id
    db.session.commit()
    owner.hx_post(_url(conn, "answers/topology_records"), {"topology_records":
                  "Contact demographics: SourceApp. Lifecycle stage: HubSpot. Lead status: SourceApp. Deal amount: SourceApp."})
    ensure_job(conn, "contacts", enabled=True).depends_on = None
    db.session.commit()
    assert _post_jobs(owner, conn, contacts="y", contacts_after="").status_code == 200
    page = owner.get(f"/connections/{conn.id}/wizard/mapping").get_data(as_text=True)
    listed = re.search(r'id="records-contacts">(.*?)</div>', page, re.S).group(1)
    assert "Lifecycle stage" in listed and "names no single field" in listed  # "demographics" is a group
    assert "Deal amount" not in listed  # another object's line
    status = owner.get(f"/connections/{conn.id}/wizard/mapping/contacts/lead_status/edit").get_data(as_text=True)
    # Who wins decides what is written to the CRM: proposed, applied only by "Use this" (issue 32).
    assert 'selected value="provider"' in _select(status, "system_of_record") and "The intake proposes the console" in status
    assert 'id="use-record-contacts-lead_status"' in status
    used = owner.hx_post(f"/connections/{conn.id}/wizard/mapping/proposal", {"use": "record:contacts:lead_status"})
    assert used.status_code == 200
    assert "Contacts · Lead status: the console wins, as the intake proposes." in used.get_data(as_text=True)
    from console.mapping import editor
    assert editor.rows(conn.id, "contacts")["lead_status"].system_of_record == "console"
    stage = owner.get(f"/connections/{conn.id}/wizard/mapping/contacts/lifecycle_stage/edit").get_data(as_text=True)
    assert 'selected value="provider"' in _select(stage, "system_of_record") and "Matches the intake" in stage
