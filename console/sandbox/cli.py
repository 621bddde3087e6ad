"""`flask sandbox run` and `flask sandbox change`."""
from __future__ import annotations

import gc
import json

import click
import requests

from .faults import parse_rule
from .ratelimit import TIERS
from .salesforce.cli import salesforce_command
from .schema import PROPERTIES
from .state import SandboxConfig


@click.group("sandbox")
def sandbox_group() -> None:
    """The local HubSpot-compatible API server."""


sandbox_group.add_command(salesforce_command)


@sandbox_group.command("run")
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=8765, type=int)
@click.option("--contacts", default=500, type=int)
@click.option("--deals", default=200, type=int)
@click.option("--companies", default=None, type=int)
@click.option("--products", default=8, type=click.IntRange(0, 10_000))
@click.option("--tickets", default=None, type=click.IntRange(0, 1_000_000), help="Default: a tenth of the contacts.")
@click.option("--bookings", default=200, type=click.IntRange(0, 1_000_000), help="The custom object's records.")
@click.option("--seed", default=42, type=int)
@click.option("--token", help="Private-app token to honour (default: generated and printed).")
@click.option("--no-limits", is_flag=True, help="Turn HubSpot's rate limits off.")
@click.option("--tier", default="starter", type=click.Choice(sorted(set(TIERS) - {"oauth"})))
@click.option("--fault", "faults", multiple=True, help="kind[:rate[:endpoint[:count]]], e.g. 429:0.1")
@click.option("--webhook-url", help="Deliver webhook events (contacts and deals) to this URL.")
@click.option("--webhook-version", default="v3", type=click.Choice(["v1", "v2", "v3"]))
@click.option("--search-lag", default="0s", help="Search sees each change after a random delay up to this, e.g. 3s.")
@click.option("--window", "window_s", default=10.0, type=click.FloatRange(0.5, 60),
              help="The rolling window's length in seconds (HubSpot's is 10; a benchmark may shorten it).")
@click.option("--portals", default=1, type=click.IntRange(1, 200),
              help="How many portals to serve, each with its own data and private-app token.")
@click.option("--spread-ties", is_flag=True,
              help="Give the records the seed clamps to its newest instant distinct times (for peers that page by time).")
def run(host, port, contacts, deals, companies, products, tickets, bookings, seed, token, no_limits, tier, faults, webhook_url,
        webhook_version, search_lag, portals, spread_ties, window_s) -> None:
    """Serve the sandbox until interrupted."""
    from .server import SandboxServer

    try:
        rules = tuple(parse_rule(f) for f in faults)
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="--fault") from err
    config = SandboxConfig(contacts=contacts, deals=deals, companies=companies, products=products, tickets=tickets,
                           bookings=bookings, seed=seed, token=token,
                           limits=not no_limits, tier=tier, faults=rules, search_lag_ms=_duration_ms(search_lag),
                           extra_portals=portals - 1, spread_ties=spread_ties, window_ms=int(window_s * 1000))
    server = SandboxServer(config, host, port)
    st = server.state
    # The seeded portal is hundreds of thousands of long-lived objects: out of the collector's sight, a
    # full collection no longer walks them all (it paused a reply for over half a second at 100k contacts).
    gc.collect()
    gc.freeze()
    st.webhooks.config.url, st.webhooks.config.version = webhook_url, webhook_version
    click.echo(f"HubSpot sandbox on {server.url}  (portal {st.portal.portal_id}, seed {seed})")
    click.echo(f"private-app token: {st.auth.private_token}")
    for extra_token, portal_id in st.auth.portal_tokens.items():
        click.echo(f"portal {portal_id}:      private-app token {extra_token}")
    click.echo(f"OAuth client id:   {st.auth.oauth_app.client_id}")
    click.echo(f"OAuth secret:      {st.auth.oauth_app.client_secret}  (also the webhook signing secret)")
    click.echo(f"rate limits:       {'off' if no_limits else f'{tier}, a {window_s:g} s window'}")
    if config.search_lag_ms:
        click.echo(f"search lag:        up to {config.search_lag_ms} ms per change")
    if webhook_url:
        click.echo(f"webhooks:          {webhook_url} (signature {webhook_version})")
    try:
        server._server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


def _duration_ms(text: str) -> int:
    """'3s', '250ms', '2m' or a plain number of seconds, as milliseconds."""
    value = text.strip().lower()
    try:
        for suffix, scale in (("ms", 1), ("s", 1000), ("m", 60_000)):
            if value.endswith(suffix):
                return int(float(value[: -len(suffix)]) * scale)
        return int(float(value) * 1000)
    except ValueError as err:
        raise click.BadParameter(f"{text!r} is not a duration such as 3s or 250ms", param_hint="--search-lag") from err


@sandbox_group.command("change")
@click.option("--url", default="http://127.0.0.1:8765")
@click.option("--object", "object_type", default="contacts", type=click.Choice(sorted(PROPERTIES)))
@click.option("--update", default=0, type=int)
@click.option("--create", default=0, type=int)
@click.option("--archive", default=0, type=int)
@click.option("--same-timestamp", is_flag=True, help="Give every change one modification time.")
def change(url, object_type, update, create, archive, same_timestamp) -> None:
    """Ask a running sandbox to change records."""
    resp = requests.post(f"{url}/_sandbox/changes", json={
        "object_type": object_type, "update": update, "create": create, "archive": archive,
        "same_timestamp": same_timestamp}, timeout=60)
    if resp.status_code != 200:
        raise click.ClickException(resp.json().get("message", resp.text))
    touched = resp.json()
    click.echo(json.dumps({k: len(v) for k, v in touched.items()}))


@sandbox_group.command("schema")
@click.argument("action", type=click.Choice(["rename", "delete", "retype", "remove_option", "read_only"]))
@click.argument("name")
@click.argument("value", required=False)
@click.option("--url", default="http://127.0.0.1:8765")
@click.option("--object", "object_type", default="contacts", type=click.Choice(["contacts", "companies", "deals"]))
def schema(action, name, value, url, object_type) -> None:
    """Change a running sandbox's schema as a HubSpot admin would: `schema delete lastname`, `schema retype
    amount string --object deals`, `schema remove_option hs_lead_status NEW`, `schema rename city Town`."""
    resp = requests.post(f"{url}/_sandbox/schema", json={"object_type": object_type, "action": action, "name": name,
                                                        "value": value}, timeout=30)
    if resp.status_code != 200:
        raise click.ClickException(resp.json().get("message", resp.text))
    click.echo(json.dumps(resp.json()))
