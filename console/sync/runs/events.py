"""What the engine announces, for features to subscribe to: the engine never imports a feature.

Blinker signals (Flask's own dependency): a receiver runs in the sender's thread, after the run's final
status is committed. Wrap receivers in `safely`, so one that fails is logged and rolled back and never
reaches the sender."""
from __future__ import annotations

import logging

from blinker import Namespace

log = logging.getLogger(__name__)
_signals = Namespace()

# sent with the finished IntegrationSyncRun as sender (any kind: scheduled, test batch, first sync...);
# `owners` is the set of owner ids the provider knows (for the quality checks), or None
run_finished = _signals.signal("run-finished")
# sent after every run_finished receiver has run: for what depends on their results (a baseline captured
# from the snapshot a run_finished receiver took)
run_settled = _signals.signal("run-settled")
# sent with a run the sweep failed because its process stopped (sync/runs/lifecycle.py)
run_stopped = _signals.signal("run-stopped")


def announce_run_finished(run, owners: set[str] | None = None) -> None:
    from ...extensions import db

    run_finished.send(run, owners=owners)
    db.session.commit()
    run_settled.send(run)
    db.session.commit()


def announce_run_stopped(run) -> None:
    from ...extensions import db

    run_stopped.send(run)
    db.session.commit()


def safely(receiver):
    """Wrap a receiver so its failure is logged and rolled back instead of failing the sender."""
    def wrapped(sender, **kw):
        from ...extensions import db

        try:
            receiver(sender, **kw)
        except Exception:
            db.session.rollback()
            log.exception("%s failed for %r", receiver.__name__, sender)
    wrapped.__name__ = receiver.__name__
    return wrapped
