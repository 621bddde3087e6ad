"""The launch wizard through its routes, against the sandbox over real HTTP: every step, the checklist,
the role checks, the dry-run guarantee of test batches, and the go-live gate."""
from __future__ import annotations

import json

import pytest
import requests
import sqlalchemy as sa

from console.extensions import db
from console.models import (
    ConnectionChecklistItem,
    CrmLead,
    CrmLeadEvent,
    EventAdminAction,
    IntegrationEnumMapping,
    IntegrationFieldMapping,
    IntegrationRawEvent,
    IntegrationSyncJob,
    IntegrationSyncRun,
)
from console.sync.inbound.runner import ensure_job

from .. import factories
from ..conftest import count
from ..wizard_flow import (
    access,
    account,
    jobs,
    monitor,
    new_connection,
    passing_test_batch,
    run_queued_test_batches,
    token_and_check,
)


def _checked_draft(login, sandbox):
    """An owner's new connection with access saved and the sandbox's token stored and checked."""
    owner = login("owner")
    conn = new_connection(owner)
    access(owner, conn)
    account(owner, conn, sandbox)
    token_and_check(owner, conn, sandbox.token)
    return owner, conn


def _done(conn) -> set[str]:
    db.session.expire_all()
    return set(db.session.scalars(sa.select(ConnectionChecklistItem.key).where(
        ConnectionChecklistItem.connection_id == conn.id, ConnectionChecklistItem.done_at.isnot(None))))


def _actions() -> set[str]:
    return set(db.session.scalars(sa.select(EventAdminAction.action)))


def test_new_connection_keeps_input_on_error_and_creates_the_checklist(login):
    owner = login("owner")
    client = factories.client("Harbour Physio")
    db.session.commit()
    resp = owner.hx_post("/connections/new", {"client_id": client.id, "name": "", "environment": "sandbox",
                                               "owner_id": owner.user.id, "reason": "typed reason stays"})
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "typed reason stays" in html and "This field is required" in html
    conn = new_connection(owner, client)
    assert conn.status == "draft" and conn.owner_user_id == owner.user.id
    assert count(ConnectionChecklistItem) == 16 and "connection.created" in _actions()
    page = owner.get(f"/connections/{conn.id}/wizard/access").get_data(as_text=True)
    assert 'id="launch-progress" value="0" max="16"' in page


def test_access_step_validates_and_ticks_what_it_documents(login):
    owner = login("owner")
    conn = new_connection(owner)
    bad = owner.hx_post(f"/connections/{conn.id}/wizard/access", {"owner_id": owner.user.id, "auth_type": "private_app",
                                                                   "scopes": "x", "docs_url": "not a url",
                                                                   "revocation_path": ""})
    assert bad.status_code == 422 and "Enter a full URL" in bad.get_data(as_text=True)
    assert _done(conn) == set()
    assert access(owner, conn).status_code == 200
    assert _done(conn) == {"provider_docs", "auth_documented", "revocation_documented"}


def test_private_token_is_write_only_and_the_check_shows_portal_and_scopes(login, sandbox):
    owner = login("owner")
    conn = new_connection(owner)
    access(owner, conn, scopes="crm.objects.contacts.read crm.objects.deals.read")
    assert account(owner, conn, sandbox, portal_id="abc").status_code == 422
    assert account(owner, conn, sandbox).status_code == 200
    wrong = token_and_check(owner, conn, "pat-na1-not-the-right-token")
    assert wrong.status_code == 422 and "HubSpot refused the token (401): check that it was copied whole" in \
        wrong.get_data(as_text=True)
    assert "credentials_verified" not in _done(conn)
    ok = token_and_check(owner, conn, sandbox.token)
    html = ok.get_data(as_text=True)
    assert ok.status_code == 200 and "Connected to portal 62515" in html
    assert sandbox.token not in html and sandbox.token not in owner.get(
        f"/connections/{conn.id}/wizard/connection").get_data(as_text=True)
    db.session.refresh(conn)
    # verifying credentials never changes the status: only the first queued test batch does
    assert conn.status == "draft" and conn.account.credentials_status == "valid"
    assert sandbox.token not in (conn.account.credentials_enc or "")
    assert {"records_created", "credentials_verified"} <= _done(conn)


def test_check_reports_missing_scopes(login, sandbox):
    owner = login("owner")
    conn = new_connection(owner)
    access(owner, conn, scopes="crm.objects.contacts.read crm.objects.invoices.read")
    account(owner, conn, sandbox)
    resp = token_and_check(owner, conn, sandbox.token)
    assert resp.status_code == 422 and "lacks required scopes: crm.objects.invoices.read" in resp.get_data(as_text=True)
    assert "credentials_verified" not in _done(conn)


def test_oauth_connect_flow_against_the_sandbox(login, sandbox):
    owner = login("owner")
    conn = new_connection(owner)
    access(owner, conn, auth_type="oauth")
    app = sandbox.state.auth.oauth_app
    account(owner, conn, sandbox, oauth_client_id=app.client_id)
    step = owner.get(f"/connections/{conn.id}/wizard/connection").get_data(as_text=True)
    assert "http://localhost/connections/oauth/callback" in step.split('id="oauth-redirect-uri"')[1].split("</p>")[0]
    owner.hx_post(f"/connections/{conn.id}/wizard/connection/oauth-secret", {"client_secret": app.client_secret})
    start = owner.get(f"/connections/{conn.id}/wizard/connection/oauth")
    assert start.status_code == 303 and start.headers["Location"].startswith(f"{sandbox.url}/oauth/authorize?")
    consent = requests.get(start.headers["Location"], allow_redirects=False, timeout=5)  # the provider's side
    back = consent.headers["Location"]
    assert "/connections/oauth/callback?code=" in back
    forged = owner.get(back.replace("state=", "state=x"))
    assert forged.status_code == 400  # a state this session did not start is refused (and the real one is spent)
    start = owner.get(f"/connections/{conn.id}/wizard/connection/oauth")
    back = requests.get(start.headers["Location"], allow_redirects=False, timeout=5).headers["Location"]
    done = owner.get(back[back.index("/connections/"):])
    assert done.status_code == 303 and "oauth=connected" in done.headers["Location"]
    check = owner.hx_post(f"/connections/{conn.id}/wizard/connection/check")
    assert check.status_code == 200 and "Connected to portal 62515" in check.get_data(as_text=True)


def test_mapping_suggestions_validation_and_confirmation(login, sandbox):
    owner, conn = _checked_draft(login, sandbox)
    assert jobs(owner, conn).status_code == 422  # nothing chosen
    assert jobs(owner, conn, "contacts", "deals").status_code == 200
    assert "jobs_named" in _done(conn)
    base = f"/connections/{conn.id}/wizard/mapping"
    page = owner.get(base).get_data(as_text=True)
    assert page.count("<tr><td>") >= 11 and "Closed Won" in page and "Churned" in page  # every deal stage shown
    edit = owner.hx_get(f"{base}/contacts/first_name/edit").get_data(as_text=True)
    assert "firstname" in edit and "similar to" in edit  # ranked, with the reason

    mismatch = owner.hx_post(f"{base}/contacts/email", {"source": "createdate", "transform": "email"})
    assert mismatch.status_code == 422 and "Type mismatch" in mismatch.get_data(as_text=True)
    owner.hx_post(f"{base}/contacts/email/remove")
    ignored_nothing = {"target::ORGANIC_SEARCH": ""}
    owner.hx_post(f"{base}/contacts/enums/hs_analytics_source", ignored_nothing)
    refused = owner.hx_post(f"{base}/confirm")
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "A required field is unmapped: Email." in html
    assert "Organic Search" in html and "neither mapped nor ignored" in html
    assert "fields_mapped" not in _done(conn)

    restored = owner.hx_post(f"{base}/contacts/email", {"source": "email", "transform": "email", "required": "y"})
    assert restored.status_code == 200 and restored.headers["HX-Retarget"] == f"#mapping-{conn.id}"
    owner.hx_post(f"{base}/contacts/enums/hs_analytics_source",
                  {"target::ORGANIC_SEARCH": "", "ignore::ORGANIC_SEARCH": "on"})
    confirmed = owner.hx_post(f"{base}/confirm")
    assert confirmed.status_code == 200, confirmed.get_data(as_text=True)
    assert "fields_mapped" in _done(conn)
    assert {"mapping.field_removed", "mapping.field_saved", "mapping.enums_saved", "mapping.confirmed"} <= _actions()


def test_the_mapping_page_writes_nothing_and_saving_the_jobs_creates_the_defaults(login, sandbox):
    owner, conn = _checked_draft(login, sandbox)
    contacts = ensure_job(conn, "contacts", enabled=True)  # enabled by hand: no defaults were created yet
    db.session.commit()
    for _ in range(2):
        assert owner.get(f"/connections/{conn.id}/wizard/mapping").status_code == 200
    assert count(IntegrationFieldMapping, IntegrationFieldMapping.connection_id == conn.id) == 0
    assert count(IntegrationEnumMapping, IntegrationEnumMapping.connection_id == conn.id) == 0
    assert jobs(owner, conn, "contacts").status_code == 200
    assert count(IntegrationFieldMapping, IntegrationFieldMapping.connection_id == conn.id,
                 IntegrationFieldMapping.object_type == contacts.object_type) > 5
    assert count(IntegrationEnumMapping, IntegrationEnumMapping.connection_id == conn.id) > 0


def test_ops_run_test_batches_but_cannot_edit_mappings_and_clients_get_404(login, sandbox):
    owner, conn = _checked_draft(login, sandbox)
    jobs(owner, conn, "deals")
    ops = login("ops")
    assert ops.get(f"/connections/{conn.id}/wizard/mapping").status_code == 200
    assert ops.hx_post(f"/connections/{conn.id}/wizard/mapping/deals/deal_name",
                       {"source": "dealname", "transform": "trim"}).status_code == 403
    assert ops.hx_post(f"/connections/{conn.id}/wizard/mapping/confirm").status_code == 403
    assert ops.hx_post(f"/connections/{conn.id}/go-live").status_code == 403
    assert ops.hx_post(f"/connections/{conn.id}/wizard/test", {"object_type": "deals", "size": 5}).status_code == 200
    other_owner = login("owner")
    assert other_owner.hx_post(f"/connections/{conn.id}/wizard/access", {}).status_code == 403
    assert other_owner.get(f"/connections/{conn.id}/wizard/access").status_code == 200  # may look
    client = login("client", conn.client)
    for path in ("/wizard/access", "/wizard/test", "/wizard/mapping"):
        assert client.get(f"/connections/{conn.id}{path}").status_code == 404
    assert client.hx_post(f"/connections/{conn.id}/wizard/test", {"object_type": "deals"}).status_code == 404


def test_test_batch_is_a_dry_run_with_progress_and_outcomes(login, sandbox):
    owner, conn = _checked_draft(login, sandbox)
    jobs(owner, conn, "contacts", "deals")
    owner.get(f"/connections/{conn.id}/wizard/mapping")  # creates the default mappings
    conn.source_failure_pct = 0  # no open source value may stay: the seed's invalid emails fail the batch
    db.session.commit()
    before = (count(CrmLead), count(CrmLeadEvent), count(IntegrationRawEvent))
    cursors = {j.object_type: j.cursor for j in db.session.scalars(sa.select(IntegrationSyncJob))}

    resp = owner.hx_post(f"/connections/{conn.id}/wizard/test", {"object_type": "contacts", "size": 40})
    html = resp.get_data(as_text=True)
    assert 'hx-trigger="every 1s"' in html and "Test batch #" in html  # the status block polls
    assert owner.hx_post(f"/connections/{conn.id}/wizard/test", {"object_type": "contacts", "size": 5}
                         ).status_code == 422  # one batch at a time
    run_queued_test_batches()
    contacts_id = _latest_run_id()
    status = owner.hx_get(f"/connections/{conn.id}/wizard/test/runs/{contacts_id}")
    final = status.get_data(as_text=True)
    events = json.loads(status.headers.get("HX-Trigger", "{}"))
    assert "every 1s" not in final and {"checklistChanged", "gateChanged", "testsChanged"} <= set(events)
    assert final.count('<tr class="bucket-') == 40
    assert (count(CrmLead), count(CrmLeadEvent), count(IntegrationRawEvent)) == before
    assert {j.object_type: j.cursor for j in db.session.scalars(sa.select(IntegrationSyncJob))} == cursors
    assert "bucket-failed" in final and "email" in final  # the seed's invalid emails fail, with the reason
    db.session.refresh(conn)
    assert conn.last_tested_at is None  # a batch with failures does not count as tested

    run = passing_test_batch(owner, conn, "deals", 25)
    assert run.status == "succeeded" and run.failed == 0 and run.seen == 25 and len(run.outcomes) == 25
    db.session.refresh(conn)
    assert conn.last_tested_at is not None and conn.last_test_run_id == run.id
    # every enabled object needs its passing batch: contacts still fail on their invalid emails
    assert "test_batch_reviewed" not in _done(conn)
    contacts_run = db.session.get(IntegrationSyncRun, contacts_id)
    assert {o[3] for o in contacts_run.outcomes if o[1] == "failed"} == {"invalid_email"}
    assert "source_value" in final and "Fix it in HubSpot, or ignore it with a reason" in final
    no_reason = owner.hx_post(f"/connections/{conn.id}/wizard/runs/{contacts_id}/ignore", {"code": "invalid_email"})
    assert no_reason.status_code == 422 and "test_batch_reviewed" not in _done(conn)
    not_a_value = owner.hx_post(f"/connections/{conn.id}/wizard/runs/{contacts_id}/ignore",
                                {"code": "unmapped_value", "reason": "x"})
    assert not_a_value.status_code == 422 and "is not a source value" in not_a_value.get_data(as_text=True)
    ignored = owner.hx_post(f"/connections/{conn.id}/wizard/runs/{contacts_id}/ignore",
                            {"code": "invalid_email", "reason": "The client keeps these contacts without email."})
    assert ignored.status_code == 200 and "Passed" in ignored.get_data(as_text=True)
    assert "checklistChanged" in json.loads(ignored.headers["HX-Trigger"])
    assert "test_batch_reviewed" in _done(conn)
    assert (count(CrmLead), count(CrmLeadEvent), count(IntegrationRawEvent)) == before


def _latest_run_id() -> int:
    from console.models import IntegrationSyncRun

    return db.session.scalar(sa.select(sa.func.max(IntegrationSyncRun.id)))


def test_gate_refuses_until_everything_is_there_then_pause_resume_revoke(login, sandbox):
    owner = login("owner")
    conn = new_connection(owner)
    refused = owner.hx_post(f"/connections/{conn.id}/go-live")
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    for words in ("No last-tested date", "No failure path", "No manual fallback", "Credentials are not verified",
                  "Checklist: Account access confirmed"):
        assert words in html
    assert "connection.go_live_refused" in _actions()

    access(owner, conn)
    account(owner, conn, sandbox)
    token_and_check(owner, conn, sandbox.token)
    jobs(owner, conn, "deals")
    owner.get(f"/connections/{conn.id}/wizard/mapping")
    assert owner.hx_post(f"/connections/{conn.id}/wizard/mapping/confirm").status_code == 200
    passing_test_batch(owner, conn)
    for key in ("account_access", "test_results_reviewed"):
        assert owner.hx_post(f"/connections/{conn.id}/checklist/{key}", {"done": "1"}).status_code == 200
    assert owner.hx_post(f"/connections/{conn.id}/checklist/credentials_verified", {"done": "1"}).status_code == 422
    assert monitor(owner, conn, channel="slack", target="http://hooks.example.com/x").status_code == 422
    assert monitor(owner, conn).status_code == 200
    owner.hx_post(f"/connections/{conn.id}/wizard/report", {"explanation": "Your CRM's deals feed the pipeline card.",
                                                           "next_action": "Review stalled deals monthly."})
    still = owner.hx_post(f"/connections/{conn.id}/go-live").get_data(as_text=True)
    assert "Checklist: Baseline created" in still  # the one thing left

    from ..reporting import sync
    run = sync(db.session.get(IntegrationSyncJob, _job_id(conn, "deals")))
    assert owner.hx_post(f"/connections/{conn.id}/report/baselines", {"run_id": run.id}).status_code == 200
    live = owner.hx_post(f"/connections/{conn.id}/go-live")
    assert live.status_code == 200, live.get_data(as_text=True)
    db.session.refresh(conn)
    assert conn.status == "live" and conn.went_live_at is not None

    assert owner.hx_post(f"/connections/{conn.id}/pause", {"reason": "client asked"}).status_code == 200
    db.session.refresh(conn)
    assert conn.status == "paused"
    assert owner.hx_post(f"/connections/{conn.id}/resume").status_code == 200
    db.session.refresh(conn)
    assert conn.status == "live"
    assert owner.hx_post(f"/connections/{conn.id}/revoke", {"reason": "contract ended"}).status_code == 200
    db.session.refresh(conn)
    assert conn.status == "revoked" and conn.account.credentials_enc is None
    assert conn.account.credentials_status == "revoked"
    assert not any(j.enabled for j in db.session.scalars(sa.select(IntegrationSyncJob).where(
        IntegrationSyncJob.connection_id == conn.id)))
    assert {"connection.went_live", "connection.paused", "connection.resumed", "connection.revoked"} <= _actions()
    assert owner.hx_post(f"/connections/{conn.id}/wizard/access", {}).status_code == 409


def _job_id(conn, object_type: str) -> int:
    return db.session.scalar(sa.select(IntegrationSyncJob.id).where(
        IntegrationSyncJob.connection_id == conn.id, IntegrationSyncJob.object_type == object_type))


def test_connections_list_filters_and_shows_the_next_step(login):
    owner = login("owner")
    a = new_connection(owner, factories.client("Alpha Dental"))
    factories.connection(factories.client("Beta Legal"), status="live")
    db.session.commit()
    page = owner.get("/connections?q=alpha").get_data(as_text=True)
    assert "Alpha Dental CRM" in page and "Beta Legal CRM" not in page
    assert f'href="/connections/{a.id}/wizard/access"' in page  # next step
    partial = owner.hx_get("/connections?status=live").get_data(as_text=True)
    assert partial.lstrip().startswith('<div id="connection-table">') and "Beta Legal CRM" in partial


@pytest.mark.parametrize("field,value,error", [
    ("freshness_target", "0", "Number must be between 1 and 86400."),
    ("freshness_objective", "101", "Number must be between 1 and 100."),
    ("completeness", "", "This field is required."),
    ("duplicate_events", "abc", "Not a valid integer value."),
])
def test_monitor_thresholds_refuse_bad_input_and_keep_the_saved_ones(login, field, value, error):
    owner = login("owner")
    conn = factories.connection(factories.client(), owner_user_id=owner.user.id)
    db.session.commit()
    assert monitor(owner, conn, freshness_target=120, completeness=90).status_code == 200
    resp = monitor(owner, conn, **{field: value})
    assert resp.status_code == 422 and error in resp.get_data(as_text=True)
    db.session.expire_all()
    assert (conn.freshness_target_seconds, conn.quality_completeness_pct, conn.freshness_objective_pct) == (120, 90, 99)


def test_text_fields_that_hold_dates_or_numbers_are_typed_from_a_sample_and_offered_a_transform(login, sandbox):
    """The sandbox's companies keep a renewal date and a revenue as text fields: the mapping step samples a
    page of records, says what they look like, proposes the transform, and accepts it; plain text stays text."""
    owner, conn = _checked_draft(login, sandbox)
    assert jobs(owner, conn, "companies").status_code == 200
    companies = sandbox.state.portal.all_active("companies")
    base = f"/connections/{conn.id}/wizard/mapping"
    page = owner.get(base).get_data(as_text=True)
    assert f"Contract renewal <span class=\"mono\">(contract_renewal)</span>: looks like a date in {len(companies)} of " \
           f"{len(companies)} values" in page
    assert "(annual_revenue_text)</span>: looks like a number in" in page
    assert 'id="inferred-companies-city"' not in page and 'id="inferred-companies-name"' not in page
    edit = owner.hx_get(f"{base}/companies/provider_created_at/edit").get_data(as_text=True)
    assert "text that looks like a date" in edit and "fits a datetime field through “datetime_utc”" in edit
    refused = owner.hx_post(f"{base}/companies/provider_created_at", {"source": "city", "transform": "datetime_utc"})
    assert refused.status_code == 422 and "Type mismatch" in refused.get_data(as_text=True)
    saved = owner.hx_post(f"{base}/companies/provider_created_at",
                          {"source": "contract_renewal", "transform": "datetime_utc"})
    assert saved.status_code == 200, saved.get_data(as_text=True)
    assert "Contract renewal · string that looks like a date" in owner.get(base).get_data(as_text=True)  # the row too
