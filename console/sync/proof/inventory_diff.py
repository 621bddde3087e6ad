"""The comparison half of reconciliation: the provider's inventory against the stored records, id by id and
value by value.

The provider is read once, at its list endpoint, with the mapped properties (one call per 100 records);
each page is mapped with the current mapping and compared with the stored rows of the same ids, read for
that page only. The values compared are recomputed from the stored columns, never taken from a stored
hash, so a row edited by hand, written by a bug, restored from an old backup or mapped by a rule since
changed is found. Memory stays flat: a page of records at a time, plus the provider's ids in a packed
table (sync/inbound/versions.py, about 16 bytes an id) to find what is stored but unknown to the provider, which
a keyset pass over the stored ids then looks up, a chunk at a time.

  missing           active at the provider, not stored, no open error explains it
  extra             stored as active, archived at the provider or unknown to it
  stale             stored at another version than the provider's current one (newer included)
  value_drift       stored at the provider's version, but a mapped value differs from what the current
                    mapping makes of the provider's record (a field with a console change waiting for its
                    push is left out: it differs on purpose until the push)
  wrongly_archived  stored as archived, active at the provider
  failing           held by a sync error: open, retrying, or ignored by a person with a reason
  ignored           active at the provider but outside the job's eligibility conditions
  in_flight         changed at the provider since the newest completed sync started, and within the job's
                    schedule interval plus its freshness target: the next run takes it. Older, it is a
                    difference: syncs that fail for a day do not hide what they miss
  pending_push      created on the console side and waiting for its outbound push: never extra
  link_drift        associations that differ from the provider's (sync/proof/link_diff.py)
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa

from ...choices import ErrorStatus, RunKind, RunStatus
from ...connectors.base import SourceRecord
from ...extensions import db
from ...mapping.mapper import LEAD_FIELDS, MappingSpec, map_record
from ...mapping.targets import ATTRIBUTE
from ...models import (
    CrmLead,
    IntegrationConnection,
    IntegrationReconciliation,
    IntegrationSyncError,
    IntegrationSyncJob,
    IntegrationSyncRun,
)
from ...models.base import utcnow
from ..inbound.eligibility import ineligible_reason
from ..inbound.versions import Versions
from ..outbound.changes import PLACEHOLDER, pending_fields
from .link_diff import LinkComparison
from .reading import ahead, chunks

SYNC_KINDS = (RunKind.SCHEDULED.value, RunKind.MANUAL.value, RunKind.BACKFILL.value)
CHUNK = 500  # provider records compared per stored-rows query
STORED_CHUNK = 5000  # stored ids per keyset step of the extra pass
EXAMPLE_FIELDS = 10  # value_drift examples that keep the names of their differing fields
NOT_COMPARED = {"provider_updated_at", "follow_up_state"}  # the version (compared as such); clock-derived
COUNTS = ("provider_active", "provider_archived", "stored_active", "stored_archived", "missing", "extra", "stale",
          "value_drift", "wrongly_archived", "failing", "ignored", "in_flight", "pending_push", "link_drift")


@dataclass
class Comparison:
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTS, 0))
    ids: dict[str, list[str]] = field(default_factory=lambda: {k: [] for k in IntegrationReconciliation.KINDS})
    fields: dict[str, list[str]] = field(default_factory=dict)  # value_drift example id -> fields that differ
    archived_at: dict[str, int] = field(default_factory=dict)  # provider archive time of "extra" ids
    pending: list[str] = field(default_factory=list)  # pending_push examples

    def note(self, kind: str, external_id: str) -> None:
        self.counts[kind] += 1
        if kind in self.ids:
            self.ids[kind].append(external_id)

    @property
    def differences(self) -> int:
        return sum(self.counts[k] for k in IntegrationReconciliation.KINDS)


def ms(dt: datetime | None) -> int | None:
    return None if dt is None else int(round(dt.replace(tzinfo=UTC).timestamp() * 1000))


def in_flight_since(job: IntegrationSyncJob) -> datetime | None:
    """The start of the newest completed sync of this job: changes after it may not be read yet."""
    return db.session.scalar(sa.select(sa.func.max(IntegrationSyncRun.started_at)).where(
        IntegrationSyncRun.job_id == job.id, IntegrationSyncRun.dry_run.is_(False),
        IntegrationSyncRun.kind.in_(SYNC_KINDS),
        IntegrationSyncRun.status.in_([RunStatus.SUCCEEDED.value, RunStatus.PARTIAL.value])))


def compare(connection: IntegrationConnection, job: IntegrationSyncJob, session, spec: MappingSpec,
            now: datetime | None = None) -> tuple[Comparison, datetime | None]:
    """Read the provider's inventory and compare it with the stored records, id by id and value by value."""
    now = now or utcnow()
    since = in_flight_since(job)
    cutoff = ms(since)
    bound = ms(now - timedelta(seconds=job.schedule_seconds + (connection.freshness_target_seconds or 0)))

    def in_flight(rec: SourceRecord) -> bool:
        return cutoff is not None and bound is not None and rec.updated_ms >= max(cutoff, bound)

    eligibility = job.eligibility or []
    extra_fields = [c["field"] for c in eligibility if isinstance(c, dict) and c.get("field")]
    stream = session.stream(job.object_type, [])
    out, seen = Comparison(), Versions()
    compared = sorted(((set(LEAD_FIELDS) & {s.target for s in spec.plan}) - NOT_COMPARED) | set(spec.attribute_targets))
    scope = Scope(connection.id, job.object_type, compared)
    requested = spec.requested(extra_fields)
    spec = replace(spec, rules=[r for r in spec.rules if r.target not in NOT_COMPARED])  # not mapped for nothing
    linked = LinkComparison(session, connection.id, job.object_type)
    for chunk in ahead(chunks(stream.inventory(archived=False, properties=requested), CHUNK)):
        linked.check([r.external_id for r in chunk])
        stored = scope.stored(chunk)
        failing = scope.failing([r.external_id for r in chunk])
        waiting = pending_fields([row.id for row in stored.values()])
        for rec in chunk:
            seen.put(rec.external_id, rec.updated_ms, False)
            out.counts["provider_active"] += 1
            _classify(out, rec, stored.get(rec.external_id), rec.external_id in failing, in_flight, eligibility, spec,
                      compared, waiting)
    for chunk in chunks(stream.inventory(archived=True), CHUNK):
        fresh = [r for r in chunk if r.external_id not in seen]
        out.counts["provider_archived"] += len(fresh)
        active = {row.external_id for row in scope.stored(fresh).values() if not row.archived}
        for rec in fresh:
            seen.put(rec.external_id, rec.updated_ms, True)
            if rec.external_id in active:
                if in_flight(rec):
                    out.note("in_flight", rec.external_id)
                else:
                    out.note("extra", rec.external_id)
                    out.archived_at[rec.external_id] = rec.updated_ms
    for external_id, archived in scope.every_stored():
        out.counts["stored_archived" if archived else "stored_active"] += 1
        if archived or external_id in seen:
            continue
        if external_id.startswith(PLACEHOLDER):  # created here, waiting for its push: not the provider's
            out.counts["pending_push"] += 1
            if len(out.pending) < EXAMPLE_FIELDS:
                out.pending.append(external_id)
            continue
        out.note("extra", external_id)  # unknown to the provider
        out.archived_at[external_id] = 0
    linked.orphans(lambda external_id: (v := seen.get(external_id)) is not None and v % 2 == 0)  # even: active
    for external_id in linked.drifted:
        out.note("link_drift", external_id)
    return out, since


def _classify(out: Comparison, rec: SourceRecord, held: Any, failing: bool, in_flight, eligibility: list,
              spec: MappingSpec, compared: list[str], waiting: dict[int, set[str]]) -> None:
    ext = rec.external_id
    if ineligible_reason(rec.properties, eligibility):
        out.note("ignored", ext)
        return
    current = held is not None and not held.archived and ms(held.provider_updated_at) == rec.updated_ms
    if current:
        differing = _differing(rec, held, spec, compared, waiting.get(held.id, set()))
        if not differing:
            return
        if failing:
            out.note("failing", ext)
        else:
            out.note("value_drift", ext)
            if len(out.fields) < EXAMPLE_FIELDS:
                out.fields[ext] = differing
        return
    if failing:
        out.note("failing", ext)
    elif in_flight(rec):
        out.note("in_flight", ext)
    elif held is None:
        out.note("missing", ext)
    elif held.archived:
        out.note("wrongly_archived", ext)
    else:
        out.note("stale", ext)


def _differing(rec: SourceRecord, held: Any, spec: MappingSpec, compared: list[str], waiting: set[str]) -> list[str]:
    """The mapped fields whose stored value is not what the current mapping makes of the provider's record
    (a field the mapping cannot produce any more counts as differing: the next write would fail it)."""
    mapped = map_record(rec, spec)
    failed = {f.field for f in mapped.failures}
    values = mapped.values
    out = []
    for name in compared:
        stored, produced = held_value(held, name), values.get(name)
        if (stored == produced and name not in failed) or name in waiting:  # the common case, decided at once
            continue
        if name in failed or not same(stored, produced):
            out.append(name)
    return out


def held_value(held: Any, name: str) -> Any:
    """A stored row's value of a compared field: its column, or (`f.<field>`) its attributes' entry."""
    if name.startswith(ATTRIBUTE):
        return (held.attributes or {}).get(name[len(ATTRIBUTE):])
    return getattr(held, name)


def same(stored: Any, produced: Any) -> bool:
    """Equal as the column holds them: empty is empty, numbers by value, times to the microsecond (naive
    UTC), everything else as text."""
    if stored in (None, "") or produced in (None, ""):
        return stored in (None, "") and produced in (None, "")
    if isinstance(stored, Decimal) or isinstance(produced, Decimal):
        try:
            return Decimal(str(stored)) == Decimal(str(produced))
        except InvalidOperation:
            return False
    if isinstance(stored, datetime) and isinstance(produced, datetime):
        return stored.replace(tzinfo=None) == produced.astimezone(UTC).replace(tzinfo=None) \
            if produced.tzinfo else stored.replace(tzinfo=None) == produced
    return str(stored) == str(produced)


@dataclass
class Scope:
    """The stored side of one connection's object type, read a chunk at a time."""
    connection_id: int
    object_type: str
    compared: list[str]

    def _where(self) -> list:
        return [CrmLead.connection_id == self.connection_id, CrmLead.object_type == self.object_type]

    def stored(self, records: list[SourceRecord]) -> dict[str, Any]:
        if not records:
            return {}
        columns = [CrmLead.id, CrmLead.external_id, CrmLead.archived, CrmLead.provider_updated_at,
                   *(getattr(CrmLead, name) for name in self.compared if not name.startswith(ATTRIBUTE))]
        if any(name.startswith(ATTRIBUTE) for name in self.compared):
            columns.append(CrmLead.attributes)
        rows = db.session.execute(sa.select(*columns).where(
            *self._where(), CrmLead.external_id.in_([r.external_id for r in records])))
        return {row.external_id: row for row in rows}

    def failing(self, external_ids: list[str]) -> set[str]:
        return set(db.session.scalars(sa.select(IntegrationSyncError.external_id).where(
            IntegrationSyncError.connection_id == self.connection_id,
            IntegrationSyncError.object_type == self.object_type, IntegrationSyncError.external_id.in_(external_ids),
            IntegrationSyncError.status.in_([ErrorStatus.OPEN.value, ErrorStatus.RETRYING.value,
                                             ErrorStatus.IGNORED.value]))))

    def every_stored(self) -> Iterator[tuple[str, bool]]:
        """(external id, archived) of every stored record, by keyset over the primary key."""
        after = 0
        while True:
            rows = db.session.execute(sa.select(CrmLead.id, CrmLead.external_id, CrmLead.archived).where(
                *self._where(), CrmLead.id > after).order_by(CrmLead.id).limit(STORED_CHUNK)).all()
            if not rows:
                return
            for row in rows:
                yield row.external_id, bool(row.archived)
            after = rows[-1].id
