"""The console's small words are true (issue 32, item 6): ops land on the dashboard, a live connection's
saved jobs are not told they wait for go-live, the intake's alert address is used, a suggestion's score
says what it is."""
from __future__ import annotations

import re

from console.extensions import db
from console.sync.inbound.runner import ensure_job

from .. import factories
from ..conftest import sign_in


def test_ops_land_on_the_dashboard_and_others_where_they_work(app):
    for role, home in (("ops", "/ops/"), ("owner", "/connections"), ("admin", "/connections")):
        user = factories.user(role)
        db.session.commit()
        resp = sign_in(app.test_client(), user.email, factories.PASSWORD)
        assert resp.status_code == 303 and resp.headers["Location"] == home, role


def test_a_live_connection_is_not_told_its_jobs_wait_for_go_live(login):
    owner = login("owner")
    form = {"contacts": "y", "contacts_minutes": "15", "companies_minutes": "60", "deals_minutes": "15",
            "contacts_direction": "in", "companies_direction": "in", "deals_direction": "in"}
    for live, words in ((False, "Nothing syncs on schedule until the connection goes live."),
                        (True, "Sync jobs saved; they run on their schedules.")):
        conn = factories.connection(factories.client(), owner_user_id=owner.user.id, live=live)
        ensure_job(conn, "contacts")
        db.session.commit()
        page = owner.hx_post(f"/connections/{conn.id}/wizard/mapping/jobs", form).get_data(as_text=True)
        assert words in page and ("until the connection goes live" in page) is not live


def test_the_intakes_alert_address_is_offered_on_the_monitor_step(login):
    owner = login("owner")
    conn = factories.connection(factories.client(), owner_user_id=owner.user.id)
    db.session.commit()
    owner.hx_post(f"/connections/{conn.id}/intake/answers/alert_channels",
                  {"alert_channels": "Email to alerts@harbour.example and pat@harbour.example"})
    owner.hx_post(f"/connections/{conn.id}/intake/answers/stakeholders",
                  {"stakeholders": "Technical owner: Sam Lee, sam@harbour.example"})
    page = owner.get(f"/connections/{conn.id}/wizard/monitor").get_data(as_text=True)
    target = re.search(r'name="target"[^>]*value="([^"]*)"', page).group(1)
    assert target == f"{owner.user.email.lower()}, alerts@harbour.example, pat@harbour.example"
    assert "where alerts go" in page
