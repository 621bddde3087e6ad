"""APScheduler drives the dispatcher in every process: a BackgroundScheduler inside a web process
(`start_scheduler`), a BlockingScheduler in `flask jobs run` (`run_blocking`). Both get the same three
timers from `add_timers`: claim due work every tick, sweep dead runs every 30 s, evaluate alerts every minute.

The schedulers keep no job store of their own (a persistent store cannot be shared between processes);
the database lease decides who runs what.
"""
from __future__ import annotations

import atexit
import signal
from datetime import datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask

from .dispatcher import ALERT_EVERY_SECONDS, SWEEP_EVERY_SECONDS, Dispatcher


def add_timers(scheduler: BaseScheduler, dispatcher: Dispatcher, interval_seconds: float) -> None:
    """The dispatcher's timers. Each runs one at a time (a slow pass is never stacked on itself) and a
    missed firing is coalesced into one; the sweep and the first tick run at once, not an interval later."""
    now = datetime.now().astimezone()
    timers = (("dispatcher", dispatcher.tick, interval_seconds, now),
              ("sweep", dispatcher.sweep, SWEEP_EVERY_SECONDS, now),
              ("alerts", dispatcher.alerts, ALERT_EVERY_SECONDS, now + timedelta(seconds=interval_seconds)))
    for name, call, seconds, first in timers:
        scheduler.add_job(call, "interval", seconds=seconds, id=name, next_run_time=first, coalesce=True,
                          max_instances=1, misfire_grace_time=30, replace_existing=True)


def build_scheduler(app: Flask, interval_seconds: float = 5.0) -> BackgroundScheduler:
    dispatcher = Dispatcher(app, max_workers=app.config["SYNC_WORKERS"])
    app.extensions["dispatcher"] = dispatcher
    scheduler = BackgroundScheduler(timezone="UTC", daemon=True)
    add_timers(scheduler, dispatcher, interval_seconds)
    return scheduler


def start_scheduler(app: Flask, interval_seconds: float = 5.0) -> BackgroundScheduler:
    scheduler = build_scheduler(app, interval_seconds)
    scheduler.start()
    app.extensions["scheduler"] = scheduler
    atexit.register(stop_scheduler, app)
    return scheduler


def stop_scheduler(app: Flask) -> None:
    """Stop the timers first (a tick in flight finishes), then let the runs in hand finish."""
    scheduler, dispatcher = app.extensions.pop("scheduler", None), app.extensions.pop("dispatcher", None)
    if scheduler is not None and scheduler.running:
        scheduler.shutdown(wait=True)
    if dispatcher is not None:
        dispatcher.shutdown(wait=True)


def run_blocking(app: Flask, interval_seconds: float, workers: int) -> Dispatcher:
    """`flask jobs run`: the timers in the foreground until SIGTERM or SIGINT, then the runs in hand finish."""
    dispatcher = Dispatcher(app, max_workers=workers)
    scheduler = BlockingScheduler(timezone="UTC")
    add_timers(scheduler, dispatcher, interval_seconds)

    def stop(*_: object) -> None:
        dispatcher.stopping.set()  # a tick that fires from now on claims nothing
        if scheduler.running:
            scheduler.shutdown(wait=True)  # a timer in flight finishes; start() below then returns
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, stop)
    try:
        scheduler.start()  # blocks until stop()
    finally:
        dispatcher.shutdown(wait=True)  # the runs in hand finish
    return dispatcher
