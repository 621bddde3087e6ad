"""The integration design: generated from the intake and the live configuration, its open questions,
versions and the client's sign-off, the gate's "changed since sign-off", the printable copy and the
client-safe portal view."""
from __future__ import annotations

import io
import re

import sqlalchemy as sa

from console.extensions import db
from console.intake_questions import QUESTIONS
from console.mapping.service import ensure_default_mappings
from console.models import DesignVersion, EventAdminAction, IntegrationFieldMapping
from console.models.base import utcnow
from console.sync.inbound.runner import ensure_job
from console.wizard import design

from .. import factories
from ..conftest import count

TODAY = utcnow().strftime("%Y-%m-%d")  # a sign-off may not come before its version (saved today)
TOKEN = "pat-na1-0f3b9c1e-7d2a-4e5b-9a61-3c8d2e7f1a4b"
ANSWERS = {q: f"Answer to {q}." for q in QUESTIONS} | {
    "topology_flows": "Members: SourceApp to HubSpot Contacts (one-way).",
    "matching": "Contacts on email, fallback external_id.",
    "api_auth": f"Private app token {TOKEN}",
    "instance_ids": "Production portal 62515",
    "sla": "Reflected within 5 minutes 99% of the time.",
}


def _connection(owner, live=False):
    conn = factories.connection(factories.client("Harbour Physio"), owner_user_id=owner.id, live=live)
    job = ensure_job(conn, "contacts", enabled=True)
    job.schedule_seconds = 600
    db.session.commit()
    ensure_default_mappings(conn.id, "contacts", [])
    return conn


def _fill(browser, conn, answers):
    for key, text in answers.items():
        assert browser.hx_post(f"/connections/{conn.id}/intake/answers/{key}", {key: text}).status_code == 200


def test_a_full_intake_makes_a_design_with_no_open_question(login):
    owner = login("owner")
    conn = _connection(owner.user)
    _fill(owner, conn, {**ANSWERS, "never_leave": "phone"})
    doc = design.document(conn)
    by_key = {s["key"]: s for s in doc["sections"]}
    assert "Contacts: HubSpot CRM to the console (one-way), every 10 minutes, after companies." in by_key["topology"]["lines"]
    assert any("Members: SourceApp to HubSpot Contacts (one-way)." in line for line in by_key["topology"]["lines"])
    table = by_key["mapping"]["tables"][0]
    rows = {r[0]: r for r in table["rows"]}
    assert rows["email"][1:3] == ["email", "email"] and "not valid holds the record" in rows["email"][3]
    assert "phone" not in rows  # withheld: not in the mapping the design promises
    assert "Never leaves your system: phone (never requested, stored, logged or archived)." in by_key["compliance"]["lines"]
    # One truth (issue 32): the intake's SLA is what the console enforces, stated once, saying where it is from.
    sla = [line for line in by_key["slas"]["lines"] if "5 minutes" in line or "Freshness" in line]
    assert sla == ["Freshness: changes reflected within 5 minutes, 99% of the time (the intake's SLA, which replaces "
                   "the console's default)."]
    db.session.refresh(conn)
    assert (conn.freshness_target_seconds, conn.freshness_objective_pct) == (300, 99)
    assert doc["open_questions"] == []
    page = owner.get(f"/connections/{conn.id}/design").get_data(as_text=True)
    assert "None: every question the design depends on is answered." in page
    assert TOKEN not in page  # even staff read answers with token-like strings masked


def test_an_empty_intake_lists_its_open_questions(login):
    owner = login("owner")
    conn = _connection(owner.user)
    doc = design.document(conn)
    expected = [q.prompt for q in QUESTIONS.values() if q.feeds]
    assert [q["prompt"] for q in doc["open_questions"]] == expected and len(expected) >= 12
    page = owner.get(f"/connections/{conn.id}/design").get_data(as_text=True)
    listed = re.search(r'id="design-open-questions">(.*?)</section>', page, re.S).group(1)
    assert listed.count("<li>") == len(expected)
    printed = owner.get(f"/connections/{conn.id}/design/print")
    assert printed.status_code == 200 and 'class="topbar"' not in printed.get_data(as_text=True)
    assert "Draft: not a saved version." in printed.get_data(as_text=True)


def test_versions_sign_off_and_the_gate_sees_a_changed_configuration(login):
    owner = login("owner")
    conn = _connection(owner.user)
    _fill(owner, conn, {"topology_flows": "Contacts one-way."})
    url = f"/connections/{conn.id}/design"
    assert owner.post(f"{url}/versions").status_code == 303
    again = owner.hx_post(f"{url}/versions")
    assert again.status_code == 422 and "Nothing changed since version 1." in again.get_data(as_text=True)
    gate = owner.hx_get(f"/connections/{conn.id}/wizard/golive").get_data(as_text=True)
    assert "no version signed off by the client yet" in gate

    sign = f"{url}/versions/1/sign-off"
    resp = owner.hx_post(sign, {"by": "", "how": "email", "at": TODAY})
    assert resp.status_code == 422 and "This field is required." in resp.get_data(as_text=True)
    resp = owner.hx_post(sign, {"by": "Dana Roy", "how": "email", "at": "2999-01-01"})
    assert resp.status_code == 422 and "cannot be in the future" in resp.get_data(as_text=True)
    resp = owner.hx_post(sign, {"by": "Dana Roy", "how": "email", "at": "1900-01-01"})  # issue 32: before the version
    assert resp.status_code == 422 and "cannot come before version 1 was saved" in resp.get_data(as_text=True)
    assert owner.hx_post(sign, {"by": "Dana Roy", "how": "reply to the design email", "at": TODAY}).status_code == 200
    row = db.session.scalar(sa.select(DesignVersion))
    assert (row.signed_off_by, row.signed_off_how, row.sign_off_recorded_by_user_id) == (
        "Dana Roy", "reply to the design email", owner.user.id)
    assert owner.hx_post(sign, {"by": "Someone", "how": "x", "at": TODAY}).status_code == 422
    assert count(EventAdminAction, EventAdminAction.action == "design.signed_off") == 1
    gate = owner.hx_get(f"/connections/{conn.id}/wizard/golive").get_data(as_text=True)
    assert f"the configuration matches version 1, signed off by Dana Roy on {TODAY}" in gate

    # The mapping changes after sign-off: the gate and the design page say so, and by which part.
    rule = db.session.scalar(sa.select(IntegrationFieldMapping).where(IntegrationFieldMapping.target_field == "phone"))
    rule.transform = "trim"
    db.session.commit()
    gate = owner.hx_get(f"/connections/{conn.id}/wizard/golive").get_data(as_text=True)
    assert "changed since version 1 was signed off (Contacts mapping)" in gate
    page = owner.get(url).get_data(as_text=True)
    assert "The configuration changed since version 1 was signed off: Contacts mapping." in page
    assert owner.post(f"{url}/versions").status_code == 303  # version 2 describes the new mapping
    assert [v.number for v in design.versions(conn)] == [2, 1]
    printed = owner.get(f"{url}/versions/1").get_data(as_text=True)
    assert f"Signed off by Dana Roy on {TODAY} (reply to the design email)." in printed
    assert owner.get(f"{url}/versions/9").status_code == 404


def test_who_may_read_save_and_sign(login):
    owner = login("owner")
    conn = _connection(owner.user)
    ops, other, client_user = login("ops"), login("owner"), login("client", conn.client)
    assert ops.get(f"/connections/{conn.id}/design").status_code == 200
    for browser, code in ((ops, 403), (other, 403), (client_user, 404)):
        assert browser.post(f"/connections/{conn.id}/design/versions").status_code == code
    assert client_user.get(f"/connections/{conn.id}/design").status_code == 404
    assert count(DesignVersion) == 0


def test_the_portal_shows_the_signed_design_in_client_safe_words(login):
    owner = login("owner")
    conn = _connection(owner.user, live=True)
    _fill(owner, conn, ANSWERS)
    attached = owner.client.post(f"/connections/{conn.id}/intake/attachments", content_type="multipart/form-data",
                                 data={"file": (io.BytesIO(
                                     b"Tier,Code\n" + b"platinum-secret,A1\n" * 6), "tiers.csv")},
                                 headers={"HX-Request": "true", "X-CSRFToken": owner.token})
    assert attached.status_code == 200
    client_user = login("client", conn.client)
    portal = f"/portal/connections/{conn.id}/design"
    assert "No integration design has been signed off" in client_user.get(portal).get_data(as_text=True)
    # issue 32: no link to a design the client has not signed (it opened an empty page)
    assert 'id="portal-design-link"' not in client_user.get(f"/portal/connections/{conn.id}").get_data(as_text=True)
    owner.post(f"/connections/{conn.id}/design/versions")
    staff = owner.get(f"/connections/{conn.id}/design").get_data(as_text=True)
    assert f'href="/connections/{conn.id}/design/versions/1" id="design-print">Printable version 1 (not signed off yet)' in staff
    owner.post(f"/connections/{conn.id}/design/versions/1/sign-off", {"by": "Dana Roy", "how": "call", "at": TODAY})
    page = client_user.get(portal).get_data(as_text=True)
    assert f"Version 1, signed off by Dana Roy on {TODAY}." in page
    assert "checked as an email address" in page and "formatted as an international phone number" in page
    assert "phone_e164" not in page and "datetime_utc" not in page  # generic words, not transform codes
    for secret in (TOKEN, "Production portal 62515", "platinum-secret", "tiers.csv", "Answer to api_auth",
                   "Answer to access", "Answer to source_schema"):
        assert secret not in page, secret
    assert "Members: SourceApp to HubSpot Contacts (one-way)." in page  # the client's own words stay
    stranger = login("client", factories.client("Other"))
    assert stranger.get(portal).status_code == 404
    assert client_user.get(f"/portal/connections/{conn.id}").get_data(as_text=True).count('id="portal-design-link"') == 1


def test_one_truth_per_fact_and_intake_edits_after_sign_off_are_named(login):
    """Issue 32: the design states the freshness the console enforces once, saying where it comes from;
    it follows the intake's SLA until someone sets it on the monitor step; an intake answer changed after
    sign-off is named in the design and the gate."""
    owner = login("owner")
    conn = _connection(owner.user)
    _fill(owner, conn, {"sla": "Reflected within 10 minutes 97% of the time."})
    db.session.refresh(conn)
    assert (conn.freshness_target_seconds, conn.freshness_objective_pct) == (600, 97)

    def sla_lines() -> list[str]:
        lines = {s["key"]: s for s in design.document(conn)["sections"]}["slas"]["lines"]
        return [line for line in lines if "minutes" in line or "%" in line and "Freshness" in line]

    assert sla_lines() == ["Freshness: changes reflected within 10 minutes, 97% of the time (the intake's SLA, which "
                           "replaces the console's default)."]
    _fill(owner, conn, {"sla": "Reflected within 15 minutes 97% of the time."})  # it came from the intake: it follows
    db.session.refresh(conn)
    assert conn.freshness_target_seconds == 900
    conn.freshness_target_seconds = 120  # set on the monitor step: it stays, and the design says which holds
    db.session.commit()
    _fill(owner, conn, {"sla": "Reflected within 20 minutes 97% of the time."})
    db.session.refresh(conn)
    assert conn.freshness_target_seconds == 120
    assert sla_lines() == ["Freshness: changes reflected within 2 minutes, 97% of the time (set on the monitor step, "
                           "which holds over the intake's 20 minutes, 97%: change one so they agree)."]

    url = f"/connections/{conn.id}/design"
    assert owner.post(f"{url}/versions").status_code == 303
    assert owner.hx_post(f"{url}/versions/1/sign-off", {"by": "Dana Roy", "how": "call", "at": TODAY}).status_code == 200
    gate = owner.hx_get(f"/connections/{conn.id}/wizard/golive").get_data(as_text=True)
    assert "the configuration matches version 1" in gate
    _fill(owner, conn, {"topology_flows": "Contacts: SourceApp to HubSpot."})
    gate = owner.hx_get(f"/connections/{conn.id}/wizard/golive").get_data(as_text=True)
    assert "changed since version 1 was signed off (the intake&#39;s “Direction of flow, one line per object”)" in gate
    page = owner.get(url).get_data(as_text=True)
    assert "The configuration changed since version 1 was signed off: the intake&#39;s “Direction of flow" in page
