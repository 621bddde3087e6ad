"""`flask jobs run`: the dispatcher in a process of its own, driven by APScheduler's blocking scheduler."""
from __future__ import annotations

import click

from console.extensions import this_app


@click.group("jobs")
def jobs_group() -> None:
    """The sync dispatcher."""


@jobs_group.command("run")
@click.option("--interval", default=5.0, type=float, help="Seconds between dispatcher ticks.")
@click.option("--workers", default=2, type=int)
def jobs_run(interval: float, workers: int) -> None:
    """Run the dispatcher in this process until SIGTERM/SIGINT (any number may run at once)."""
    from jobs.scheduler import run_blocking

    click.echo(f"dispatcher running with {workers} workers; Ctrl-C stops it after the current runs finish")
    run_blocking(this_app(), interval, workers)
