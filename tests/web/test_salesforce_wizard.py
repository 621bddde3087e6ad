"""A Salesforce connection through the wizard's own pages (issue 38, item 5): the access step offers
OAuth only with Salesforce's scopes, the account step takes an org id (15 characters, as Setup shows it),
the web-server flow against the Salesforce sandbox stores the tokens, the check names the org, the
mapping step defaults to Salesforce's fields, a test batch reads contacts, and a field can only be
inbound. Nothing on these pages speaks of HubSpot."""
from __future__ import annotations

import re

import requests
import sqlalchemy as sa

from console.extensions import db
from console.models import CrmLead, IntegrationFieldMapping
from console.reference import ensure_providers
from console.sandbox.salesforce import OrgConfig, SalesforceSandbox

from .. import factories
from ..wizard_flow import jobs, passing_test_batch


def test_a_salesforce_org_is_connected_checked_mapped_and_test_read_through_the_wizard(login):
    with SalesforceSandbox(OrgConfig(contacts=300, seed=8)) as sf:
        org = sf.org
        owner = login("owner")
        client = factories.client("Maple Dental")
        provider = ensure_providers()["salesforce"]
        db.session.commit()
        made = owner.hx_post("/connections/new", {"client_id": client.id, "provider_id": provider.id, "name": "Maple SF",
                                                  "environment": "sandbox", "owner_id": owner.user.id, "reason": "Leads"})
        assert made.status_code == 204
        conn_id = int(made.headers["HX-Redirect"].split("/")[2])
        base = f"/connections/{conn_id}/wizard"

        access_page = owner.get(f"{base}/access").get_data(as_text=True)
        assert 'value="oauth"' in access_page and 'value="private_app"' not in access_page
        assert "api refresh_token" in access_page
        saved = owner.hx_post(f"{base}/access", {"owner_id": owner.user.id, "auth_type": "oauth", "scopes": "api refresh_token",
                                                 "docs_url": "https://developer.salesforce.com/docs/",
                                                 "revocation_path": "Revoke the connected app's session in Setup."})
        assert saved.status_code == 200

        page = owner.get(f"{base}/connection").get_data(as_text=True)
        main = page[page.index("<main"):page.index("</main>")]
        assert "Salesforce org id" in main and "<h3>Webhooks</h3>" not in main
        assert "HubSpot" not in main, re.findall(r".{80}HubSpot.{80}", main, re.S)
        wrong = owner.hx_post(f"{base}/connection/account", {"portal_id": "62515", "environment": "sandbox",
                                                             "base_url": sf.url, "oauth_client_id": org.client_id})
        assert wrong.status_code == 422 and "not a Salesforce org id" in wrong.get_data(as_text=True)
        owner.hx_post(f"{base}/connection/account", {"portal_id": org.config.org_id[:15], "environment": "sandbox",
                                                     "base_url": sf.url, "oauth_client_id": org.client_id})
        owner.hx_post(f"{base}/connection/oauth-secret", {"client_secret": org.client_secret})
        start = owner.get(f"{base}/connection/oauth")
        assert start.status_code == 303 and start.headers["Location"].startswith(f"{sf.url}/services/oauth2/authorize?")
        back = requests.get(start.headers["Location"], allow_redirects=False, timeout=5).headers["Location"]
        done = owner.get(back[back.index("/connections/"):])
        assert done.status_code == 303 and "oauth=connected" in done.headers["Location"]
        check = owner.hx_post(f"{base}/connection/check").get_data(as_text=True)
        assert f"Connected to org {org.config.org_id}" in check and "Connect with Salesforce" in check

        assert jobs(owner, factories_conn(conn_id), "contacts", "deals").status_code == 200
        mapped = {r.target_field: r.source_field for r in db.session.scalars(sa.select(IntegrationFieldMapping).where(
            IntegrationFieldMapping.connection_id == conn_id, IntegrationFieldMapping.object_type == "contacts"))}
        assert mapped["email"] == "Email" and mapped["provider_updated_at"] == "SystemModstamp"
        mapping = owner.get(f"{base}/mapping").get_data(as_text=True)
        assert "Closed Won" in mapping and "Web" in mapping  # stages and lead sources, read from the org
        both = owner.hx_post(f"{base}/mapping/contacts/first_name", {"source": "FirstName", "transform": "trim",
                                                                     "direction": "both", "system_of_record": "console"})
        assert both.status_code == 422 and "does not write to this CRM yet" in both.get_data(as_text=True)

        run = passing_test_batch(owner, factories_conn(conn_id), "contacts", 50)
        assert run.status == "succeeded" and run.seen == 50 and run.failed == 0, run.error_message
        assert db.session.scalar(sa.select(sa.func.count()).select_from(CrmLead).where(CrmLead.connection_id == conn_id)) == 0


def factories_conn(conn_id: int):
    from console.models import IntegrationConnection

    return db.session.get(IntegrationConnection, conn_id)


def test_the_check_reads_the_scopes_the_org_grants_and_names_a_missing_one(app):
    """Salesforce states granted scopes only in its token answers: the check mints a session to read them,
    so an org whose connected app lacks refresh_token fails the check, by name."""
    from console.wizard.credentials import check_connection

    with SalesforceSandbox(OrgConfig(contacts=20, seed=3, scopes="api")) as sf:
        conn = factories.salesforce_connection(sf)
        conn.account.required_scopes = "api refresh_token"
        owner = factories.user("owner")
        db.session.commit()
        result = check_connection(conn, owner)
        assert not result.ok and result.missing == ("refresh_token",) and result.granted == ("api",)
        sf.org.config.scopes = "api refresh_token"
        assert check_connection(conn, owner).ok
