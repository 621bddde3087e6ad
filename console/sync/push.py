"""An outbound run from start to final status: the job's lease (nothing else syncs the object meanwhile),
the provider session, the mapping, the push, the run's counts. Never raises for provider trouble."""
from __future__ import annotations

import logging

from ..choices import Direction, RunKind
from ..connectors.base import AuthExpired, ConnectorError
from ..extensions import db
from ..mapping.service import load_spec
from ..models import IntegrationConnection, IntegrationSyncJob, IntegrationSyncRun
from ..models.base import require
from . import catalogue, runs
from .accounting import Tally
from .events import announce_run_finished
from .lease import JobBusy, holding_lease
from .outbound import CONSOLE_ID_PROPERTY, Pusher
from .provider import mark_credentials, open_session, remember_daily_budget

log = logging.getLogger(__name__)


def pushes(job: IntegrationSyncJob) -> bool:
    """Whether the object type sends its console-side changes to the provider."""
    return job.direction in (Direction.OUTBOUND.value, Direction.BOTH.value)


def start_push(job: IntegrationSyncJob, dry_run: bool = False, user_id: int | None = None,
               worker: str | None = None) -> IntegrationSyncRun:
    run = runs.open_run(job.connection_id, job.object_type, RunKind.OUTBOUND.value, job=job, worker=worker,
                        dry_run=dry_run, triggered_by_user_id=user_id)
    db.session.commit()
    return run


def execute_push(run: IntegrationSyncRun, client_options: dict | None = None) -> Tally:
    """Push every due change of the run's object type; a dry run plans and writes nothing (its outcomes
    say, per record, what would be written or why not)."""
    tally = Tally(keep_outcomes=run.dry_run)
    job = require(IntegrationSyncJob, run.job_id)
    try:
        with holding_lease(job.id, run.worker or "outbound", wait=5.0):
            runs.start(run)
            with runs.heartbeat(run):
                _push(run, job, tally, client_options)
    except JobBusy as busy:
        runs.fail(run, str(busy))
    finished = db.session.get(IntegrationSyncRun, run.id)
    if finished is not None:
        announce_run_finished(finished, None)
    return tally


def _push(run: IntegrationSyncRun, job: IntegrationSyncJob, tally: Tally, client_options: dict | None) -> None:
    connection = require(IntegrationConnection, run.connection_id)
    session, error = None, None
    try:
        session = open_session(connection, **(client_options or {}))
        spec = load_spec(connection.id, job.object_type, catalogue.reference(connection))
        names = {p.get("name") for p in session.properties(job.object_type)}
        pusher = Pusher(run, session, spec, tally, dry_run=run.dry_run,
                        console_id_property=CONSOLE_ID_PROPERTY in names)
        pusher.push(connection.id, before_commit=lambda: _account(run, session))
        mark_credentials(connection, ok=True)
    except AuthExpired as exc:
        db.session.rollback()
        mark_credentials(connection, ok=False, error=str(exc))
        error = str(exc)
    except ConnectorError as exc:
        db.session.rollback()
        error = str(exc)
    except Exception as exc:  # a bug or a database failure: recorded, never left "running"
        db.session.rollback()
        log.exception("outbound run %s failed", run.id)
        error = f"Internal error: {type(exc).__name__}"
    run = runs.finish(run, tally, error, session.stats if session is not None else None)
    if tally.outcomes:
        run.outcomes = [list(o) for o in tally.outcomes[:1000]]
    remember_daily_budget(require(IntegrationConnection, run.connection_id), session)
    db.session.commit()


def _account(run: IntegrationSyncRun, session) -> None:
    run.api_calls, run.rate_limited = session.stats.api_calls, session.stats.rate_limited
