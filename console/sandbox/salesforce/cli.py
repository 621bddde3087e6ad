"""`flask sandbox salesforce`: serve a Salesforce org locally (the demo's second CRM, benchmarks)."""
from __future__ import annotations

import time
from pathlib import Path

import click


@click.command("salesforce")
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=8766, type=int)
@click.option("--contacts", default=500, type=click.IntRange(0, 2_000_000))
@click.option("--accounts", default=None, type=click.IntRange(0, 1_000_000), help="Default: a tenth of the contacts.")
@click.option("--leads", default=None, type=click.IntRange(0, 1_000_000), help="Default: a fifth of the contacts.")
@click.option("--seed", default=42, type=int)
@click.option("--daily-limit", default=100_000, type=click.IntRange(1, 10_000_000), help="The org's DailyApiRequests.")
@click.option("--client-id", help="The connected app's consumer key (default: generated and printed).")
@click.option("--client-secret", help="Its consumer secret (default: generated and printed).")
@click.option("--refresh-token", help="A refresh token to honour for the integration user (benchmarks, scripts).")
@click.option("--tls", "tls_folder", type=click.Path(file_okay=False, path_type=Path),
              help="Serve https with a certificate written here (its authority's file is printed).")
def salesforce_command(host, port, contacts, accounts, leads, seed, daily_limit, client_id, client_secret, refresh_token,
                       tls_folder) -> None:
    """Serve a local Salesforce-compatible org until interrupted."""
    from .server import SalesforceSandbox
    from .state import OrgConfig

    config = OrgConfig(contacts=contacts, accounts=accounts, leads=leads, seed=seed, daily_limit=daily_limit,
                       client_id=client_id, client_secret=client_secret)
    try:
        sandbox = SalesforceSandbox(config, host, port, tls=tls_folder)
    except OSError as err:
        raise click.ClickException(f"Cannot start the Salesforce sandbox on port {port}: {err}.") from err
    org = sandbox.org
    if refresh_token:
        org.refresh_tokens[refresh_token] = org.integration_user
    click.echo(f"Salesforce sandbox: {sandbox.url}  org {org.config.org_id}")
    click.echo(f"  connected app: client id {org.client_id}  secret {org.client_secret}")
    click.echo(f"  user {org.config.username}  password {org.config.password}")
    click.echo(f"  session for the integration user: {sandbox.token()}")
    if sandbox.certificate:
        click.echo(f"  trust {sandbox.certificate} (REQUESTS_CA_BUNDLE, or a client's verify=)")
    counts = ", ".join(f"{len(rows):,} {name}" for name, rows in org.records.items())
    click.echo(f"  holds {counts}")
    sandbox.start()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        sandbox.stop()
