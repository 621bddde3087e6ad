"""The end of every page's transaction, for the inbound writer and the outbound pusher alike.

A page's rows, the run's counts, the run's API figures, the heartbeat and the job's cursor commit together,
and only while this process still holds the job's lease: `PageCommit.commit` does those last steps in that
order, so neither the writer nor the pusher is handed a callback from the code that started the run.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...extensions import db
from ...models import IntegrationSyncRun
from ...models.base import utcnow
from . import request_log
from .accounting import Tally
from .lease import fence


@dataclass
class PageCommit:
    run: IntegrationSyncRun | None      # None: a preview, which never commits
    tally: Tally
    stats: Any = None                   # the provider session's call counters (api_calls, rate_limited)
    job_id: int | None = None           # with `owner`: the job lease this process must still hold
    owner: str | None = None

    def __post_init__(self) -> None:
        # Plain copies for the request log (the ORM expires the run at every commit: reading is a query).
        self._ids = (self.run.connection_id, self.run.id) if self.run is not None else None

    def store(self) -> None:
        """The run's counts, API figures and heartbeat, in the page's transaction."""
        run = self.run
        assert run is not None, "only a preview has no run, and a preview writes nothing"
        self.tally.store_on(run)
        run.heartbeat_at = utcnow()
        if self.stats is not None:
            run.api_calls, run.rate_limited = self.stats.api_calls, self.stats.rate_limited

    def commit(self) -> None:
        """Store the figures, check the lease (LeaseLost: the caller rolls back, nothing of the page is
        written, the cursor stays), commit."""
        self.store()
        if self._ids is not None:  # the calls so far, in the traffic database, a hundred at a time
            request_log.flush(*self._ids, self.stats, request_log.FLUSH_EVERY)
        if self.job_id is not None and self.owner is not None:
            fence(self.job_id, self.owner)
        db.session.commit()
