"""build_scheduler(app): a BackgroundScheduler whose only job is the dispatcher tick.

The scheduler keeps no job store of its own (a persistent store cannot be shared between
processes); the database lease decides who runs what.
"""
from __future__ import annotations

import atexit

from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask

from .dispatcher import Dispatcher

_dispatcher: Dispatcher | None = None


def tick() -> None:
    """Module-level job function (APScheduler's advice); the dispatcher does the work."""
    if _dispatcher is not None:
        _dispatcher.tick()


def build_scheduler(app: Flask, interval_seconds: float = 5.0) -> BackgroundScheduler:
    global _dispatcher
    _dispatcher = Dispatcher(app, max_workers=app.config.get("SYNC_WORKERS", 2))
    app.extensions["dispatcher"] = _dispatcher
    scheduler = BackgroundScheduler(timezone="UTC", daemon=True)
    scheduler.add_job(tick, "interval", seconds=interval_seconds, id="dispatcher", coalesce=True,
                      max_instances=1, misfire_grace_time=30, replace_existing=True)
    return scheduler


def start_scheduler(app: Flask, interval_seconds: float = 5.0) -> BackgroundScheduler:
    scheduler = build_scheduler(app, interval_seconds)
    scheduler.start()
    app.extensions["scheduler"] = scheduler

    def stop() -> None:
        scheduler.shutdown(wait=True)  # let a tick in flight finish before its pools close
        _dispatcher.shutdown(wait=True)

    atexit.register(stop)
    return scheduler
