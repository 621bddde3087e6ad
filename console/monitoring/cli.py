"""`flask monitoring rebuild-hours`: sum every finished run into its connection's hour again."""
from __future__ import annotations

import click
from flask.cli import with_appcontext

from ..extensions import db
from ..sync.runs import hourly


@click.group("monitoring")
def monitoring_group() -> None:
    """The ops dashboard's and the alert pass's rollups."""


@monitoring_group.command("rebuild-hours")
@with_appcontext
def rebuild_hours_command() -> None:
    """Sum the stored runs into their hours again (after a restore, or runs written around the console);
    the freshness already summed is kept."""
    hours = hourly.rebuild()
    db.session.commit()
    click.echo(f"{hours:,} connection hours summed again from the stored runs.")
