"""The client portal: strictly per client, read-only, and free of provider jargon, ids and raw data."""
from __future__ import annotations

import csv
import io
import re

import pytest
import requests
import sqlalchemy as sa

from console.extensions import db
from console.models import CrmLead, IntegrationSyncError, IntegrationSyncRun
from console.models.base import utcnow
from console.sandbox.schema import PIPELINES

from .. import factories
from ..reporting import synced_connection


def _portal_routes(app):
    return [r for r in app.url_map.iter_rules() if r.rule.startswith("/portal")]


def _fill(rule, ids: dict) -> str:
    return re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(ids[m.group(1)]), rule.rule)


@pytest.fixture
def two_clients(app, sandbox):
    a, b = factories.client("Alpha Dental"), factories.client("Beta Legal")
    conn_a, _ = synced_connection(sandbox, a)
    conn_b, _ = synced_connection(sandbox, b)
    hidden_a = factories.connection(a, visible=False, name="Alpha internal feed")
    db.session.commit()
    return {"a": a, "b": b, "conn_a": conn_a, "conn_b": conn_b, "hidden_a": hidden_a}


def test_every_portal_route_is_get_only_and_client_only(app):
    """Read-only by construction: nothing under /portal accepts a write."""
    for rule in _portal_routes(app):
        assert rule.methods - {"GET", "HEAD", "OPTIONS"} == set(), rule.rule
        assert app.view_functions[rule.endpoint].allowed_roles == {"client"}, rule.rule


def test_client_sees_own_cards_and_every_route_of_client_b_is_404(app, login, two_clients):
    w = two_clients
    browser = login("client", w["a"])
    checked = 0
    for rule in _portal_routes(app):
        own = {"connection_id": w["conn_a"].id, "metric_key": "lead_owner"}
        resp = browser.get(_fill(rule, own))
        assert resp.status_code == 200, (rule.rule, resp.status_code)
        if "connection_id" in rule.arguments:
            for other in (w["conn_b"].id, w["hidden_a"].id, 999_999):
                resp = browser.get(_fill(rule, {**own, "connection_id": other}))
                assert resp.status_code == 404, (rule.rule, other, resp.status_code)
                checked += 1
    assert checked >= 9  # connection page, chart and export, each for B, a hidden one and a missing one
    page = browser.get(f"/portal/connections/{w['conn_a'].id}").get_data(as_text=True)
    for title in ("Open pipeline", "Leads with an owner", "Leads with a next step booked", "Leads with a known source"):
        assert title in page
    index = browser.get("/portal/").get_data(as_text=True)
    assert w["conn_a"].name in index and w["conn_b"].name not in index and "Alpha internal feed" not in index


def test_unknown_metric_chart_is_404(login, two_clients):
    browser = login("client", two_clients["a"])
    assert browser.get(f"/portal/connections/{two_clients['conn_a'].id}/charts/secret.svg").status_code == 404


def test_chart_is_server_side_svg(login, two_clients):
    browser = login("client", two_clients["a"])
    resp = browser.get(f"/portal/connections/{two_clients['conn_a'].id}/charts/open_pipeline.svg")
    assert resp.mimetype == "image/svg+xml"
    svg = resp.get_data(as_text=True)
    assert "<polyline" in svg and "<script" not in svg
    assert "CAD" in svg  # the axis is labelled in the base currency


def _leaky_strings(conn, sandbox) -> set[str]:
    """What must never reach a client: sensitive values, provider property names and option values (read
    from the provider's own catalogue), raw payload keys, provider ids and internal error text."""
    leads = db.session.scalars(sa.select(CrmLead).where(CrmLead.connection_id == conn.id)).all()
    values = {lead.phone for lead in leads if lead.phone} | {lead.email for lead in leads if lead.email}
    values |= {lead.external_id for lead in leads if len(lead.external_id) >= 5}
    values |= {lead.owner_external_id for lead in leads if lead.owner_external_id}
    jargon = {"properties", "createdAt", "updatedAt", "objectId", "propertyName", "62515"}
    for object_type in ("contacts", "deals"):
        catalogue = requests.get(f"{sandbox.url}/crm/v3/properties/{object_type}",
                                 headers={"Authorization": f"Bearer {sandbox.token}"}, timeout=5).json()["results"]
        for prop in catalogue:
            if "_" in prop["name"] or prop["name"].startswith(("hs", "hubspot")) or prop["name"].endswith("stage"):
                jargon.add(prop["name"])
            jargon |= {o["value"] for o in prop.get("options", []) if "_" in o["value"] or o["value"].isupper()}
    jargon |= {stage_id for _, stages in PIPELINES.values() for stage_id, *_ in stages}
    jargon -= {"OPEN", "NEW", "CAD", "USD"}  # plain words and currency codes a client may read
    return values | jargon | {"Traceback", "KeyError: tok", "internal-secret-detail"}


def test_no_sensitive_value_provider_jargon_or_error_text_reaches_the_client(app, login, two_clients, sandbox):
    conn = two_clients["conn_a"]
    run = db.session.scalar(sa.select(IntegrationSyncRun).where(IntegrationSyncRun.connection_id == conn.id))
    run.error_message = "Internal error: KeyError: tok internal-secret-detail"
    db.session.add(IntegrationSyncError(connection_id=conn.id, object_type="contacts", external_id="4242424",
                                        stage="map", code="invalid_email", message="internal-secret-detail"))
    db.session.commit()
    # A signed integration design, from an intake holding secrets, ids and a sample: its portal copy too.
    owner = login("admin")
    for key, text in (("api_auth", "token pat-na1-11112222-3333-4444-5555-666677778888"),
                      ("instance_ids", "Production portal 62515"), ("matching", "Contacts on email.")):
        owner.hx_post(f"/connections/{conn.id}/intake/answers/{key}", {key: text})
    assert owner.post(f"/connections/{conn.id}/design/versions").status_code == 303
    owner.post(f"/connections/{conn.id}/design/versions/1/sign-off",
               {"by": "Dana", "how": "call", "at": utcnow().strftime("%Y-%m-%d")})
    leaky = _leaky_strings(conn, sandbox) | {"pat-na1-11112222-3333-4444-5555-666677778888"}
    assert len(leaky) > 100  # the check means something: real phones, emails and property names
    browser = login("client", two_clients["a"])
    design_page = browser.get(f"/portal/connections/{conn.id}/design").get_data(as_text=True)
    assert "Version 1, signed off by Dana" in design_page and "Contacts on email." in design_page
    bodies = {url: browser.get(url).get_data(as_text=True) for url in (
        "/portal/", f"/portal/connections/{conn.id}", f"/portal/connections/{conn.id}/export.csv",
        f"/portal/connections/{conn.id}/design",
        *(f"/portal/connections/{conn.id}/charts/{k}.svg"
          for k in ("open_pipeline", "lead_owner", "follow_up", "source_attribution")))}
    for url, body in bodies.items():
        found = sorted(s for s in leaky if s in body)
        assert found == [], f"{url} leaks {found[:10]}"


def test_csv_export_has_one_row_per_card_and_neutralises_formulas(app, login, two_clients):
    conn = two_clients["conn_a"]
    conn.name = "=HYPERLINK(\"http://evil.example.com\")"
    db.session.commit()
    browser = login("client", two_clients["a"])
    resp = browser.get(f"/portal/connections/{conn.id}/export.csv")
    assert resp.mimetype == "text/csv" and "attachment" in resp.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(resp.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:3] == ["Connection", "Metric", "Source"] and rows[0][-2:] == ["Breakdown", "Count"]
    cards = [r for r in rows[1:] if not r[12]]
    assert len(cards) == 4
    assert all(r[0].startswith("'=") for r in rows[1:])  # the formula is text, not a formula
    # every line of every card's breakdown is there, not only the first eight the page shows
    from console.metrics.cards import build_cards

    built = build_cards(conn)
    expected = sorted((c.metric.title, str(row["label"]), str(row["count"])) for c in built for row in c.rows)
    assert max(len(c.rows) for c in built) > 8  # a card the page cuts at eight ("and N more in the export")
    assert sorted((r[1], r[12], r[13]) for r in rows[1:] if r[12]) == expected
    assert all(not r[8].startswith("'") for r in cards)  # a change is a plain signed number
    metrics = {r[1]: r for r in cards}
    assert metrics["Leads with an owner"][2] == "CRM" and metrics["Leads with an owner"][4] == "%"
    assert metrics["Open pipeline"][4] == "CAD"


def test_stale_data_is_said(app, login, two_clients):
    from datetime import timedelta

    from console.models import IntegrationSyncJob

    conn = two_clients["conn_a"]
    for job in db.session.scalars(sa.select(IntegrationSyncJob).where(IntegrationSyncJob.connection_id == conn.id)):
        job.last_success_at = utcnow() - timedelta(seconds=job.schedule_seconds * conn.stale_multiple + 60)
    db.session.commit()
    page = login("client", two_clients["a"]).get(f"/portal/connections/{conn.id}").get_data(as_text=True)
    assert "Data is stale" in page
    assert page.count('data-status="stale"') == 4


def test_published_notes_only(app, login, two_clients):
    from console.metrics import notes

    conn = two_clients["conn_a"]
    owner = factories.user("owner")
    draft = notes.create(conn, owner, "Draft title", "not for the client yet")
    shown = notes.create(conn, owner, "October review", "Follow-ups are <b>back</b> on track.")
    notes.publish(shown, owner)
    gone = notes.create(conn, owner, "Withdrawn title", "withdrawn body")
    notes.publish(gone, owner)
    notes.withdraw(gone, owner)
    page = login("client", two_clients["a"]).get(f"/portal/connections/{conn.id}").get_data(as_text=True)
    assert "October review" in page and "&lt;b&gt;back&lt;/b&gt;" in page  # escaped, never raw HTML
    assert draft.title not in page and "Withdrawn title" not in page


def test_client_can_still_change_own_password_and_sign_out(login, two_clients):
    browser = login("client", two_clients["a"])
    assert browser.get("/account/password").status_code == 200
    assert browser.post("/logout").status_code == 303
