"""The demo's Salesforce client: Harbour Physio, a draft connection to a local Salesforce sandbox org (its
connected app's consumer key fixed, its secret made once per instance), for a newcomer to take through the
wizard as the README says."""
from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

import click
from flask import current_app

from .choices import Role
from .models import IntegrationConnection

CLIENT = "Harbour Physio"
USER = ("client@harbourphysio.example.com", "Hana Harbour", Role.CLIENT, CLIENT)
PORT = 8767
CLIENT_ID = "3MVG9demo.connector.console"  # the demo org's connected app: fixed, so its prints stay true


def org_id() -> str:
    """The org id as Setup shows it (15 characters)."""
    from .sandbox.salesforce import OrgConfig

    return OrgConfig().org_id[:15]


def app_secret() -> str:
    """The demo org's connected-app secret, made once per instance (the demo's only, never real)."""
    path = Path(current_app.instance_path) / "demo-salesforce-secret"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return path.read_text().strip()


def facts(port: int, draft: IntegrationConnection) -> dict[str, Any]:
    return {"url": f"http://127.0.0.1:{port}", "org_id": org_id(), "client": CLIENT, "client_id": CLIENT_ID,
            "client_secret": app_secret(), "draft_connection_id": draft.id,
            "note": "the demo org's connected app; the sandbox approves its consent page at once"}


def start(port: int):
    """The local Salesforce org the demo's third client connects to."""
    from .sandbox.salesforce import OrgConfig, SalesforceSandbox

    try:
        server = SalesforceSandbox(OrgConfig(contacts=1500, seed=42, client_id=CLIENT_ID, client_secret=app_secret()),
                                   port=port)
    except OSError as err:
        raise click.ClickException(f"Cannot start the Salesforce sandbox on port {port}: {err}. "
                                   "Free the port or pass --salesforce-port.") from err
    click.echo(f"Salesforce sandbox: {server.url}  (org {org_id()}, for {CLIENT})")
    return server.start()


def printed(sf: dict) -> str:
    return (f"Salesforce sandbox {sf['url']}\n  org {sf['org_id']} ({sf['client']}): connected app client id "
            f"{sf['client_id']}, client secret {sf['client_secret']}")
