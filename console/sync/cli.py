"""`flask sync run`, `flask sync push` and `flask sync reconcile`."""
from __future__ import annotations

import os

import click
import sqlalchemy as sa

from ..choices import RunKind
from ..extensions import db
from ..mapping.objects import CORE, STANDARD, rank
from ..models import IntegrationConnection


@click.group("sync")
def sync_group() -> None:
    """Run syncs by hand."""


@sync_group.command("run")
@click.argument("connection_id", type=int)
@click.option("--object", "object_types", multiple=True,
              help="Object types to sync (default: every job of the connection, in the sync order).")
@click.option("--full", is_flag=True, help="Ignore the cursor: re-read everything (a backfill).")
@click.option("--limit", type=int, help="Stop after this many records.")
def run_command(connection_id: int, object_types: tuple[str, ...], full: bool, limit: int | None) -> None:
    """Sync one connection now, with a progress line per page and a summary table."""
    from ..models import IntegrationSyncJob
    from .inbound.runner import ensure_job, execute, start_run

    connection = db.session.get(IntegrationConnection, connection_id)
    if connection is None:
        raise click.ClickException(f"No connection {connection_id}.")
    jobs = db.session.scalars(sa.select(IntegrationSyncJob).where(
        IntegrationSyncJob.connection_id == connection_id)).all()
    known = set(STANDARD) | {j.object_type for j in jobs}
    if unknown := [o for o in object_types if o not in known]:
        raise click.ClickException(f"Not an object type of connection {connection_id}: {', '.join(unknown)}.")
    wanted = list(object_types) or sorted({j.object_type for j in jobs} or {"contacts"}, key=rank)
    from .runs.lease import JobBusy, holding_lease
    from .runs.lifecycle import sweep

    sweep()  # close runs whose process died (a killed `flask sync run`, say) before starting another
    rows = []
    for object_type in wanted:
        job = ensure_job(connection, object_type)
        db.session.commit()

        def progress(r, ot=object_type) -> None:
            click.echo(f"\r{ot:<10} seen {r.seen:>8,}  created {r.created:>7,}  updated {r.updated:>7,}  "
                       f"failed {r.failed:>6,}  api calls {r.api_calls:>6,}  429s {r.rate_limited:>4}", nl=False)

        try:
            owner = f"cli:{os.getpid()}"
            with holding_lease(job.id, owner):
                run = start_run(job, RunKind.BACKFILL.value if full else RunKind.MANUAL.value, limit=limit)
                execute(run, full=full, progress=progress, lease_owner=owner)
        except JobBusy as busy:
            raise click.ClickException(str(busy)) from busy
        click.echo("")
        rows.append(run)
    click.echo(f"\n{'object':<10} {'status':<10} {'seen':>8} {'created':>8} {'updated':>8} {'unchanged':>9} "
               f"{'dup':>5} {'failed':>7} {'calls':>6} {'429s':>5}")
    for r in rows:
        click.echo(f"{r.object_type:<10} {r.status:<10} {r.seen:>8} {r.created:>8} {r.updated:>8} {r.unchanged:>9} "
                   f"{r.duplicate:>5} {r.failed:>7} {r.api_calls:>6} {r.rate_limited:>5}")
        if r.error_message:
            click.echo(f"  error: {r.error_message}")
    if any(r.status == "failed" for r in rows):
        raise SystemExit(1)


@sync_group.command("push")
@click.argument("connection_id", type=int)
@click.option("--object", "object_types", multiple=True, type=click.Choice(CORE),
              help="Object types to push (default: every job of the connection that pushes, companies first).")
@click.option("--dry-run", is_flag=True, help="Say per record what would be written; write nothing.")
def push_command(connection_id: int, object_types: tuple[str, ...], dry_run: bool) -> None:
    """Write the connection's console-side changes to the provider now (an outbound run per object)."""
    from ..models import IntegrationSyncJob
    from .outbound.push import execute_push, pushes, start_push
    from .runs.lifecycle import sweep

    if db.session.get(IntegrationConnection, connection_id) is None:
        raise click.ClickException(f"No connection {connection_id}.")
    jobs = {j.object_type: j for j in db.session.scalars(sa.select(IntegrationSyncJob).where(
        IntegrationSyncJob.connection_id == connection_id)) if pushes(j)}
    wanted = [o for o in (list(object_types) or sorted(jobs, key=rank)) if o in jobs]
    if not wanted:
        raise click.ClickException("No object type of this connection flows to the provider (set a direction in the "
                                   "wizard's mapping step).")
    sweep()
    failed = False
    for object_type in wanted:
        run = start_push(jobs[object_type], dry_run=dry_run, worker=f"cli:{os.getpid()}")
        execute_push(run)
        db.session.refresh(run)
        click.echo(f"{object_type:<10} {run.status:<10} seen {run.seen:>7,}  created {run.created:>6,}  updated "
                   f"{run.updated:>6,}  unchanged {run.unchanged:>6,}  skipped {run.skipped:>6,}  failed "
                   f"{run.failed:>6,}  api calls {run.api_calls:>5,}")
        if run.error_message:
            click.echo(f"  error: {run.error_message}")
        for external_id, bucket, reason, *_ in (run.outcomes or [])[:50] if dry_run else []:
            click.echo(f"  {external_id}: {bucket}: {reason}")
        failed = failed or run.status == "failed"
    if failed:
        raise SystemExit(1)


@sync_group.command("reconcile")
@click.argument("connection_id", type=int)
@click.option("--object", "object_types", multiple=True,
              help="Object types to compare (default: every job of the connection).")
@click.option("--repair", is_flag=True, help="Re-read every differing record and apply it through the writer.")
def reconcile_command(connection_id: int, object_types: tuple[str, ...], repair: bool) -> None:
    """Compare every provider record with the stored copy; report (and repair) the differences. Exits 1
    when differences remain (after a repair: when the comparison that follows it still finds some)."""
    from ..models import IntegrationSyncJob
    from .proof import reconcile

    connection = db.session.get(IntegrationConnection, connection_id)
    if connection is None:
        raise click.ClickException(f"No connection {connection_id}.")
    jobs = {j.object_type for j in db.session.scalars(sa.select(IntegrationSyncJob).where(
        IntegrationSyncJob.connection_id == connection_id))}
    if unknown := [o for o in object_types if o not in jobs]:
        raise click.ClickException(f"Connection {connection_id} has no sync job of {', '.join(unknown)}.")
    wanted = list(object_types) or sorted(jobs, key=rank)
    if not wanted:
        raise click.ClickException(f"Connection {connection_id} has no sync jobs yet.")
    differences = 0
    for object_type in wanted:
        row = reconcile.execute(reconcile.queue(connection, object_type, "cli", repair=repair, own=True).id,
                                f"cli:{os.getpid()}")
        click.echo(report_text(row))
        if row.status == "succeeded" and row.repaired is not None:  # compare again: what is left after the repair
            row = reconcile.execute(reconcile.queue(connection, object_type, "cli").id, f"cli:{os.getpid()}")
            click.echo("after the repair:\n" + report_text(row))
        if row.status != "succeeded":
            raise SystemExit(2)
        differences += row.differences
    if differences:
        raise SystemExit(1)


def report_text(row) -> str:
    """One reconciliation as the terminal shows it."""
    lines = [f"{row.object_type}: provider {row.provider_active:,} active + {row.provider_archived:,} archived; "
             f"stored {row.stored_active:,} active + {row.stored_archived:,} archived"]
    if row.status != "succeeded":
        return "\n".join(lines + [f"  failed: {row.error_message}"])
    fields = (row.examples or {}).get("fields") or {}
    for kind in ("missing", "extra", "stale", "value_drift", "wrongly_archived", "link_drift", "failing", "ignored",
                 "in_flight", "pending_push"):
        value = getattr(row, kind) or 0
        examples = (row.examples or {}).get(kind)
        if kind == "value_drift" and fields:  # which fields differ (names only: values may be sensitive)
            examples = [f"{ext} ({', '.join(names)})" for ext, names in fields.items()]
        lines.append(f"  {kind.replace('_', ' '):<17}{value:>8,}" + (f"   e.g. {', '.join(examples)}" if examples else ""))
    lines.append(f"  differences      {row.differences:>8,}" +
                 (f"   repaired {row.repaired:,} (run {row.repair_run_id})" if row.repaired is not None else ""))
    return "\n".join(lines)
