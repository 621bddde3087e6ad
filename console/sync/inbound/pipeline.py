"""One page of provider records through map → validate → upsert, in one transaction per database.

Order makes a crash anywhere safe: the traffic database (raw events, normalized events; both
deduplicated by event key) commits first, then the primary database commits the business rows, the
errors, the run's counts and the job's cursor together. A crash before the primary commit replays
the page from the old cursor; upserts and event keys make the replay a no-op where it already landed.
"""
from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, OperationalError

from ...connectors.base import Page, SourceRecord
from ...extensions import db
from ...mapping.mapper import MappingSpec, map_record
from ...models import CrmLead, IntegrationConnection, IntegrationSyncRun
from ...models.base import table, utcnow
from ...security.redact import redact_text
from ..outbound.changes import pending_fields
from ..runs.accounting import Tally
from ..runs.page_commit import PageCommit
from . import bulk, echoes
from .decision import STORED, TRACKED, Decision, Stored, lead_values, mapped_of, ms_to_dt, norm, older, short
from .eligibility import ineligible_reason
from .failures import cause
from .links import LinkWriter
from .plan import WritePlan
from .record_errors import RecordErrors
from .traffic_events import TrafficEvents
from .versions import Versions

WRITE_ATTEMPTS = 3
log = logging.getLogger(__name__)


class PageWriter:
    """Applies pages for one run. Newest wins: it keeps the version of every record it applied in this
    run, so a record met again (changed while the run paged, or returned by the archived pass) is
    applied when its copy is newer and counted a duplicate when it is not."""

    def __init__(self, connection: IntegrationConnection, object_type: str, spec: MappingSpec,
                 run: IntegrationSyncRun | None, source_label: str, eligibility: list | None, dry_run: bool,
                 tally: Tally, page_commit: PageCommit | None = None) -> None:
        self.connection, self.object_type, self.spec, self.run = connection, object_type, spec, run
        # Plain copies: the ORM expires its objects at every commit, and reading an expired id is a query.
        self.connection_id, self.client_id = connection.id, connection.client_id
        self.run_id = run.id if run is not None else None  # None: a preview, which writes nothing
        self.source_label, self.eligibility, self.dry_run, self.tally = source_label, eligibility, dry_run, tally
        self.versions = Versions()  # what this run applied of each record
        self.source_kind = "sync"  # normalized events say where a change came from: sync | webhook | csv
        # Freshness is measured only for changes made while we were watching (an incremental run, a
        # webhook); a backfill of years-old records says nothing about how fast changes reach us.
        self.measure_lag = False
        # A reconcile repair rewrites the records it reads even when their hash matches: the stored row
        # differs from the provider's although the hash says otherwise (edited by hand, or by a bug).
        self.rewrite = False
        # ... and, asked to (a repair), applies the provider's current copy even when the stored version is
        # newer than it: a stored version the provider never had can otherwise never be put right.
        self.force = False
        self._now = utcnow()
        self.errors = RecordErrors(self.connection_id, object_type, spec, self.run_id)
        self.traffic = TrafficEvents(self.connection_id, self.run_id, object_type, spec)
        self.links = LinkWriter(self.connection_id, object_type)
        # How each page's transaction ends: the run's figures, the lease check, the commit.
        self.page_commit = page_commit or PageCommit(run, tally)
        # Two-way objects: our own writes' echoes are recognised (the write ledger), and fields with a
        # console-side change still waiting for its outbound write keep the console's value.
        self.two_way = bool(spec.outbound_rules)
        self._ledger: dict[str, tuple[datetime | None, dict[str, str]]] = {}
        self._pending: dict[int, set[str]] = {}
        self._plan: WritePlan | None = None
        self._events: list[tuple] = []

    @property
    def plan(self) -> WritePlan:
        """The rows this run inserts, compiled at its first write (for the databases' dialects)."""
        if self._plan is None:
            self._plan = WritePlan(self.spec, (self.client_id, self.connection_id, self.run_id), self.object_type,
                                   self.source_label, db.session.connection().dialect, db.engines["traffic"].dialect)
        return self._plan

    # ---- deciding -----------------------------------------------------------------------------
    def _existing(self, ids: list[str]) -> dict[str, Stored]:
        if not ids:
            return {}
        rows = db.session.connection().execute(sa.select(*STORED).where(  # Core: no ORM bookkeeping
            CrmLead.connection_id == self.connection_id, CrmLead.object_type == self.object_type,
            CrmLead.external_id.in_(ids)))
        return {lead.external_id: lead for lead in rows}

    def _repeat(self, rec: SourceRecord, newest_in_page: dict[str, int], index: int) -> str | None:
        """Why this copy is not applied, when an equal or newer copy was met in this run or page."""
        if newest_in_page[rec.external_id] != index:
            return "another copy of this record in the same page was applied"
        applied = self.versions.get(rec.external_id)
        if applied is not None and Versions.pack(rec.updated_ms, rec.archived) <= applied:
            return "already read at this version in this run"
        return None

    def decide(self, records: list[SourceRecord]) -> list[Decision]:
        existing = self._existing([r.external_id for r in records])
        if self.two_way:
            self._ledger = echoes.ledger(self.connection_id, self.object_type, list(existing))
        newest_in_page: dict[str, int] = {}
        for i, rec in enumerate(records):
            j = newest_in_page.get(rec.external_id)
            if j is None or (rec.updated_ms, rec.archived) > (records[j].updated_ms, records[j].archived):
                newest_in_page[rec.external_id] = i
        out = []
        for i, rec in enumerate(records):
            lead = existing.get(rec.external_id)
            repeat = self._repeat(rec, newest_in_page, i)
            if repeat:
                out.append(Decision(rec, "duplicate", lead=lead, reason=repeat))
                continue
            out.append(self._decide_one(rec, lead))
        return out

    def _decide_one(self, rec: SourceRecord, lead: Stored | None) -> Decision:
        if rec.archived:  # only ever a provider-confirmed archive (archived list, batch read found nothing)
            if lead is None or lead.archived:
                return Decision(rec, "unchanged", lead=lead, reason="archived; nothing to archive here")
            return Decision(rec, "updated", lead=lead, reason="archived in the source")
        why_not = ineligible_reason(rec.properties, self.eligibility)
        if why_not:
            return Decision(rec, "unchanged", lead=lead, reason=f"ignored: {why_not}")
        if older(rec, lead) and not self.force:
            return Decision(rec, "unchanged", lead=lead, reason="older than the stored version")
        mapped = map_record(rec, self.spec)
        if rec.updated_ms:  # the stored version is the provider's, whatever the mapping says
            mapped.values["provider_updated_at"] = ms_to_dt(rec.updated_ms)
        if mapped.failures:
            reason = "; ".join(f.reason for f in mapped.failures)
            return Decision(rec, "failed", mapped, lead, redact_text(reason)[:1000])
        if lead is None:
            return Decision(rec, "created", mapped, None, "new record")
        if mapped.same_content(lead.content_hash) and not lead.archived and not self.rewrite:
            return Decision(rec, "unchanged", mapped, lead, "no mapped field changed")
        if self.two_way and not lead.archived and not self.rewrite and \
                echoes.is_echo(self._ledger.get(rec.external_id), rec, self.spec):
            return Decision(rec, "unchanged", mapped, lead, "our own write coming back (echo)", echo=True)
        return Decision(rec, "updated", mapped, lead, "mapped fields changed")

    # ---- writing ------------------------------------------------------------------------------
    def apply(self, page: Page, cursor_target: Any | None) -> list[Decision]:
        """Decide and write one page in its transactions. A page that loses a race (another writer
        inserted the same lead: a webhook during the first backfill) or a deadlock is decided again
        from the rows as they now are, a few times, before the run gives up."""
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            try:
                return self._apply_once(page, cursor_target)
            except (IntegrityError, OperationalError) as exc:
                db.session.rollback()
                if attempt == WRITE_ATTEMPTS or not transient(exc):
                    raise
                log.warning("page write of run %s lost a race (%s); deciding it again", self.run_id,
                            type(exc).__name__)
                time.sleep(0.05 * attempt)
        raise AssertionError("unreachable")

    def _apply_once(self, page: Page, cursor_target: Any | None) -> list[Decision]:
        before = self.tally.snapshot()
        self.tally.read(len(page.records))
        try:
            started = time.perf_counter()
            decisions = self.decide(page.records)
            decided = time.perf_counter()
            self.tally.clock("decide", decided - started)
            for d in decisions:
                why = cause(d.mapped.failures) if d.bucket == "failed" and d.mapped else None
                self.tally.add(d.record.external_id, d.bucket, d.reason, *((why.code, why.field) if why else ()))
            if self.dry_run:
                db.session.rollback()  # nothing of the page is written; only the run's counts move
                self.page_commit.store()
                db.session.commit()
            else:
                self._write(page, decisions, cursor_target)
            self.tally.clock("write", time.perf_counter() - decided)
        except BaseException:
            self.tally.restore(before)
            raise
        for d in decisions:
            if d.bucket != "duplicate":
                self.versions.put(d.record.external_id, d.record.updated_ms, d.record.archived)
        return decisions

    def _write(self, page: Page, decisions: list[Decision], cursor_target: Any | None) -> None:
        self._now = utcnow()  # one write time for the page's rows (a clock read per row and column was 4 %)
        self._rows = rows = self.plan.page(self._now)
        self.traffic.write(decisions, self.source_kind, self.measure_lag, rows)
        self.errors.load([d.record.external_id for d in decisions])
        self._events = []
        if self.two_way:
            self._pending = pending_fields([d.lead.id for d in decisions if d.lead is not None])
        updates = []
        for d in decisions:
            if d.bucket == "failed":
                self.errors.record(d)
            elif d.bucket == "updated" or d.echo:
                updates.append(self._update_row(d))
        conn = db.session.connection()
        bulk.update_many(conn, table(CrmLead), updates)
        self._insert_leads(conn, [d for d in decisions if d.bucket == "created"])
        self.plan.event_table.insert.execute(conn, self._events)
        if page.links:
            self.tally.linked(*self.links.write(conn, page.links))
        if cursor_target is not None:
            cursor_target.cursor = page.cursor
        self.page_commit.commit()  # with the run's figures, while this process still holds the job

    def _insert_leads(self, conn: sa.Connection, created: list[Decision]) -> None:
        """New leads in one executemany INSERT (one prepared statement, whatever the count; a multi-row
        INSERT … RETURNING was a new statement text, and a new cached SQLite statement, for every page
        size), then their ids, which feed the 'created' events, read back in one SELECT."""
        if not created:
            return
        rows = self._rows
        self.plan.lead_table.insert.execute(conn, [rows.lead(d) for d in created])
        ids = dict(conn.execute(sa.select(CrmLead.external_id, CrmLead.id).where(
            CrmLead.connection_id == self.connection_id, CrmLead.object_type == self.object_type,
            CrmLead.external_id.in_([d.record.external_id for d in created]))).all())
        for d in created:
            self.errors.resolve(d.record.external_id)
            self._event(ids[d.record.external_id], "created", None, None, None, d)

    def _update_row(self, d: Decision) -> dict:
        """The new column values of an updated lead (one row of the page's UPDATE), with its events."""
        self.errors.resolve(d.record.external_id)
        lead = d.lead
        assert lead is not None, "an update decision always carries its lead"
        if d.record.archived:  # an archived record may come without mapped values
            self._event(lead.id, "archived", None, None, None, d)
            return {"_id": lead.id, "archived": True, "archived_at": d.occurred, "updated_at": self._now}
        mapped = mapped_of(d)
        values = lead_values(mapped)
        for name in self._pending.get(lead.id, ()):  # the console's change waits for its outbound write
            values.pop(name, None)
        if d.echo:  # the version our write produced: stored as it is, no change to report
            return {"_id": lead.id, **values, "content_hash": mapped.content_hash(), "updated_at": self._now}
        for name, value in values.items():
            if name in TRACKED:
                old = getattr(lead, name)
                if norm(old) != norm(value):
                    self._event(lead.id, TRACKED[name], name, old, value, d)
        row = {"_id": lead.id, **values, "content_hash": mapped.content_hash(), "updated_at": self._now}
        if lead.archived:
            row["archived"], row["archived_at"] = False, None
            self._event(lead.id, "restored", None, None, None, d)
        return row

    def _event(self, lead_id: int, kind: str, field: str | None, old: Any, new: Any, d: Decision) -> None:
        self._events.append(self._rows.event(lead_id, kind, field, short(old), short(new), d))


def transient(exc: Exception) -> bool:
    """A duplicate key from a concurrent insert, a deadlock or lock timeout, a busy SQLite file."""
    if isinstance(exc, IntegrityError):
        return True
    code = getattr(getattr(exc, "orig", None), "args", [None])[0]
    return code in (1205, 1213) or "database is locked" in str(exc)
