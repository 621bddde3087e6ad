"""Launch integrity, through the wizard's routes against the sandbox over real HTTP: failure classes of a
test batch, waivers, the staged first complete sync and its baselines, the gate per object, one portal per
client, webhooks before the first sync, and the events that keep every dependent panel fresh."""
from __future__ import annotations

import json

import requests
import sqlalchemy as sa

from console.extensions import db
from console.metrics.baselines import active, refusal, source_words
from console.models import (
    CrmLead,
    EventAdminAction,
    EventWebhookEvent,
    IntegrationConnection,
    IntegrationSyncError,
    IntegrationSyncJob,
    IntegrationSyncRun,
    IntegrationValueWaiver,
)
from console.models.base import utcnow
from console.sync.inbound import failures
from console.sync.proof.verdict import judge
from console.wizard import gate, readiness

from .. import factories
from ..conftest import count as _count_rows
from ..wizard_flow import access, account, jobs, monitor, new_connection, run_queued_test_batches, token_and_check

REASON = "The client keeps these contacts without email."


def _ready(owner, sandbox, *objects: str) -> IntegrationConnection:
    """A draft through access, connection (verified) and mapping (confirmed), nothing tested yet."""
    conn = new_connection(owner)
    access(owner, conn)
    account(owner, conn, sandbox)
    token_and_check(owner, conn, sandbox.token)
    jobs(owner, conn, *objects)
    owner.get(f"/connections/{conn.id}/wizard/mapping")
    assert owner.hx_post(f"/connections/{conn.id}/wizard/mapping/confirm").status_code == 200
    return conn


def _batch(owner, conn, object_type: str, size: int = 25) -> IntegrationSyncRun:
    resp = owner.hx_post(f"/connections/{conn.id}/wizard/test", {"object_type": object_type, "size": size})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    run_queued_test_batches()
    db.session.commit()
    return db.session.scalar(sa.select(IntegrationSyncRun).where(IntegrationSyncRun.connection_id == conn.id)
                             .order_by(IntegrationSyncRun.id.desc()).limit(1))


def _first_sync(owner, conn) -> dict[str, IntegrationSyncRun]:
    resp = owner.hx_post(f"/connections/{conn.id}/wizard/first-sync")
    assert resp.status_code == 200, resp.get_data(as_text=True)
    run_queued_test_batches()
    db.session.commit()
    return {r.object_type: r for r in db.session.scalars(sa.select(IntegrationSyncRun).where(
        IntegrationSyncRun.connection_id == conn.id, IntegrationSyncRun.kind == "backfill"))}


def count(model, *where) -> int:
    db.session.commit()  # a fresh snapshot (MariaDB): requests and runs wrote on their own connections
    return _count_rows(model, *where)


def _leads(conn) -> int:
    return count(CrmLead, CrmLead.connection_id == conn.id)


def test_failure_classes_and_their_advice():
    for code in ("invalid_email", "invalid_phone", "required_missing", "unknown_owner"):
        assert failures.class_of(code) == "source_value"
    for code in ("unmapped_value", "unknown_stage", "no_rate", "invalid_number", "invalid_date", "unknown_transform"):
        assert failures.class_of(code) == "mapping"
    assert failures.class_of("provider_error") == "provider"
    assert failures.advice("source_value", "HubSpot") == "Fix it in HubSpot, or ignore it with a reason."
    assert failures.advice("provider", "Salesforce").startswith("Salesforce refused or failed the request")

    class F:
        def __init__(self, code, field):
            self.code, self.field = code, field
    # fixing an invalid email would not make a record pass whose picklist option is unmapped
    assert failures.cause([F("invalid_email", "email"), F("unmapped_value", "lifecycle_stage")]) == \
        failures.Cause("unmapped_value", "lifecycle_stage")


def test_a_first_batch_reports_new_records_and_each_failure_class(login, sandbox):
    owner = login("owner")
    conn = _ready(owner, sandbox, "contacts")
    conn.source_failure_pct = 0
    db.session.commit()
    assert conn.status == "draft"
    early = owner.hx_post(f"/connections/{conn.id}/wizard/first-sync")
    assert early.status_code == 422 and "Run a test batch first" in early.get_data(as_text=True)
    run = _batch(owner, conn, "contacts", 60)
    db.session.commit()  # a fresh snapshot
    db.session.refresh(conn)
    assert conn.status == "testing"  # the first queued batch moves a draft to testing, audited
    assert count(EventAdminAction, EventAdminAction.action == "connection.status_changed") == 1
    assert run.created == run.seen - run.failed and run.unchanged == 0  # compared with its own (empty) records
    verdict = judge(run)
    assert [g.failure_class for g in verdict.groups] == ["source_value"] and verdict.groups[0].code == "invalid_email"
    assert not verdict.passes and "ignore them with a reason" in verdict.problems()[0]
    page = owner.hx_get(f"/connections/{conn.id}/wizard/test/runs/{run.id}").get_data(as_text=True)
    assert "Fix it in HubSpot, or ignore it with a reason" in page and "(mapping step)" not in page
    assert "Email: not a valid email address" in page  # the label, not the column name
    assert "ignore-form" in page  # the polled block offers the owner the way out
    ops = login("ops")
    assert "ignore-form" not in ops.hx_get(f"/connections/{conn.id}/wizard/test/runs/{run.id}").get_data(as_text=True)

    # mapping: an unmapped picklist option is our configuration, linked to its mapping row
    owner.hx_post(f"/connections/{conn.id}/wizard/mapping/contacts/enums/lifecyclestage", {"target::lead": ""})
    run = _batch(owner, conn, "contacts", 60)
    mapping = [g for g in judge(run).groups if g.failure_class == "mapping"]
    assert mapping and mapping[0].code == "unmapped_value" and mapping[0].field == "lifecycle_stage"
    page = owner.hx_get(f"/connections/{conn.id}/wizard/test/runs/{run.id}").get_data(as_text=True)
    assert f"/connections/{conn.id}/wizard/mapping#field-contacts-lifecycle_stage" in page
    refused = owner.hx_post(f"/connections/{conn.id}/wizard/runs/{run.id}/ignore",
                            {"code": "unmapped_value", "reason": REASON})
    assert refused.status_code == 422 and count(IntegrationValueWaiver) == 0  # mapping failures are not waivable

    # provider: HubSpot failing every call
    requests.put(f"{sandbox.url}/_sandbox/faults", json={"rules": [{"kind": "500", "rate": 1.0}]},
                 timeout=5).raise_for_status()
    try:
        run = _batch(owner, conn, "contacts", 10)
    finally:
        requests.put(f"{sandbox.url}/_sandbox/faults", json={"rules": []}, timeout=5).raise_for_status()
    verdict = judge(run)
    assert run.status == "failed" and verdict.provider_error and "failed at HubSpot" in verdict.problems()[0]
    assert _leads(conn) == 0  # test batches are dry runs


def test_threshold_and_waivers_decide_a_passing_batch(login, sandbox):
    owner = login("owner")
    conn = _ready(owner, sandbox, "contacts")
    run = _batch(owner, conn, "contacts", 100)
    failed = judge(run).count("source_value")
    assert failed >= 2, "the sandbox seeds about 3 % invalid emails"
    for pct, passes in ((0, False), (100, True)):
        conn.source_failure_pct = pct
        db.session.commit()
        assert judge(run).passes is passes
    conn.source_failure_pct = 0
    db.session.commit()
    resp = owner.hx_post(f"/connections/{conn.id}/wizard/runs/{run.id}/ignore", {"code": "invalid_email", "reason": REASON})
    db.session.commit()  # a fresh snapshot: the request wrote the waivers on its own connection
    assert resp.status_code == 200 and json.loads(resp.headers["HX-Trigger"]).keys() >= {"checklistChanged", "gateChanged"}
    assert judge(run).passes and count(IntegrationValueWaiver) == failed
    readiness.refresh(conn)
    assert conn.last_test_run_id == run.id


def test_first_complete_sync_is_staged_and_baselines_need_ignored_values(login, sandbox):
    owner = login("owner")
    conn = _ready(owner, sandbox, "contacts", "deals")
    for object_type in ("contacts", "deals"):
        _batch(owner, conn, object_type)
    assert _leads(conn) == 0
    runs = _first_sync(owner, conn)
    contacts, deals = runs["contacts"], runs["deals"]
    assert contacts.status == "partial" and deals.status == "succeeded"
    assert _leads(conn) == contacts.seen - contacts.failed + deals.seen
    # deals complete: baselined from the first complete sync at once; contacts refused, with the way out
    assert set(active(conn.id)) == {"open_pipeline"}
    why = refusal(contacts, conn)
    assert "unusable source values" in why and "ignore them with a reason" in why
    # staged: the client's portal shows nothing; staff preview does, labelled
    conn.client_visible = True
    db.session.commit()
    client_user = login("client", conn.client)
    assert f"portal-connection-{conn.id}" not in client_user.get("/portal/").get_data(as_text=True)
    assert client_user.get(f"/portal/connections/{conn.id}").status_code == 404
    assert client_user.get(f"/portal/connections/{conn.id}/export.csv").status_code == 404
    admin = login("admin")
    preview = admin.get(f"/clients/{conn.client_id}/as-client/").get_data(as_text=True)
    assert f"portal-connection-{conn.id}" in preview and "Preview: not visible to the client" in preview
    # the gate refuses per object while contacts fail
    with_reasons = readiness.missing_by_object(conn)
    assert list(with_reasons) == ["Contacts"] and len(with_reasons["Contacts"]) == 1
    # advice from the real state (issue 32): one next action, never the sync that already ran
    advice = with_reasons["Contacts"][0]
    assert advice.startswith("no baseline for") and advice.step == "report"
    assert (f"{contacts.failed:,} contacts of run #{contacts.id} failed on invalid email (email). Ignore them with a "
            "reason on the report step, or fix them in HubSpot") in advice
    assert "run the first complete sync" not in advice
    gate = owner.get(f"/connections/{conn.id}/wizard/monitor").get_data(as_text=True)
    assert "run the first complete sync" not in gate and f'href="/connections/{conn.id}/wizard/report"' in gate
    # the owner ignores the invalid emails with a reason: the run is complete, the baselines follow
    resp = owner.hx_post(f"/connections/{conn.id}/wizard/runs/{contacts.id}/ignore",
                         {"code": "invalid_email", "reason": REASON})
    assert resp.status_code == 200 and "Baselines captured" in resp.get_data(as_text=True)
    db.session.commit()  # a fresh snapshot
    assert refusal(contacts, conn) is None and len(active(conn.id)) == 4
    words = source_words(active(conn.id)["lead_owner"])
    assert words == (f"{contacts.seen - contacts.failed:,} of {contacts.seen:,} contacts; "
                     f"{contacts.failed:,} ignored: invalid email")
    # their sync errors are closed with the reason and stay closed on the next runs
    assert count(IntegrationSyncError, IntegrationSyncError.status == "open") == 0
    assert count(IntegrationSyncError, IntegrationSyncError.status == "ignored") == contacts.failed
    # the report step lists only runs a baseline can come from
    page = owner.get(f"/connections/{conn.id}/wizard/report").get_data(as_text=True)
    candidates = page.split("Complete syncs a baseline can come from")[1].split("</table>")[0]
    assert "Test batch" not in candidates and "Backfill" in candidates
    assert readiness.missing_by_object(conn) == {}


def test_go_live_needs_every_object_then_starts_the_schedule(login, sandbox):
    owner = login("owner")
    conn = _ready(owner, sandbox, "contacts", "deals")
    _batch(owner, conn, "deals")  # contacts never tested
    runs = _first_sync(owner, conn)
    owner.hx_post(f"/connections/{conn.id}/wizard/runs/{runs['contacts'].id}/ignore", {"code": "invalid_email",
                                                                                      "reason": REASON})
    for key in ("account_access", "test_results_reviewed"):
        owner.hx_post(f"/connections/{conn.id}/checklist/{key}", {"done": "1"})
    monitor(owner, conn)
    owner.hx_post(f"/connections/{conn.id}/wizard/report", {"explanation": "Leads and deals, every minute.",
                                                           "next_action": "Review unassigned leads monthly."})
    refused = owner.hx_post(f"/connections/{conn.id}/go-live")
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "Contacts" in html and "no test batch yet" in html and "Deals" not in \
        html.split('id="gate-refused"')[1].split("</div>")[0]
    db.session.commit()  # a fresh snapshot
    db.session.refresh(conn)
    assert conn.status == "testing"
    _batch(owner, conn, "contacts", 5)
    for job in db.session.scalars(sa.select(IntegrationSyncJob).where(IntegrationSyncJob.connection_id == conn.id)):
        job.next_run_at = utcnow().replace(year=2100)
    db.session.commit()
    accepted = owner.hx_post(f"/connections/{conn.id}/go-live")
    assert accepted.status_code == 200, accepted.get_data(as_text=True)
    db.session.commit()  # a fresh snapshot
    db.session.refresh(conn)
    assert conn.status == "live"
    assert all(j.next_run_at <= utcnow() for j in db.session.scalars(
        sa.select(IntegrationSyncJob).where(IntegrationSyncJob.connection_id == conn.id, IntegrationSyncJob.enabled)))


def test_not_applicable_metric_is_an_admin_decision_with_a_reason(login, sandbox):
    owner = login("owner")
    conn = _ready(owner, sandbox, "deals")
    url = f"/connections/{conn.id}/wizard/metrics/open_pipeline/applicability"
    assert owner.hx_post(url, {"reason": "No pipeline"}).status_code == 403
    admin = login("admin")
    assert admin.hx_post(url, {"reason": ""}).status_code == 422
    assert admin.hx_post(url, {"reason": "Maple Ridge runs no sales pipeline."}).status_code == 200
    db.session.commit()  # a fresh snapshot
    db.session.refresh(conn)
    state = readiness.objects(conn)[0]
    assert state.missing_metrics == [] and conn.metrics_not_applicable["open_pipeline"]["reason"]
    assert admin.hx_post(url, {"applicable": "1"}).status_code == 200
    db.session.commit()  # a fresh snapshot
    db.session.refresh(conn)
    assert [m.key for m in readiness.objects(conn)[0].missing_metrics] == ["open_pipeline"]


def test_one_portal_belongs_to_one_client(login, sandbox):
    owner, admin = login("owner"), login("admin")
    first = new_connection(owner)
    access(owner, first)
    assert account(owner, first, sandbox).status_code == 200
    same_client = new_connection(owner, first.client)  # the same client's second connection may share it
    access(owner, same_client)
    assert account(owner, same_client, sandbox).status_code == 200
    second = new_connection(owner)  # another client
    access(owner, second)
    refused = account(owner, second, sandbox)
    assert refused.status_code == 422 and "already attached to" in refused.get_data(as_text=True)
    db.session.commit()  # a fresh snapshot
    db.session.refresh(second)
    assert second.account is None or second.account.external_account_id != "62515"
    no_reason = account(admin, second, sandbox)
    assert no_reason.status_code == 422 and "give the reason" in no_reason.get_data(as_text=True)
    shared = account(admin, second, sandbox, override_reason="One HubSpot portal for the group's two firms.")
    assert shared.status_code == 200
    assert count(EventAdminAction, EventAdminAction.action == "connection.portal_shared") == 1
    # a revoked connection lets its portal go
    third = new_connection(owner)
    access(owner, third)
    for conn in (first, same_client, second):
        gate.revoke(conn, admin.user, "client left")
    assert account(owner, third, sandbox).status_code == 200
    # the step names the connection that receives the portal's webhooks
    page = owner.get(f"/connections/{third.id}/wizard/connection").get_data(as_text=True)
    assert "Webhooks from portal 62515 go to:" in page


def test_webhooks_before_the_first_complete_sync_are_left_to_it(app, sandbox):
    """A change announced before an object's first complete sync is not applied (that sync reads it and
    hands its cursor on); after the sync, the same kind of event is applied."""
    from console.mapping.service import ensure_default_mappings
    from console.sync import catalogue
    from console.sync.inbound.runner import ensure_job
    from console.webhooks.normalize import process_due

    from ..reporting import sync

    conn = factories.hubspot_connection(sandbox.url, sandbox.token)
    conn.status = "testing"
    job = ensure_job(conn, "contacts", enabled=True)
    job.depends_on = None
    db.session.commit()
    ensure_default_mappings(conn.id, "contacts", catalogue.properties(conn, "contacts"))
    db.session.commit()
    some_id = str(min(sandbox.state.portal.records["contacts"]))

    def event(n: int) -> int:
        row = EventWebhookEvent(connection_id=conn.id, provider="hubspot", source_event_id=f"t:{some_id}:{n}",
                                event_type="contact.propertyChange", object_id=some_id, status="received")
        db.session.add(row)
        db.session.commit()
        process_due()
        db.session.expire_all()
        return row.id

    early = db.session.get(EventWebhookEvent, event(1))
    assert early.status == "ignored" and "first sync" in early.last_error and _leads(conn) == 0
    sync(job, kind="backfill")
    late = db.session.get(EventWebhookEvent, event(2))
    assert late.status == "normalized", late.last_error


def _events(resp) -> set[str]:
    return set(json.loads(resp.headers.get("HX-Trigger") or "{}"))


def _listens(html: str, panel_id: str, event: str) -> str:
    """The panel's refresh URL, after checking that it listens for `event` (hx-trigger="… from:body")."""
    import re

    tag = re.search(rf'<[^>]*id="{re.escape(panel_id)}"[^>]*>', html, re.S)
    assert tag, f"no #{panel_id} on the page"
    assert f'hx-trigger="{event} from:body"' in tag.group(0), tag.group(0)
    return re.search(r'hx-get="([^"]+)"', tag.group(0)).group(1)


def test_each_dependent_panel_is_refreshed_by_its_event(login, sandbox):
    """The credentials card, the gate box, the checklist, the header badge and the test history: each
    action answers with the event its dependent panels listen for, and each panel's own URL then shows
    the new state (nothing stale until a reload)."""
    owner = login("owner")
    conn = _ready(owner, sandbox, "deals")
    cid = conn.id

    # the credentials card after the account is saved (a new portal drops the token)
    page = owner.get(f"/connections/{cid}/wizard/connection").get_data(as_text=True)
    url = _listens(page, f"credentials-{cid}", "accountChanged")
    assert "Connected" in owner.hx_get(url).get_data(as_text=True) or "Valid" in owner.hx_get(url).get_data(as_text=True)
    saved = owner.hx_post(f"/connections/{cid}/wizard/connection/account",
                          {"portal_id": "99999", "environment": "sandbox", "base_url": sandbox.url})
    assert saved.status_code == 200 and {"accountChanged", "checklistChanged"} <= _events(saved)
    assert "nothing yet" in owner.hx_get(url).get_data(as_text=True)
    account(owner, conn, sandbox)
    token_and_check(owner, conn, sandbox.token)

    # the header badge after the first test batch moves the draft to testing
    page = owner.get(f"/connections/{cid}/wizard/test").get_data(as_text=True)
    badge_url = _listens(page, f"status-badge-{cid}", "statusChanged")
    history_url = _listens(page, f"test-history-{cid}", "testsChanged")
    assert "Draft" in owner.hx_get(badge_url).get_data(as_text=True)
    queued = owner.hx_post(f"/connections/{cid}/wizard/test", {"object_type": "deals", "size": 5})
    assert {"statusChanged", "testsChanged", "checklistChanged"} <= _events(queued)
    assert "Testing" in owner.hx_get(badge_url).get_data(as_text=True)
    run_queued_test_batches()
    run_id = db.session.scalar(sa.select(sa.func.max(IntegrationSyncRun.id)))
    final = owner.hx_get(f"/connections/{cid}/wizard/test/runs/{run_id}")
    assert {"testsChanged", "checklistChanged", "gateChanged"} <= _events(final)
    assert f"#{run_id}" in owner.hx_get(history_url).get_data(as_text=True)

    # the gate box (monitor step) and the checklist after any save
    page = owner.get(f"/connections/{cid}/wizard/monitor").get_data(as_text=True)
    gate_url = _listens(page, f"golive-{cid}", "gateChanged")
    checklist_url = _listens(page, f"checklist-{cid}", "checklistChanged")
    assert "Client-safe explanation" in owner.hx_get(gate_url).get_data(as_text=True)
    saved = owner.hx_post(f"/connections/{cid}/wizard/report", {"explanation": "Deals, every minute.",
                                                               "next_action": "Review stalled deals monthly."})
    assert {"gateChanged", "checklistChanged", "statusChanged"} <= _events(saved)
    assert "Client-safe explanation" not in owner.hx_get(gate_url).get_data(as_text=True)
    assert 'id="item-client_explanation" class="done"' in owner.hx_get(checklist_url).get_data(as_text=True)
    # the monitor form sits above the box: its answer carries the box out of band (no refresh to race a click)
    assert "No failure path" in owner.hx_get(gate_url).get_data(as_text=True)
    saved = monitor(owner, conn)
    html = saved.get_data(as_text=True)
    assert "checklistChanged" in _events(saved) and "gateChanged" not in _events(saved)
    box = html.split(f'id="golive-{cid}"')[1].split("</section>")[0]
    assert 'hx-swap-oob="true"' in box and "No failure path" not in box
    assert 'id="item-failure_path" class="done"' in owner.hx_get(checklist_url).get_data(as_text=True)
    # the go-live box's own answers do not re-fetch the box (that would wipe their message)
    refused = owner.hx_post(f"/connections/{cid}/go-live")
    assert refused.status_code == 422 and "gateChanged" not in _events(refused) and "checklistChanged" in _events(refused)


def test_the_baselines_panel_follows_the_first_sync_and_its_waivers(login, sandbox):
    owner = login("owner")
    conn = _ready(owner, sandbox, "contacts")
    _batch(owner, conn, "contacts", 5)
    page = owner.get(f"/connections/{conn.id}/wizard/report").get_data(as_text=True)
    url = _listens(page, f"metrics-needed-{conn.id}", "baselinesChanged")
    assert owner.hx_get(url).get_data(as_text=True).count("Missing") == 3
    run = _first_sync(owner, conn)["contacts"]
    assert "baselinesChanged" in _events(owner.hx_get(f"/connections/{conn.id}/wizard/test/runs/{run.id}"))
    ignored = owner.hx_post(f"/connections/{conn.id}/wizard/runs/{run.id}/ignore", {"code": "invalid_email",
                                                                                  "reason": REASON})
    assert "baselinesChanged" in _events(ignored)
    panel = owner.hx_get(url).get_data(as_text=True)
    assert "Missing" not in panel and panel.count("Captured") == 3


def test_two_captures_at_once_make_one_set_of_baselines(app, login, sandbox, monkeypatch):
    """The dispatcher's first-sync capture and a person's waiver may capture at the same moment, each on
    its own connection: the second waits for the first and then finds its baselines, never doubles them."""
    import threading

    from console.metrics import baselines
    from console.models import MetricBaseline, User
    from console.sync.proof.verdict import waive

    owner = login("owner")
    conn = _ready(owner, sandbox, "contacts")
    _batch(owner, conn, "contacts", 5)
    run = _first_sync(owner, conn)["contacts"]
    assert run.status == "partial" and not active(conn.id)  # invalid emails: no baseline yet
    user = db.session.scalar(sa.select(User).where(User.role == "owner"))
    waive(conn, run, "invalid_email", REASON, user)  # complete now; nothing captured it yet
    db.session.commit()
    conn_id = conn.id
    real, first_inside, second_inside, errors = baselines.snapshot_for_run, threading.Event(), threading.Event(), []

    def held(run_id):  # the first capture stops between reading "no baseline" and writing its own
        if threading.current_thread().name == "first":
            first_inside.set()
            second_inside.wait(3)  # without serializing, the second reads "no baseline" meanwhile and gets here
        else:
            second_inside.set()
        return real(run_id)

    monkeypatch.setattr(baselines, "snapshot_for_run", held)

    def capture() -> None:
        try:
            with app.app_context():
                readiness.capture_from_first_sync(db.session.get(IntegrationConnection, conn_id), None)
                db.session.commit()
        except Exception as exc:  # handed to the test
            errors.append(exc)

    first = threading.Thread(target=capture, name="first")
    first.start()
    assert first_inside.wait(30)
    second = threading.Thread(target=capture, name="second")
    second.start()
    first.join(60)
    second.join(60)
    assert not errors and not second_inside.is_set()  # the second never reached a capture of its own
    assert count(MetricBaseline, MetricBaseline.connection_id == conn_id) == len(active(conn_id)) == 3


def test_a_first_sync_block_keeps_polling_until_its_baselines_are_captured(login, sandbox):
    """Between a first complete sync's final commit and the dispatcher's capture of its baselines (the
    run_settled subscriber, a moment later), the run's block must not announce the run settled: the panels
    it refreshes would show "No baseline yet" beside a run that gives one, until a reload (seen in CI under
    load). It keeps polling, says the baselines are being captured, and announces runSettled once they are."""
    from console.models import AutomationRun, MetricBaseline

    owner = login("owner")
    conn = _ready(owner, sandbox, "deals")
    _batch(owner, conn, "deals")
    deals = _first_sync(owner, conn)["deals"]
    assert deals.status == "succeeded" and set(active(conn.id)) == {"open_pipeline"}
    # the moment before the values after it are recorded and the capture lands: the run final, nothing else yet
    db.session.execute(sa.delete(MetricBaseline).where(MetricBaseline.connection_id == conn.id))
    db.session.execute(sa.update(AutomationRun).where(AutomationRun.trigger_run_id == deals.id).values(trigger_run_id=None))
    db.session.commit()
    url = f"/connections/{conn.id}/wizard/test/runs/{deals.id}"
    waiting = owner.hx_get(url)
    body = waiting.get_data(as_text=True)
    assert "Capturing the baselines from this run" in body and 'hx-trigger="every 1s"' in body
    assert "runSettled" not in waiting.headers.get("HX-Trigger", "")
    report = owner.get(f"/connections/{conn.id}/wizard/report").get_data(as_text=True)
    assert "Capturing the baselines from this run" in report  # a page loaded in the window polls too
    db.session.execute(sa.update(AutomationRun).where(AutomationRun.trigger_run_id.is_(None),
                                                      AutomationRun.connection_id == conn.id).values(trigger_run_id=deals.id))
    db.session.commit()  # the values after the run are recorded: still capturing
    assert "Capturing the baselines from this run" in owner.hx_get(url).get_data(as_text=True)
    assert readiness.capture_from_first_sync(conn, None) == ["open_pipeline"]
    db.session.commit()
    settled = owner.hx_get(url)
    assert "runSettled" in settled.headers.get("HX-Trigger", "") and 'hx-trigger="every 1s"' not in settled.get_data(as_text=True)
    # an old run whose capture never came (a failed subscriber) stops polling after a minute, as before
    db.session.execute(sa.delete(MetricBaseline).where(MetricBaseline.connection_id == conn.id))
    deals = db.session.get(IntegrationSyncRun, deals.id)
    deals.finished_at = utcnow().replace(year=utcnow().year - 1)
    db.session.commit()
    assert "runSettled" in owner.hx_get(url).headers.get("HX-Trigger", "")
