"""`flask retention run [--dry-run]` (the nightly pass by hand) and `flask retention verify` (the
archive's files against its manifest)."""
from __future__ import annotations

import click
from flask.cli import with_appcontext

from .archive import verify
from .run import archive_dir, run


@click.group("retention")
def retention_group() -> None:
    """Archive and delete rows past their retention age."""


@retention_group.command("run")
@click.option("--dry-run", is_flag=True, help="Count what would be archived and deleted; change nothing.")
@with_appcontext
def run_command(dry_run: bool) -> None:
    """Archive, then delete, every table's rows past their age (a batch at a time)."""
    for o in run(dry_run=dry_run):
        if o.days is None:
            click.echo(f"{o.table:32} kept for ever")
        elif dry_run:
            click.echo(f"{o.table:32} older than {o.days} days (before {o.cutoff:%Y-%m-%d %H:%M} UTC): "
                       f"{o.due:,} rows would be archived and deleted")
        else:
            click.echo(f"{o.table:32} older than {o.days} days: {o.archived:,} archived in {o.files} file(s), "
                       f"{o.deleted:,} deleted")
    if not dry_run:
        click.echo(f"archive: {archive_dir()}")


@retention_group.command("verify")
@with_appcontext
def verify_command() -> None:
    """Check every archived file against the manifest (SHA-256 and row count)."""
    problems = verify(archive_dir())
    for p in problems:
        click.echo(p, err=True)
    if problems:
        raise SystemExit(1)
    click.echo("the archive matches its manifest")
