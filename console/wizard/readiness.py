"""Launch readiness per object type: its latest test batch and verdict, its first complete sync, and the
baselines of the metrics read from it. The gate and the test and report steps read this; the checklist's
automatic items follow it (`refresh`), on every finished run (an engine event) and every waiver."""
from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa

from .. import audit
from ..choices import PUSHING, RunKind, RunStatus
from ..extensions import db
from ..mapping.objects import label as object_label
from ..metrics import baselines
from ..metrics.definitions import METRICS, MetricDef, for_connection, of_connection
from ..models import IntegrationConnection, IntegrationSyncJob, IntegrationSyncRun, User
from ..models.base import require, utcnow
from ..refusals import Refused
from ..sync.inbound.failures import MAPPING, SOURCE_VALUE
from ..sync.proof.verdict import Verdict, judge, waive
from ..sync.runs.events import run_settled, safely
from . import checklist

FINAL = (RunStatus.SUCCEEDED.value, RunStatus.PARTIAL.value, RunStatus.FAILED.value)


class ReadinessRefused(Refused):
    pass


class Advice(str):
    """One thing that blocks go-live, in words, with the wizard step where it is done (`step`: a view
    name of the wizard) so the gate can link to it. A str: audit rows and joins keep working."""

    step: str

    def __new__(cls, text: str, step: str) -> Advice:
        advice = super().__new__(cls, text)
        advice.step = step
        return advice


@dataclass
class ObjectState:
    object_type: str
    test: IntegrationSyncRun | None
    verdict: Verdict | None
    sync: IntegrationSyncRun | None  # the newest run a baseline can come from (first complete sync first)
    metrics: list[MetricDef]
    missing_metrics: list[MetricDef] = field(default_factory=list)
    pushes: bool = False  # the object sends console-side changes to the provider
    outbound_test: IntegrationSyncRun | None = None  # its newest outbound dry run
    connection_id: int | None = None  # whose registry names a custom object

    @property
    def outbound_passes(self) -> bool:
        run = self.outbound_test
        return run is not None and run.status == RunStatus.SUCCEEDED.value and not run.failed

    @property
    def label(self) -> str:
        return object_label(self.object_type, self.connection_id)

    @property
    def test_passes(self) -> bool:
        return self.verdict is not None and self.verdict.passes

    def problems(self) -> list[str]:
        """What blocks this object now, each with its one next action, read from its runs as they are:
        never an action that already happened (a sync that ran is not "run the first complete sync")."""
        out: list[str] = []
        if self.test is None:
            out.append(Advice("no test batch yet: run one on the test step", "test"))
        elif self.test.status not in FINAL:
            out.append(Advice(f"test batch #{self.test.id} is still running; its verdict shows on the test step", "test"))
        elif self.verdict is not None:
            out.extend(Advice(p, "test") for p in self.verdict.problems())
        if self.pushes:
            run = self.outbound_test
            if run is None:
                out.append(Advice("no outbound dry run yet: run one on the test step", "test"))
            elif run.status not in FINAL:
                out.append(Advice(f"outbound dry run #{run.id} is still running", "test"))
            elif not self.outbound_passes:
                out.append(Advice(f"outbound dry run #{run.id} did not pass: "
                                  + (run.error_message or f"{run.failed:,} record(s) could not be written"), "test"))
        if self.missing_metrics:
            out.append(self._baseline_advice())
        return out

    def _baseline_advice(self) -> Advice:
        titles = ", ".join(f"“{m.title}”" for m in self.missing_metrics)
        what, run = f"no baseline for {titles}", self.sync
        if run is None:
            return Advice(f"{what}: run the first complete sync on the report step, or mark the metric not applicable",
                          "report")
        if run.status not in FINAL:
            return Advice(f"{what} yet: the first complete sync #{run.id} is still running, and its baselines are "
                          "captured when it completes", "report")
        verdict = judge(run)
        if verdict.provider_error:
            return Advice(f"{what}: the first complete sync #{run.id} failed at {verdict.crm} ({verdict.provider_error}); "
                          "run it again on the report step", "report")
        why = verdict.completeness()
        if why is None:
            return Advice(f"{what}: capture it from run #{run.id} under Baselines on the report step", "report")
        group = max((g for g in verdict.groups if g.open), key=lambda g: g.open, default=None)
        if group is None:
            return Advice(f"{what}: {why}", "report")
        field = f" ({group.field.replace('_', ' ')})" if group.field else ""
        failed = f"{group.open:,} {self.object_type} of run #{run.id} failed on {group.words}{field}"
        if group.failure_class == SOURCE_VALUE:
            return Advice(f"{what}: {failed}. Ignore them with a reason on the report step, or fix them in {group.crm} "
                          "and run the sync again", "report")
        if group.failure_class == MAPPING:
            return Advice(f"{what}: {failed}. Fix the mapping row on the mapping step, then run the sync again", "mapping")
        return Advice(f"{what}: {failed}. {group.advice}", "report")


def enabled_jobs(conn: IntegrationConnection) -> list[IntegrationSyncJob]:
    return list(db.session.scalars(sa.select(IntegrationSyncJob).where(
        IntegrationSyncJob.connection_id == conn.id, IntegrationSyncJob.enabled.is_(True))
        .order_by(IntegrationSyncJob.object_type)))


def _latest(conn: IntegrationConnection, object_type: str, kinds: tuple[str, ...]) -> IntegrationSyncRun | None:
    return db.session.scalar(sa.select(IntegrationSyncRun).where(
        IntegrationSyncRun.connection_id == conn.id, IntegrationSyncRun.object_type == object_type,
        IntegrationSyncRun.kind.in_(kinds)).order_by(IntegrationSyncRun.id.desc()).limit(1))


def _latest_dry_push(conn: IntegrationConnection, object_type: str) -> IntegrationSyncRun | None:
    return db.session.scalar(sa.select(IntegrationSyncRun).where(
        IntegrationSyncRun.connection_id == conn.id, IntegrationSyncRun.object_type == object_type,
        IntegrationSyncRun.kind == RunKind.OUTBOUND.value, IntegrationSyncRun.dry_run.is_(True))
        .order_by(IntegrationSyncRun.id.desc()).limit(1))


def not_applicable(conn: IntegrationConnection) -> dict[str, dict]:
    return dict(conn.metrics_not_applicable or {})


def objects(conn: IntegrationConnection) -> list[ObjectState]:
    active, waived = baselines.active(conn.id), not_applicable(conn)
    jobs = enabled_jobs(conn)
    measurable = for_connection(conn.id, {job.object_type for job in jobs})
    out = []
    for job in jobs:
        test = _latest(conn, job.object_type, (RunKind.TEST_BATCH.value,))
        verdict = judge(test, conn) if test is not None and test.status in FINAL else None
        metrics = [m for m in measurable if m.object_type == job.object_type]
        pushes = job.direction in PUSHING
        out.append(ObjectState(job.object_type, test, verdict,
                               _latest(conn, job.object_type, (RunKind.BACKFILL.value,)), metrics,
                               [m for m in metrics if m.key not in active and m.key not in waived], pushes,
                               _latest_dry_push(conn, job.object_type) if pushes else None, conn.id))
    return out


def first_sync_runs(conn: IntegrationConnection) -> list[IntegrationSyncRun]:
    """The newest first-complete-sync run of each enabled object type."""
    return [s.sync for s in objects(conn) if s.sync is not None]


def missing_by_object(conn: IntegrationConnection) -> dict[str, list[str]]:
    return {s.label: s.problems() for s in objects(conn) if s.problems()}


def refresh(conn: IntegrationConnection, user: User | None = None) -> None:
    """Tick or untick the automatic test and baseline items from what the runs and baselines prove."""
    states = objects(conn)
    passing = [s for s in states if s.test_passes]
    tested = bool(states) and len(passing) == len(states)
    checklist.prove(conn, "test_batch_reviewed", tested,
                    "passing test batch for " + ", ".join(s.object_type for s in passing) if tested else
                    "an enabled object has no passing test batch", user)
    tests = [s.test for s in passing if s.test is not None]  # a passing object has its test run
    if tests:
        newest = max(tests, key=lambda run: run.id)
        conn.last_tested_at, conn.last_test_run_id = newest.finished_at, newest.id
    covered = bool(states) and not any(s.missing_metrics for s in states)
    checklist.prove(conn, "baseline_created", covered,
                    "every metric has a baseline or is not applicable" if covered else "a metric has no baseline", user)


def capture_from_first_sync(conn: IntegrationConnection, user: User | None) -> list[str]:
    """Baseline every metric that has none from its object's first complete sync, once that run is
    complete (succeeded, or only ignored source values failed). Returns the metric titles captured."""
    captured: list[str] = []
    active = baselines.active(conn.id, for_capture=True)
    for state in objects(conn):
        run = state.sync
        if run is None or run.status not in FINAL or not any(m.key not in active for m in state.metrics):
            continue
        if baselines.refusal(run, conn) is not None:
            continue
        missing = [m for m in state.metrics if m.key not in active]
        if len(missing) != len(state.metrics):
            continue  # some metrics of this object are baselined already: capture by hand on the report page
        captured += [b.metric_key for b in baselines.capture(conn, run, user)]
    return captured


def capture_pending(conn: IntegrationConnection, run: IntegrationSyncRun, within_s: float = 60.0) -> bool:
    """Whether the dispatcher's capture from this first complete sync has yet to land. After the run commits as
    final, a run_finished receiver records the metric values, then `_on_run_settled` captures them. Pending:
    the run is its object's first sync, final, recent, able to give baselines, and none of its object's
    metrics has one. Until then the run's block keeps polling, so the
    panels refresh after the capture, not between the run's end and it."""
    if run.kind != RunKind.BACKFILL or run.status not in FINAL or run.finished_at is None \
            or (utcnow() - run.finished_at).total_seconds() > within_s:
        return False
    active = baselines.active(conn.id)
    state = next((s for s in objects(conn) if s.sync is not None and s.sync.id == run.id), None)
    if state is None or not state.metrics or any(m.key in active for m in state.metrics):
        return False
    return baselines.refusal(run, conn, need_snapshot=False) is None  # the values after it may be on their way too


def mark_not_applicable(conn: IntegrationConnection, metric_key: str, reason: str, user: User,
                        applicable: bool = False) -> None:
    """An admin says a metric has no meaning for this client (no deals pipeline, say), with a reason."""
    keys = {m.key for m in (*METRICS, *of_connection(conn.id))}
    if metric_key not in keys:
        raise ReadinessRefused("There is no such metric.")
    marks = not_applicable(conn)
    if applicable:
        marks.pop(metric_key, None)
    else:
        if not reason.strip():
            raise ReadinessRefused("Say why the metric does not apply; the reason is kept in the audit log.")
        marks[metric_key] = {"reason": reason.strip()[:500], "user_id": user.id, "at": utcnow().isoformat()}
    conn.metrics_not_applicable = marks or None
    audit.record("metrics.not_applicable" if not applicable else "metrics.applicable", conn, user,
                 metric=metric_key, reason=reason.strip() or None)
    refresh(conn, user)
    db.session.commit()


def waive_values(conn: IntegrationConnection, run: IntegrationSyncRun, code: str, reason: str,
                 user: User) -> tuple[int, list]:
    """Ignore a run's records that failed on one source value, with a reason; a first complete sync then
    may give its baselines, and the checklist follows. Returns (records waived, baselines captured)."""
    n = waive(conn, run, code, reason, user)
    captured = capture_from_first_sync(conn, user) if run.kind == RunKind.BACKFILL else []
    refresh(conn, user)
    db.session.commit()
    return n, captured


@run_settled.connect
@safely
def _on_run_settled(run: IntegrationSyncRun, **_: object) -> None:
    """A test batch or a first complete sync finished: the checklist, last-tested date and baselines follow."""
    if run.kind not in (RunKind.TEST_BATCH.value, RunKind.BACKFILL.value):
        return
    conn = require(IntegrationConnection, run.connection_id)
    if run.kind == RunKind.BACKFILL.value:
        capture_from_first_sync(conn, None)
    refresh(conn)
    db.session.commit()
