"""One run frame for every kind of run, in the spirit of NetBox's `JobRunner.handle`: start → body →
finish, with the subclass writing only `body`.

`RunFrame.execute` notes where the run starts, keeps its heartbeat while it works, turns whatever `body`
raised into the run's error (a lost lease, refused credentials, any provider error, a bug: never a run left
"running"), closes the run through `runs.finish` (the one transition table) with its counts and API figures,
lets the subclass add what its kind keeps (`closed`), stores the provider's daily budget and commits.
Scheduled, manual, backfill and test-batch syncs (runner.py), pushes (push.py), reconcile repairs
(reconcile.py) and webhook batches (webhooks/normalize.py) all run in it."""
from __future__ import annotations

import logging
from typing import Any

from ...connectors.base import AuthExpired, ConnectorError
from ...extensions import db
from ...models import IntegrationConnection, IntegrationSyncRun
from ..provider import mark_credentials, remember_daily_budget
from . import lifecycle as runs
from . import request_log
from .accounting import Tally
from .lease import LeaseLost

log = logging.getLogger(__name__)


class RunFrame:
    # Whether the run's outcome says something about the connection's credentials (a sync or a push does;
    # a repair or a webhook batch reads too little to judge, and is kept from writing the account each time).
    marks_credentials = True

    def __init__(self, run: IntegrationSyncRun, tally: Tally, connection: IntegrationConnection) -> None:
        self.run, self.tally, self.connection = run, tally, connection
        self.session: Any = None    # the provider session `body` opens: its call figures go on the run
        self.error: str | None = None  # an outcome `body` may set without raising ("Nothing was written: …")
        self.holder = True          # False once the job's lease was lost: the job is another process's now
        self.failure: BaseException | None = None  # what `body` raised, for a caller that must know

    def body(self) -> None:
        raise NotImplementedError

    def closed(self, run: IntegrationSyncRun) -> None:
        """What this kind of run keeps beside its counts, in the transaction that finishes it."""

    def execute(self) -> IntegrationSyncRun:
        runs.start(self.run)
        with runs.heartbeat(self.run):
            error = self._guarded()
            run = runs.finish(self.run, self.tally, error, self.session.stats if self.session is not None else None)
            self.closed(run)
            remember_daily_budget(self.connection, self.session)
            db.session.commit()
        if self.session is not None:  # the calls the pages did not write yet (the last ones, a failure's)
            try:
                request_log.flush(run.connection_id, run.id, self.session.stats)
            except Exception:  # the run is recorded; a log the traffic database refused is said in the log
                log.exception("run %s: its request log could not be written", run.id)
        self.run = run
        return run

    def _guarded(self) -> str | None:
        try:
            self.body()
        except LeaseLost as exc:
            db.session.rollback()
            log.warning("run %s: %s", self.run.id, exc)
            self.holder, self.failure = False, exc
            return str(exc)
        except AuthExpired as exc:
            db.session.rollback()
            self.failure = exc
            if self.marks_credentials:
                mark_credentials(self.connection, ok=False, error=str(exc))
            return str(exc)
        except ConnectorError as exc:
            db.session.rollback()
            self.failure = exc
            return str(exc)
        except Exception as exc:  # a bug or a database failure: recorded, never left "running"
            db.session.rollback()
            log.exception("%s run %s failed", self.run.kind, self.run.id)
            self.failure = exc
            return f"Internal error: {type(exc).__name__}"
        if self.marks_credentials:
            mark_credentials(self.connection, ok=True)
        return self.error
