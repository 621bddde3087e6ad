"""An outbound run from start to final status: the job's lease (nothing else syncs the object meanwhile),
the provider session, the mapping, the push, the run's counts. Never raises for provider trouble."""
from __future__ import annotations

import logging

from ...choices import PUSHING, RunKind
from ...extensions import db
from ...mapping.mapper import MappingSpec
from ...mapping.service import load_spec
from ...mapping.vocabulary import of_provider
from ...models import IntegrationConnection, IntegrationSyncJob, IntegrationSyncRun
from ...models.base import require
from .. import catalogue
from ..provider import open_session
from ..runs import lifecycle as runs
from ..runs.accounting import Tally
from ..runs.events import announce_run_finished
from ..runs.frame import RunFrame
from ..runs.lease import JobBusy, holding_lease
from ..runs.page_commit import PageCommit
from .changes import LINKABLE
from .pusher import CONSOLE_ID_PROPERTY, Pusher

log = logging.getLogger(__name__)


def pushes(job: IntegrationSyncJob) -> bool:
    """Whether the object type sends its console-side changes to the provider."""
    return job.direction in PUSHING


def start_push(job: IntegrationSyncJob, dry_run: bool = False, user_id: int | None = None,
               worker: str | None = None, queued: bool = False) -> IntegrationSyncRun:
    """An outbound run (`queued` for the dispatcher's pool, as the test step queues its dry runs)."""
    run = runs.open_run(job.connection_id, job.object_type, RunKind.OUTBOUND.value, job=job, worker=worker,
                        dry_run=dry_run, triggered_by_user_id=user_id, queued=queued)
    db.session.commit()
    return run


def execute_push(run: IntegrationSyncRun, client_options: dict | None = None, leased: bool = False) -> Tally:
    """Push every due change of the run's object type; a dry run plans and writes nothing (its outcomes
    say, per record, what would be written or why not). The job's lease is taken unless the caller
    (the dispatcher, right after the inbound run) already holds it."""
    tally = Tally(keep_outcomes=run.dry_run)
    job = require(IntegrationSyncJob, run.job_id)
    try:
        if leased:
            _run(run, job, tally, client_options)
        else:
            with holding_lease(job.id, _lease_owner(run), wait=5.0):
                _run(run, job, tally, client_options)
    except JobBusy as busy:
        runs.fail(run, str(busy))
    finished = db.session.get(IntegrationSyncRun, run.id)
    if finished is not None:
        announce_run_finished(finished, None)
    return tally


def _run(run: IntegrationSyncRun, job: IntegrationSyncJob, tally: Tally, client_options: dict | None) -> None:
    PushFrame(run, tally, require(IntegrationConnection, run.connection_id), job, client_options).execute()


class PushFrame(RunFrame):
    """An outbound run: preflight, then the pending changes, the unheld records and the associations."""

    def __init__(self, run: IntegrationSyncRun, tally: Tally, connection: IntegrationConnection,
                 job: IntegrationSyncJob, client_options: dict | None) -> None:
        super().__init__(run, tally, connection)
        self.job, self.client_options = job, client_options

    def body(self) -> None:
        run, job, connection = self.run, self.job, self.connection
        session = self.session = open_session(connection, **(self.client_options or {}))
        spec = load_spec(connection.id, job.object_type, catalogue.reference(connection))
        properties = {str(p.get("name")): p for p in session.properties(job.object_type)}
        problems = preflight(job, spec, properties, connection)
        if problems:
            self.error = "Nothing was written: " + "; ".join(problems)
            return
        pusher = Pusher(run, session, spec, self.tally, dry_run=run.dry_run,
                        console_id_property=CONSOLE_ID_PROPERTY in properties, match_on=job.match_on,
                        page_commit=PageCommit(run, self.tally, session.stats, job.id, _lease_owner(run)))
        pusher.push(connection.id)
        pusher.push_unheld(connection.id)
        pusher.push_links(connection.id)  # after the records

    def closed(self, run: IntegrationSyncRun) -> None:
        if self.tally.outcomes:
            run.outcomes = [list(o) for o in self.tally.outcomes[:1000]]


def preflight(job: IntegrationSyncJob, spec: MappingSpec, properties: dict[str, dict],
              connection: IntegrationConnection) -> list[str]:
    """What stops any write of this object type, found before the first: the object does not push, a
    mapped property is missing or computed by the CRM, the credentials lack the write scope. (A record
    that must be created without the id property it would be matched on fails on its own, saying so.)"""
    problems = []
    if not pushes(job):
        problems.append(f"{job.object_type} flow inbound only; set the object's direction in the mapping step")
    rules = spec.outbound_rules
    if not rules and not any(pair[0] == job.object_type for pair in LINKABLE):
        problems.append("no field is written to the CRM; set a direction per field in the mapping step")
    words = of_provider(connection.provider.key)
    for rule in rules:
        prop = properties.get(rule.source)
        if prop is None:
            problems.append(f"the CRM has no property {rule.source} (mapped to {rule.target})")
        elif prop.get("calculated") or rule.source in words.read_only:
            problems.append(f"the CRM computes {rule.source} itself; it cannot be written")
    granted = set((connection.account.granted_scopes or "").split()) if connection.account else set()
    scope = words.write_scope.format(object_type=job.object_type)
    if scope and granted and scope not in granted:
        problems.append(f"the credentials lack the {scope} scope")
    return problems


def _lease_owner(run: IntegrationSyncRun) -> str:
    """Who holds the job while this push runs: the dispatcher's worker (which started the run with its
    name), or what `execute_push` claims it as."""
    return run.worker or "outbound"
