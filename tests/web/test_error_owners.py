"""Errors with an owner: a sync error (or a group) assigned to a staff user with a due date and notes,
through the routes; the assignee told through the connection's channel (a local SMTP sink, a local
Slack-style sink); the "mine" and per-person filters; every assignment and note audited; an error a later
run resolves closes with a note naming the run; nobody outside staff can be assigned, nor assign."""
from __future__ import annotations

import sqlalchemy as sa

from console.extensions import db
from console.models import EventAdminAction, IntegrationErrorNote, IntegrationSyncError
from console.sandbox import SandboxConfig, SandboxServer
from console.sync.inbound.runner import ensure_job

from .. import factories
from ..reporting import sync
from ..sinks import HttpSink, SmtpSink
from .test_triage import _errors


def _row_ids(html: str) -> set[int]:
    import re

    return {int(x) for x in re.findall(r'<tr id="error-(\d+)">', html)}


def test_assign_note_filter_and_notify_by_email(app, login):
    sink = SmtpSink()
    try:
        app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=sink.port)
        conn = factories.connection(factories.client("Harbour Physio"))
        conn.notify_channel, conn.notify_target = "email", "team@example.com"
        mine, theirs, loose = _errors(conn, 3), _errors(conn, 2, code="unknown_owner"), _errors(conn, 1, code="x")
        ops, lead = login("ops"), login("ops")
        page = ops.hx_post(f"/ops/errors/{mine[0].id}/assign", {"assignee": str(lead.user.id), "due_on": "2027-01-15",
                                                                "note": "Client's form lets typos through"})
        html = page.get_data(as_text=True)
        assert page.status_code == 200 and f"Assigned to {lead.user.name}." in html and "due 2027-01-15" in html
        assert "Client&#39;s form lets typos through" in html or "Client's form lets typos through" in html
        assert len(sink.messages) == 1 and sink.recipients[0] == [lead.user.email]  # the person, not the team list
        assert b"assigned to you" in sink.messages[0] and b"due 2027-01-15" in sink.messages[0]

        group = ops.hx_post("/ops/errors/group", {"action": "assign", "connection_id": str(conn.id),
                                                  "object_type": "contacts", "code": "unknown_owner",
                                                  "assignee": str(lead.user.id)})
        assert group.status_code == 200 and "2 error(s) assigned to" in group.get_data(as_text=True)
        assert len(sink.messages) == 2  # one message for the whole group

        everyone = _row_ids(ops.get("/ops/errors").get_data(as_text=True))
        assert everyone >= {e.id for e in mine + theirs + loose}
        as_lead = _row_ids(lead.get("/ops/errors?assignee=mine").get_data(as_text=True))
        assert as_lead == {mine[0].id, *(e.id for e in theirs)}
        assert _row_ids(ops.get("/ops/errors?assignee=mine").get_data(as_text=True)) == set()
        assert _row_ids(ops.get(f"/ops/errors?assignee={lead.user.id}").get_data(as_text=True)) == as_lead
        unassigned = _row_ids(ops.get("/ops/errors?assignee=none").get_data(as_text=True))
        assert mine[0].id not in unassigned and loose[0].id in unassigned

        noted = ops.hx_post(f"/ops/errors/{mine[0].id}/note", {"note": "Asked the client to fix the form"})
        assert noted.status_code == 200 and "Asked the client to fix the form" in noted.get_data(as_text=True)
        assert ops.hx_post(f"/ops/errors/{mine[0].id}/note", {"note": "   "}).status_code == 422
        assert ops.hx_post(f"/ops/errors/{mine[0].id}/note", {"note": "x" * 2001}).status_code == 422
        actions = [a.action for a in db.session.scalars(sa.select(EventAdminAction).order_by(EventAdminAction.id))]
        # each assignment audited once (a group's too, its note counted in it); a note added later on its own
        assert actions.count("error.assigned") == 2 and actions.count("error.noted") == 1
    finally:
        sink.close()


def test_bad_assignments_are_refused_and_change_nothing(app, login):
    conn = factories.connection(factories.client("Bay Dental"))
    (err,) = _errors(conn, 1)
    ops = login("ops")
    client_user = factories.user("client", client=conn.client)
    db.session.commit()
    for form in ({"assignee": str(client_user.id)}, {"assignee": "999999"}, {"assignee": "abc"},
                 {"assignee": str(ops.user.id), "due_on": "tomorrow"}, {"assignee": str(ops.user.id), "due_on": "9999-12-31"}):
        assert ops.hx_post(f"/ops/errors/{err.id}/assign", form).status_code == 422, form
    db.session.refresh(err)
    assert err.assignee_user_id is None and err.due_on is None
    assert login("owner").hx_post(f"/ops/errors/{err.id}/assign", {"assignee": str(ops.user.id)}).status_code == 403
    assert login("client", conn.client).get(f"/ops/errors/{err.id}").status_code == 404


def test_a_slack_channel_names_the_assignee_and_a_refused_notice_is_shown(app, login):
    sink = HttpSink(statuses=[200, 500])
    try:
        app.config.update(NOTIFY_HOSTS=("127.0.0.1",))
        conn = factories.connection(factories.client("Cove Clinic"))
        conn.notify_channel, conn.notify_target = "slack", sink.url
        a, b = _errors(conn, 2)
        ops, lead = login("ops"), login("admin")
        ops.hx_post(f"/ops/errors/{a.id}/assign", {"assignee": str(lead.user.id)})
        assert lead.user.name.encode() in sink.received[0].body
        refused = ops.hx_post(f"/ops/errors/{b.id}/assign", {"assignee": str(lead.user.id)}).get_data(as_text=True)
        assert f"{lead.user.name} was not told" in refused and 'id="error-notice-error"' in refused
        db.session.refresh(b)
        assert b.assignee_user_id == lead.user.id  # assigned all the same; the failure is on the error
    finally:
        sink.close()


def test_an_assigned_error_a_later_run_resolves_closes_with_a_note_naming_the_run(app, login):
    with SandboxServer(SandboxConfig(contacts=150, deals=0, companies=5, seed=85, limits=False)) as sb:
        conn = factories.hubspot_connection(sb.url, sb.token)
        job = ensure_job(conn, "contacts")
        job.depends_on = None
        db.session.commit()
        sync(job, "backfill")
        err = db.session.scalar(sa.select(IntegrationSyncError).where(IntegrationSyncError.code == "invalid_email"))
        assert err is not None
        ops = login("ops")
        assert ops.hx_post(f"/ops/errors/{err.id}/assign", {"assignee": str(ops.user.id)}).status_code == 200
        contact = sb.state.portal.records["contacts"][int(err.external_id)]
        sb.state.portal.update("contacts", contact, {"email": f"fixed{contact.id}@example.com"})
        run = sync(job)
        db.session.refresh(err)
        assert err.status == "resolved" and err.resolution_reason == f"the record synced successfully in run #{run.id}"
        notes = [n.body for n in db.session.scalars(sa.select(IntegrationErrorNote).where(
            IntegrationErrorNote.error_id == err.id))]
        assert notes == [f"Resolved in run #{run.id}: the record synced successfully."]
        assert f"Resolved in run #{run.id}" in ops.get(f"/ops/errors/{err.id}").get_data(as_text=True)
