"""The README's "A client on Salesforce" steps, as an owner's browser sends them (HTMX), on the demo data set
against a Salesforce sandbox org configured as `demo --serve` starts it: Harbour Physio's draft goes from
access to live through the same gate as HubSpot's, and its client user then sees its cards."""
from __future__ import annotations

import json

import requests
import sqlalchemy as sa

from console.extensions import db
from console.models import IntegrationConnection, User
from console.sandbox.salesforce import OrgConfig, SalesforceSandbox

from ..conftest import Browser, sign_in
from ..wizard_flow import jobs, monitor, run_queued_test_batches


def demo_browser(app, facts: dict, email: str) -> Browser:
    password = next(x["password"] for x in facts["logins"] if x["email"] == email)
    http = app.test_client()
    assert sign_in(http, email, password).status_code == 303
    return Browser(http, db.session.scalar(sa.select(User).where(User.email == email)))


def test_the_demo_salesforce_client_goes_live_as_the_readme_says(app, runner):
    result = runner.invoke(args=["demo", "--json"])
    facts = json.loads(result.output[result.output.index("{"):])
    sf_facts = facts["salesforce"]
    with SalesforceSandbox(OrgConfig(contacts=300, seed=42, client_id=sf_facts["client_id"],
                                     client_secret=sf_facts["client_secret"])) as sf:
        owner = demo_browser(app, facts, "owner@demo.example.com")
        conn = db.session.get(IntegrationConnection, sf_facts["draft_connection_id"])
        base = f"/connections/{conn.id}/wizard"
        assert conn.name == "Harbour Physio CRM" and conn.provider.key == "salesforce"

        # 1. Access: OAuth 2.0 with Salesforce's scopes, already chosen.
        page = owner.get(f"{base}/access").get_data(as_text=True)
        assert "api refresh_token" in page and 'value="private_app"' not in page
        saved = owner.hx_post(f"{base}/access", {"owner_id": owner.user.id, "auth_type": "oauth", "scopes": "api refresh_token",
                                                 "docs_url": "https://developer.salesforce.com/docs/",
                                                 "revocation_path": "Revoke the connected app's sessions in Setup."})
        assert saved.status_code == 200
        owner.hx_post(f"/connections/{conn.id}/checklist/account_access", {"done": "1"})

        # 2. Connection: the org id as Setup shows it, the base URL, the connected app; connect; check.
        owner.hx_post(f"{base}/connection/account", {"portal_id": sf_facts["org_id"], "environment": "sandbox",
                                                     "base_url": sf.url, "oauth_client_id": sf_facts["client_id"]})
        owner.hx_post(f"{base}/connection/oauth-secret", {"client_secret": sf_facts["client_secret"]})
        start = owner.get(f"{base}/connection/oauth")
        back = requests.get(start.headers["Location"], allow_redirects=False, timeout=5).headers["Location"]
        assert owner.get(back[back.index("/connections/"):]).status_code == 303
        check = owner.hx_post(f"{base}/connection/check").get_data(as_text=True)
        assert f"Connected to org {sf_facts['org_id']}MAA with every required scope" in check

        # 3. Mapping: contacts and deals, Salesforce's fields by default; confirm.
        assert jobs(owner, conn, "contacts", "deals").status_code == 200
        mapping = owner.get(f"{base}/mapping").get_data(as_text=True)
        assert "StageName" in mapping and "LeadSource" in mapping
        assert owner.hx_post(f"{base}/mapping/confirm").status_code == 200

        # 4. Test: one batch each, both pass; reviewed.
        assert owner.hx_post(f"{base}/test", {"object_type": "__all__", "size": 25}).status_code == 200
        run_queued_test_batches()
        owner.hx_post(f"/connections/{conn.id}/checklist/test_results_reviewed", {"done": "1"})

        # 5. Report: the first complete sync captures both baselines at once (every email is valid).
        assert owner.hx_post(f"{base}/first-sync", {}).status_code == 200
        run_queued_test_batches()
        owner.get(f"{base}/report")
        owner.hx_post(f"{base}/report", {"explanation": "Your Salesforce contacts and opportunities, copied every minute.",
                                         "next_action": "Review the open pipeline at the monthly meeting."})

        # 6. Monitor, then go live.
        assert monitor(owner, conn).status_code == 200
        live = owner.hx_post(f"/connections/{conn.id}/go-live")
        assert live.status_code == 200, live.get_data(as_text=True)
        db.session.refresh(conn)
        assert conn.status == "live"

        # Harbour Physio's client user sees its cards.
        client = demo_browser(app, facts, "client@harbourphysio.example.com")
        portal = client.get("/portal/")
        assert portal.status_code == 200 and "Harbour Physio" in portal.get_data(as_text=True)
