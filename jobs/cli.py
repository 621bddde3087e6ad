"""`flask jobs run`: the dispatcher in a process of its own."""
from __future__ import annotations

import signal
import threading

import click
from flask import current_app


@click.group("jobs")
def jobs_group() -> None:
    """The sync dispatcher."""


@jobs_group.command("run")
@click.option("--interval", default=5.0, type=float, help="Seconds between dispatcher ticks.")
@click.option("--workers", default=2, type=int)
def jobs_run(interval: float, workers: int) -> None:
    """Run the dispatcher in this process until SIGTERM/SIGINT (any number may run at once)."""
    from jobs.dispatcher import Dispatcher

    dispatcher = Dispatcher(current_app._get_current_object(), max_workers=workers)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    click.echo(f"dispatcher {dispatcher.worker} running; Ctrl-C stops it after the current runs finish")
    while not stop.is_set():
        dispatcher.tick()
        stop.wait(interval)
    dispatcher.shutdown(wait=True)
