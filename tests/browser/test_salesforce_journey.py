"""The README's "Take the Salesforce client live", steps 1 to 3, in a real browser: Harbour Physio's draft gets
its access, its org and connected app, the OAuth consent through the Salesforce sandbox (the browser leaves
for the org and comes back), the check naming the org, and Salesforce's default mappings confirmed. The
steps after (test, report, monitor, go live) are the same pages as HubSpot's journey walks; their
Salesforce run is tests/web/test_salesforce_demo.py."""
from __future__ import annotations

import json
import re

from console.sandbox.salesforce import OrgConfig, SalesforceSandbox

from .conftest import screenshot, sign_in


def test_the_demo_salesforce_draft_connects_and_maps_as_the_readme_says(live_server, page, app, runner):
    result = runner.invoke(args=["demo", "--json"])
    facts = json.loads(result.output[result.output.index("{"):])
    sf_facts = facts["salesforce"]
    logins = {login["email"]: login["password"] for login in facts["logins"]}
    draft_id = sf_facts["draft_connection_id"]
    with SalesforceSandbox(OrgConfig(contacts=300, seed=42, client_id=sf_facts["client_id"],
                                     client_secret=sf_facts["client_secret"])) as sf:
        try:
            sign_in(page, live_server, "owner@demo.example.com", logins["owner@demo.example.com"])
            page.goto(f"{live_server}/connections")
            page.click("text=Harbour Physio CRM")
            page.wait_for_url(re.compile(r".*/wizard/access$"))

            # 1. Access: OAuth 2.0 and `api refresh_token` already; docs, revocation, the tick, Save and continue.
            assert page.locator("select[name=auth_type]").input_value() == "oauth"
            assert page.locator("input[name=scopes]").input_value() == "api refresh_token"
            page.fill("input[name=docs_url]", "https://developer.salesforce.com/docs/")
            page.fill("textarea[name=revocation_path]", "Revoke the connected app's sessions in Setup; tell Harbour.")
            page.click("#item-account_access button")
            page.wait_for_selector("#item-account_access.done")
            page.wait_for_selector(".htmx-request", state="detached")
            page.click("#access-continue")
            page.wait_for_url(re.compile(r".*/wizard/connection$"))

            # 2. Connection: the org id, the base URL, the connected app; its secret; connect; check.
            assert "Salesforce org id" in page.locator(f"#account-{draft_id}").inner_text()
            page.fill("input[name=portal_id]", sf_facts["org_id"])
            page.fill("input[name=base_url]", sf.url)
            page.fill("input[name=oauth_client_id]", sf_facts["client_id"])
            page.click(f"#account-{draft_id} button[type=submit]")
            page.wait_for_selector(f"#account-{draft_id} .flash-success")
            page.wait_for_selector(f"#credentials-{draft_id} input[name=client_secret]")
            page.fill("input[name=client_secret]", sf_facts["client_secret"])
            page.click(f"#credentials-{draft_id} button:has-text('Store secret')")
            page.wait_for_selector("#oauth-connect:has-text('Connect with Salesforce')")
            page.click("#oauth-connect")  # to the org's consent page, which approves and sends the browser back
            page.wait_for_url(re.compile(r".*/wizard/connection\?oauth=connected$"))
            page.click("#check-connection")
            page.wait_for_selector(f"#check-result:has-text('Connected to org {sf_facts['org_id']}MAA with every "
                                   "required scope')")
            assert sf_facts["client_secret"] not in page.content()
            assert "Webhooks" not in page.locator(f"#credentials-{draft_id}").inner_text()
            page.click("#continue-mapping")
            page.wait_for_url(re.compile(r".*/wizard/mapping$"))

            # 3. Mapping: contacts and deals, Save sync jobs: Salesforce's own fields; Confirm and continue.
            page.check("input[name=contacts]")
            page.check("input[name=deals]")
            page.click("#mapping-jobs button[type=submit]")
            page.wait_for_selector("#mapping-contacts")
            mapping = page.locator("#mapping-contacts").inner_text()
            assert "Email" in mapping and "SystemModstamp" in mapping and "LeadSource" in mapping
            page.click("#mapping-confirm button[type=submit], button:has-text('Confirm')")
            page.wait_for_selector(".htmx-request", state="detached")
            assert page.locator("#item-fields_mapped.done").count() == 1
            assert page.console_errors == []
        except Exception:
            screenshot(page, "/tmp/salesforce-journey-failure.png")
            raise
