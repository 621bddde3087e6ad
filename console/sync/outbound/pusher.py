"""The outbound push: console-side changes written to the provider, 100 records a call.

For each group of up to 100 leads with pending changes (in lead order): one batch read of the provider's current values
(only when a two-way field or a condition needs them), then per field: a conflict (changed on both sides
since the last sync) goes to its system of record and is kept as a conflict row; a condition may skip the
write; a value the provider already holds is not written. Then one batch update by id for records the
provider knows and one batch upsert per match key for records it does not (the job's keys in order, which
the intake's matching rules pre-fill; by default contacts on email, companies on domain, deals on the
console id property), so a push killed after its call and run again
updates what the first attempt created instead of duplicating it. The provider's ids are written back to
the leads, the written values' hashes go to the write ledger (the inbound side recognises their echo), and
the leads, changes, conflicts, ledger and the run's counts commit together per group."""
from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa

from ...choices import ChangeStatus, Direction, SystemOfRecord, WriteCondition
from ...connectors.base import SourceRecord, WriteInput, WriteResult
from ...extensions import db
from ...mapping.mapper import FieldRule, MappingSpec
from ...mapping.outbound import NotWritable, console_value, provider_value, writable
from ...models import CrmLead, CrmLeadChange, CrmLeadLink, CrmSyncConflict, CrmWriteLedger, IntegrationSyncRun
from ...models.base import utcnow
from ..runs.accounting import Tally
from ..runs.page_commit import PageCommit
from .changes import from_text, provider_id
from .keys import (
    CONSOLE_ID_PROPERTY,
    DUE,
    GROUP,
    MATCH_KEYS,
    MAX_ATTEMPTS,
    LeadPlan,
    at_ms,
    describe,
    match_for,
    match_keys,
    match_label,
    sources_of,
    unmatched,
    value_hash,
)
from .other_writes import OtherWrites

log = logging.getLogger(__name__)
class Pusher(OtherWrites):
    """Pushes one object type's pending changes for one run (or plans them, for a dry run)."""

    def __init__(self, run: IntegrationSyncRun | None, session: Any, spec: MappingSpec, tally: Tally,
                 dry_run: bool = False, console_id_property: bool = False, match_on: str | None = None,
                 page_commit: PageCommit | None = None) -> None:
        self.run, self.session, self.spec, self.tally, self.dry_run = run, session, spec, tally, dry_run
        self.run_id = run.id if run is not None else None
        self.connection_id = run.connection_id if run is not None else None
        self.object_type = spec.object_type
        self.rules = {r.target: r for r in spec.outbound_rules}
        self.console_id_property = console_id_property
        self.keys = match_keys(self.object_type, match_on)
        self.page_commit = page_commit or PageCommit(run, tally)  # how each group's transaction ends
        self.notes: dict[int, list[str]] = {}  # lead id -> why fields were not written
        self._holders: dict[str, CrmLead] = {}  # the group's leads already holding a written id
        self._ledger_rows: dict[tuple[str, str], CrmWriteLedger] = {}

    # ---- the loop ---------------------------------------------------------------------------------
    def push(self, connection_id: int) -> None:
        """Every due change of the connection's object type, group by group in lead order: each lead is
        met once per run (a change that fails waits for a later run, never loops in this one)."""
        self.connection_id = connection_id
        after = 0
        while True:
            lead_ids = [i for i in db.session.scalars(
                sa.select(CrmLeadChange.lead_id).where(
                    CrmLeadChange.lead_id.is_not(None),
                    CrmLeadChange.connection_id == connection_id, CrmLeadChange.object_type == self.object_type,
                    CrmLeadChange.status.in_(DUE), CrmLeadChange.attempts < MAX_ATTEMPTS,
                    CrmLeadChange.lead_id > after).group_by(CrmLeadChange.lead_id)
                .order_by(CrmLeadChange.lead_id).limit(GROUP)) if i is not None]
            if not lead_ids:
                return
            after = lead_ids[-1]
            self.group(lead_ids)
            self._end_group()

    def _due(self, model: type[CrmLeadChange] | type[CrmLeadLink], *where: Any):
        """The due rows of `model` for this connection and object type, GROUP at a time in id order,
        locked; each row is met once per run (a failure waits for a later run)."""
        after = 0
        while True:
            rows: list[Any] = list(db.session.scalars(sa.select(model).where(
                model.connection_id == self.connection_id, model.object_type == self.object_type,
                model.status.in_(DUE), model.attempts < MAX_ATTEMPTS, model.id > after, *where)
                .order_by(model.id).limit(GROUP).with_for_update()))
            if not rows:
                return
            after = rows[-1].id
            yield rows

    def _end_group(self) -> None:
        """A group ends in its own transaction with the run's counts (LeaseLost: the group's writes stay
        pending); a dry run's is rolled back."""
        if self.dry_run:
            db.session.rollback()
            return
        self.page_commit.commit()

    def group(self, lead_ids: list[int]) -> None:
        leads = {lead.id: lead for lead in db.session.scalars(sa.select(CrmLead).where(CrmLead.id.in_(lead_ids)))}
        changes: dict[int, list[CrmLeadChange]] = {}
        for change in db.session.scalars(sa.select(CrmLeadChange).where(
                CrmLeadChange.lead_id.in_(lead_ids), CrmLeadChange.status.in_(DUE),
                CrmLeadChange.attempts < MAX_ATTEMPTS).order_by(CrmLeadChange.id).with_for_update()):
            changes.setdefault(change.lead_id or 0, []).append(change)
        plans = [LeadPlan(leads[i], changes[i]) for i in lead_ids if i in leads and i in changes]
        self.tally.read(len(plans))
        current = self._current(plans)
        for plan in plans:
            self._decide(plan, current.get(provider_id(plan.lead) or ""))
        results: dict[int, WriteResult] = {}
        if not self.dry_run:
            for prop, writes in self._writes(plans).items():  # one call per match key (updates by id with the first)
                results.update((r.ref, r) for r in self.session.write(self.object_type, writes, prop))
        if results:
            self._prefetch(results.values())
        for plan in plans:
            self._settle(plan, results.get(plan.lead.id))

    # ---- deciding ---------------------------------------------------------------------------------
    def _current(self, plans: list[LeadPlan]) -> dict[str, SourceRecord]:
        """The provider's current copy of the group's known records: one batch read, only when a two-way
        field (conflicts) or a condition needs it."""
        needed = {r.target for r in self.rules.values() if r.direction == Direction.BOTH.value or r.condition}
        ids = [pid for p in plans if (pid := provider_id(p.lead)) and any(c.field in needed for c in p.changes)]
        if not ids:
            return {}
        props = sorted({r.source for r in self.rules.values()} | {a for r in self.rules.values()
                                                                  for a in sources_of(r)})
        return {r.external_id: r for r in self.session.stream(self.object_type, props).read(ids)}

    def _decide(self, plan: LeadPlan, current: SourceRecord | None) -> None:
        newest: dict[str, CrmLeadChange] = {}
        for change in plan.changes:  # one pending change per field; older leftovers give way to the newest
            if change.field in newest:
                self._close(newest[change.field], ChangeStatus.SUPERSEDED, "replaced by a later change")
            newest[change.field] = change
        for change in newest.values():
            rule = self.rules.get(change.field)
            if rule is None or not writable(rule):
                self._close(change, ChangeStatus.SKIPPED, "this field is not written to the CRM")
                continue
            self._decide_field(plan, change, rule, current)
        if not plan.properties:
            return
        if provider_id(plan.lead) is None:
            plan.key = match_for(plan.lead, self.keys, self.console_id_property)
            if plan.key is None:
                plan.failed = unmatched(self.object_type, self.keys, self.console_id_property)
            if self.console_id_property:
                plan.properties[CONSOLE_ID_PROPERTY] = str(plan.lead.id)

    def _decide_field(self, plan: LeadPlan, change: CrmLeadChange, rule: FieldRule,
                      current: SourceRecord | None) -> None:
        if current is not None:
            theirs = console_value(rule, self.spec, current.properties)
            if rule.direction == Direction.BOTH.value and theirs not in (change.base_value, change.value):
                winner = rule.system_of_record
                self._conflict(plan.lead, change, theirs, current, winner)
                if winner == SystemOfRecord.PROVIDER.value:
                    setattr(plan.lead, change.field, from_text(change.field, theirs))
                    plan.skipped += 1
                    self._close(change, ChangeStatus.SUPERSEDED, "changed in the CRM too; the CRM is the system of record")
                    return
            if rule.condition == WriteCondition.IF_EMPTY.value and theirs is not None and theirs != change.value:
                plan.skipped += 1
                self._close(change, ChangeStatus.SKIPPED, "condition: only if empty in the CRM, and it holds a value")
                return
            if rule.condition == WriteCondition.NOT_NEWER.value and current.updated_ms and \
                    at_ms(current.updated_ms) > change.updated_at:
                plan.skipped += 1
                self._close(change, ChangeStatus.SKIPPED, "condition: the CRM's value is newer than this change")
                return
            if theirs == change.value:
                self._close(change, ChangeStatus.WRITTEN, "the CRM already holds this value")
                return
        try:
            plan.properties[rule.source] = provider_value(rule, self.spec, change.value)
            plan.texts[rule.source] = change.value
            plan.written.append(change)
        except NotWritable as exc:
            plan.failed = str(exc)[:500]
            plan.written.append(change)

    def _writes(self, plans: list[LeadPlan]) -> dict[str, list[WriteInput]]:
        """The group's writes by the CRM property they upsert on; updates by id go with the first key."""
        out: dict[str, list[WriteInput]] = {}
        for plan in plans:
            if not plan.properties or plan.failed:
                continue
            pid = provider_id(plan.lead)
            if pid is not None:
                out.setdefault(self.keys[0], []).append(WriteInput(plan.lead.id, plan.properties, id=pid))
            elif plan.key is not None:
                out.setdefault(plan.key[0], []).append(WriteInput(plan.lead.id, plan.properties, key=plan.key[1]))
        return out

    # ---- settling ---------------------------------------------------------------------------------
    def _settle(self, plan: LeadPlan, result: WriteResult | None) -> None:
        ext = plan.lead.external_id
        if plan.failed or (result is not None and result.error):
            why = plan.failed or (result.error if result is not None and result.error else "")
            for change in plan.written:
                self._fail(change, why)
            self.tally.add(ext, "failed", why[:500])
            return
        if self.dry_run:
            bucket = ("created" if provider_id(plan.lead) is None else "updated") if plan.properties else \
                ("skipped" if plan.skipped else "unchanged")
            self.tally.add(ext, bucket, self._describe(plan))
            return
        if result is None:  # nothing to write: every change was settled while deciding
            self.tally.add(ext, "skipped" if plan.skipped else "unchanged", self._describe(plan))
            return
        if provider_id(plan.lead) is None:
            self._adopt(plan.lead, str(result.id))
        self._ledger(plan, result)
        for change in plan.written:
            self._close(change, ChangeStatus.WRITTEN, "")
        self.tally.add(plan.lead.external_id, "created" if result.created else "updated", self._describe(plan))

    def _prefetch(self, results) -> None:
        """One query each for the group's write-back collisions and ledger rows (not one per record)."""
        ids = sorted({str(r.id) for r in results if r.id and not r.error})
        self._holders = {lead.external_id: lead for lead in db.session.scalars(sa.select(CrmLead).where(
            CrmLead.connection_id == self.connection_id, CrmLead.object_type == self.object_type,
            CrmLead.external_id.in_(ids)))} if ids else {}
        self._ledger_rows = {(row.external_id, row.property): row for row in db.session.scalars(
            sa.select(CrmWriteLedger).where(
                CrmWriteLedger.connection_id == self.connection_id, CrmWriteLedger.object_type == self.object_type,
                CrmWriteLedger.external_id.in_(ids)))} if ids else {}

    def _describe(self, plan: LeadPlan) -> str:
        return describe(plan, self.spec.sensitive_fields, self.notes.get(plan.lead.id, []))

    def _adopt(self, lead: CrmLead, external_id: str) -> None:
        """ID write-back: the CRM's id becomes the lead's. When an inbound sync already holds a lead with
        that id (an upsert that matched an existing CRM record), the console-side lead folds into it."""
        holder = self._holders.get(external_id)
        if holder is None or holder is lead:
            lead.external_id = external_id
            return
        for change in db.session.scalars(sa.select(CrmLeadChange).where(CrmLeadChange.lead_id == lead.id)):
            setattr(holder, change.field, getattr(lead, change.field))
            change.lead_id = holder.id
        db.session.execute(sa.update(CrmSyncConflict).where(CrmSyncConflict.lead_id == lead.id).values(lead_id=holder.id))
        from ...models import CrmLeadEvent

        db.session.execute(sa.update(CrmLeadEvent).where(CrmLeadEvent.lead_id == lead.id).values(lead_id=holder.id))
        db.session.flush()
        db.session.delete(lead)

    def _ledger(self, plan: LeadPlan, result: WriteResult) -> None:
        now, updated = utcnow(), at_ms(result.updated_ms) if result.updated_ms else None
        ext = str(result.id)
        for prop, value in plan.texts.items():  # the console's text of each value: both sides map to it
            row = self._ledger_rows.get((ext, prop))
            if row is None:
                row = self._ledger_rows[(ext, prop)] = CrmWriteLedger(
                    connection_id=self.connection_id, object_type=self.object_type, external_id=ext, property=prop)
                db.session.add(row)
            row.value_hash, row.written_at, row.provider_updated_at, row.run_id = value_hash(value), now, updated, self.run_id

    def _conflict(self, lead: CrmLead, change: CrmLeadChange, theirs: str | None, current: SourceRecord,
                  winner: str) -> None:
        if self.dry_run:
            return
        db.session.add(CrmSyncConflict(
            connection_id=self.connection_id, object_type=self.object_type, lead_id=lead.id, field=change.field,
            console_value=change.value, provider_value=theirs, console_at=change.updated_at,
            provider_at=at_ms(current.updated_ms) if current.updated_ms else None, winner=winner, run_id=self.run_id))

    def _close(self, change: CrmLeadChange, status: ChangeStatus, note: str) -> None:
        if note and change.lead_id is not None:
            self.notes.setdefault(change.lead_id, []).append(f"{change.field}: {note}")
        if self.dry_run:
            return
        change.status, change.note, change.run_id, change.done_at = status.value, note, self.run_id, utcnow()

    def _fail(self, row: CrmLeadChange | CrmLeadLink, why: str) -> None:
        """A change or an association that failed: retried by the next pushes, dead-lettered after five."""
        if self.dry_run:
            return
        row.attempts += 1
        row.status = (ChangeStatus.DEAD_LETTER if row.attempts >= MAX_ATTEMPTS else ChangeStatus.FAILED).value
        row.note, row.run_id = why[:500], self.run_id


__all__ = ["CONSOLE_ID_PROPERTY", "MATCH_KEYS", "Pusher", "at_ms", "match_keys", "match_label", "value_hash"]
