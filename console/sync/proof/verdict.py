"""What a finished run proves: its failures grouped by class and code, which of them a person accepted
(waivers), whether a test batch passes and whether a real run is complete enough to baseline from.

Waivers: a source value the client will not fix (an invalid email, say) is ignored by a person with a
reason. The record still fails and is still counted in every run; a waiver only lets a run whose other
records all succeeded count as complete, and a test batch pass."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import sqlalchemy as sa

from ... import audit
from ...choices import ErrorStatus, RunKind, RunStatus
from ...connectors import registry
from ...extensions import db
from ...models import IntegrationConnection, IntegrationSyncError, IntegrationSyncRun, IntegrationValueWaiver, User
from ...models.base import utcnow
from ...refusals import Refused
from ..inbound import failures
from ..inbound.failures import MAPPING, PROVIDER, SOURCE_VALUE

BASELINE_KINDS = (RunKind.BACKFILL.value, RunKind.SCHEDULED.value, RunKind.MANUAL.value)


class WaiverRefused(Refused):
    pass


@dataclass
class Group:
    """Failed records of one run sharing a code."""

    failure_class: str
    code: str
    field: str
    external_ids: list[str] = dataclasses.field(default_factory=list)
    reasons: list[str] = dataclasses.field(default_factory=list)
    waived: int = 0
    crm: str = "the CRM"  # the connection's provider, by name, for the words below

    @property
    def count(self) -> int:
        return len(self.external_ids)

    @property
    def open(self) -> int:
        return self.count - self.waived

    @property
    def words(self) -> str:
        return failures.words(self.code, self.crm)

    @property
    def advice(self) -> str:
        return failures.advice(self.failure_class, self.crm)


@dataclass
class Verdict:
    run: IntegrationSyncRun
    groups: list[Group]
    unlisted: int  # failures beyond the ones kept on the run: they cannot be judged one by one
    threshold_pct: int
    crm: str = "the CRM"  # the connection's provider, by name

    def count(self, failure_class: str, waived: bool | None = None) -> int:
        gs = [g for g in self.groups if g.failure_class == failure_class]
        if waived is None:
            return sum(g.count for g in gs)
        return sum(g.waived if waived else g.open for g in gs)

    @property
    def provider_error(self) -> str | None:
        return self.run.error_message if self.run.status == RunStatus.FAILED else None

    @property
    def open_source_values(self) -> int:
        return self.count(SOURCE_VALUE, waived=False)

    def problems(self) -> list[str]:
        """Why a test batch does not pass, in words (empty: it passes)."""
        run, out = self.run, []
        if run.status not in (RunStatus.SUCCEEDED, RunStatus.PARTIAL, RunStatus.FAILED):
            return [f"test batch #{run.id} has not finished"]
        if self.provider_error:
            return [f"test batch #{run.id} failed at {self.crm}: {self.provider_error}"]
        if not run.seen:
            return [f"test batch #{run.id} read no records"]
        mapping = self.count(MAPPING)
        if mapping:
            out.append(f"{mapping} mapping failure(s): fix the mapping and test again")
        if self.unlisted:
            out.append(f"{self.unlisted} failure(s) were not kept one by one: test a smaller batch")
        open_sv = self.open_source_values
        if open_sv and open_sv * 100 > self.threshold_pct * run.seen:
            kinds = ", ".join(f"{g.open} {g.words}" for g in self.groups if g.failure_class == SOURCE_VALUE and g.open)
            out.append(f"{open_sv} of {run.seen} records have unusable source values ({kinds}), more than "
                       f"the {self.threshold_pct} % allowed: fix them in {self.crm}, or ignore them with a reason")
        return out

    @property
    def passes(self) -> bool:
        return not self.problems()

    def completeness(self) -> str | None:
        """Why this real run cannot be a baseline's source (None: it is complete)."""
        run = self.run
        if run.kind not in BASELINE_KINDS or run.dry_run:
            return "Only a complete sync can be a baseline's source (not a test batch, webhook or import)."
        if run.record_limit:
            return f"The run was limited to {run.record_limit:,} records, so it is not a complete picture."
        if run.status == RunStatus.SUCCEEDED:
            return None
        if run.status != RunStatus.PARTIAL:
            return f"The run did not complete ({RunStatus.label_of(run.status).lower()})."
        blocking = self.count(MAPPING) + self.count(PROVIDER)
        if blocking:
            return (f"The run is partial: {blocking:,} of {run.seen:,} records failed on the mapping or at "
                    f"{self.crm}. Fix them, then sync again.")
        if self.unlisted:
            return f"The run is partial: {self.unlisted:,} failures were not kept one by one, so they cannot be ignored."
        if self.open_source_values:
            kinds = ", ".join(f"{g.open:,} {g.words}" for g in self.groups if g.open)
            return (f"The run is partial: {self.open_source_values:,} of {run.seen:,} records have unusable "
                    f"source values ({kinds}). Fix them in {self.crm}, or ignore them with a reason.")
        return None

    def words(self) -> str:
        """'1,940 of 2,000 contacts; 60 ignored: invalid email'."""
        run = self.run
        kept = run.seen - run.failed
        text = f"{kept:,} of {run.seen:,} {run.object_type}"
        waived = [g for g in self.groups if g.waived]
        if waived:
            text += "; " + ", ".join(f"{g.waived:,} ignored: {g.words}" for g in waived)
        return text


def waived_ids(connection_id: int, object_type: str, external_ids: list[str]) -> set[tuple[str, str]]:
    if not external_ids:
        return set()
    out: set[tuple[str, str]] = set()
    for i in range(0, len(external_ids), 500):
        out.update(db.session.execute(sa.select(IntegrationValueWaiver.external_id, IntegrationValueWaiver.code).where(
            IntegrationValueWaiver.connection_id == connection_id, IntegrationValueWaiver.object_type == object_type,
            IntegrationValueWaiver.external_id.in_(external_ids[i:i + 500]))).all())
    return {(e, c) for e, c in out}


def failed_outcomes(run: IntegrationSyncRun) -> list[tuple[str, str, str, str]]:
    """(external id, reason, code, field) of each failed record kept on the run."""
    out = []
    for row in run.outcomes or []:
        if len(row) >= 2 and row[1] == "failed":
            row = list(row) + ["", "", ""]
            out.append((str(row[0]), row[2] or "", row[3] or "", row[4] or ""))
    return out


def crm_name(connection: IntegrationConnection | None) -> str:
    """The connection's provider as people call it ("HubSpot"), for the words a failure is told in."""
    if connection is None:
        return "the CRM"
    try:
        return registry.get(connection.provider.key).name
    except registry.UnknownProvider:
        return "the CRM"


def judge(run: IntegrationSyncRun, connection: IntegrationConnection | None = None) -> Verdict:
    connection = connection or db.session.get(IntegrationConnection, run.connection_id)
    kept = failed_outcomes(run)
    waived = waived_ids(run.connection_id, run.object_type, [k[0] for k in kept])
    groups: dict[str, Group] = {}
    for external_id, reason, code, fld in kept:
        group = groups.get(code)
        if group is None:
            group = groups[code] = Group(failures.class_of(code), code, fld, crm=crm_name(connection))
        group.external_ids.append(external_id)
        if len(group.reasons) < 5:
            group.reasons.append(reason)
        if (external_id, code) in waived:
            group.waived += 1
    ordered = sorted(groups.values(), key=lambda g: (g.failure_class != MAPPING, -g.count))
    unlisted = max(0, (run.failed or 0) - len(kept))
    return Verdict(run, ordered, unlisted, connection.source_failure_pct if connection else 5, crm_name(connection))


def waive(connection: IntegrationConnection, run: IntegrationSyncRun, code: str, reason: str, user: User) -> int:
    """Ignore, with a reason, every record of `run` that failed on source value `code`. Their open sync
    errors are closed as ignored with the same reason. Returns how many records were waived."""
    reason = reason.strip()
    if run.connection_id != connection.id:
        raise WaiverRefused("That run belongs to another connection.")
    if not reason:
        raise WaiverRefused("Say why these values may stay as they are; the reason is kept in the audit log.")
    if len(reason) > 500:
        raise WaiverRefused("The reason is too long (500 characters at most).")
    if failures.class_of(code) != SOURCE_VALUE:
        crm = crm_name(connection)
        why = failures.advice(failures.class_of(code), crm)
        raise WaiverRefused(f"“{failures.words(code, crm)}” is not a source value: {why}")
    ids = sorted({k[0] for k in failed_outcomes(run) if k[2] == code})
    if not ids:
        raise WaiverRefused("No record of this run failed that way.")
    have = waived_ids(connection.id, run.object_type, ids)
    new = [i for i in ids if (i, code) not in have]
    for external_id in new:
        db.session.add(IntegrationValueWaiver(connection_id=connection.id, object_type=run.object_type,
                                              external_id=external_id, code=code, reason=reason, user_id=user.id))
    now = utcnow()
    for i in range(0, len(ids), 500):
        db.session.execute(sa.update(IntegrationSyncError).where(
            IntegrationSyncError.connection_id == connection.id, IntegrationSyncError.object_type == run.object_type,
            IntegrationSyncError.external_id.in_(ids[i:i + 500]), IntegrationSyncError.code == code,
            IntegrationSyncError.status.in_([ErrorStatus.OPEN.value, ErrorStatus.RETRYING.value,
                                             ErrorStatus.DEAD_LETTER.value]))
            .values(status=ErrorStatus.IGNORED.value, resolved_at=now, resolved_by_user_id=user.id,
                    resolution_reason=reason[:500], next_retry_at=None)
            .execution_options(synchronize_session=False))
    audit.record("sync.values_ignored", connection, user, run_id=run.id, object_type=run.object_type, code=code,
                 records=len(ids), new=len(new), reason=reason)
    db.session.commit()
    return len(ids)
