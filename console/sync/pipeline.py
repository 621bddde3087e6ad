"""One page of provider records through map → validate → upsert, in one transaction per database.

Order makes a crash anywhere safe: the traffic database (raw events, normalized events; both
deduplicated by event key) commits first, then the primary database commits the business rows, the
errors, the run's counts and the job's cursor together. A crash before the primary commit replays
the page from the old cursor; upserts and event keys make the replay a no-op where it already landed.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from ..choices import ErrorStage, ErrorStatus
from ..connectors.base import Page, SourceRecord
from ..extensions import db
from ..mapping.mapper import LEAD_FIELDS, Mapped, MappingSpec, map_record
from ..models import (
    CrmLead,
    CrmLeadEvent,
    IntegrationConnection,
    IntegrationNormalizedEvent,
    IntegrationRawEvent,
    IntegrationSyncError,
    IntegrationSyncRun,
)
from ..models.base import table, utcnow
from ..security.redact import drop_keys, redact_text
from . import bulk, echoes
from .accounting import Tally
from .changes import pending_fields
from .eligibility import ineligible_reason
from .failures import cause
from .versions import Versions

TRACKED = {"deal_stage": "stage_changed", "owner_external_id": "owner_changed", "lead_status": "status_changed",
           "lifecycle_stage": "lifecycle_changed", "amount": "amount_changed", "pipeline": "pipeline_changed"}
MAX_ERROR_ATTEMPTS = 5
WRITE_ATTEMPTS = 3
log = logging.getLogger(__name__)
# What deciding and writing need of a stored lead, read as plain rows (no ORM objects on the hot path).
STORED = (CrmLead.id, CrmLead.external_id, CrmLead.content_hash, CrmLead.archived, CrmLead.provider_updated_at,
          *(getattr(CrmLead, f) for f in TRACKED))
Stored = Any  # a row of STORED: attribute access by column name


@dataclass(slots=True)
class Decision:
    record: SourceRecord
    bucket: str
    mapped: Mapped | None = None
    lead: Stored | None = None
    reason: str = ""
    echo: bool = False  # our own outbound write coming back: stored silently, no lead event

    event_key: str = field(init=False)
    occurred: datetime | None = field(init=False)  # the provider's modification time

    def __post_init__(self) -> None:
        rec = self.record
        self.event_key = f"{rec.external_id}:{rec.updated_ms}:{'a' if rec.archived else 'l'}"
        self.occurred = _ms_to_dt(rec.updated_ms)


class PageWriter:
    """Applies pages for one run. Newest wins: it keeps the version of every record it applied in this
    run, so a record met again (changed while the run paged, or returned by the archived pass) is
    applied when its copy is newer and counted a duplicate when it is not."""

    def __init__(self, connection: IntegrationConnection, object_type: str, spec: MappingSpec,
                 run: IntegrationSyncRun | None, source_label: str, eligibility: list | None, dry_run: bool,
                 tally: Tally) -> None:
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
        self._dropping: dict[str, bool] = {}  # property name -> dropped from raw payloads (sensitive)
        # Called just before each page's commit, to store more of the run's figures in the same transaction.
        self.before_commit: Callable[[], None] | None = None
        # Checks, in each page's transaction, that this process still holds the job (sync/lease.fence).
        self.fence: Callable[[], None] | None = None
        # Two-way objects: our own writes' echoes are recognised (the write ledger), and fields with a
        # console-side change still waiting for its outbound write keep the console's value.
        self.two_way = bool(spec.outbound_rules)
        self._ledger: dict[str, tuple[datetime | None, dict[str, str]]] = {}
        self._pending: dict[int, set[str]] = {}

    # ---- deciding -----------------------------------------------------------------------------
    def _existing(self, ids: list[str]) -> dict[str, Stored]:
        if not ids:
            return {}
        rows = db.session.connection().execute(sa.select(*STORED).where(  # Core: no ORM bookkeeping
            CrmLead.connection_id == self.connection_id, CrmLead.object_type == self.object_type,
            CrmLead.external_id.in_(ids)))
        return {lead.external_id: lead for lead in rows}

    def _load_open_errors(self, ids: list[str]) -> None:
        self._errors = {e.external_id: e for e in db.session.scalars(sa.select(IntegrationSyncError).where(
            IntegrationSyncError.connection_id == self.connection_id,
            IntegrationSyncError.object_type == self.object_type, IntegrationSyncError.external_id.in_(ids),
            IntegrationSyncError.status.in_([ErrorStatus.OPEN.value, ErrorStatus.RETRYING.value,
                                             ErrorStatus.IGNORED.value])))} if ids else {}

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
        if _older(rec, lead) and not self.force:
            return Decision(rec, "unchanged", lead=lead, reason="older than the stored version")
        mapped = map_record(rec, self.spec)
        if rec.updated_ms:  # the stored version is the provider's, whatever the mapping says
            mapped.values["provider_updated_at"] = _ms_to_dt(rec.updated_ms)
        if mapped.failures:
            reason = "; ".join(f.reason for f in mapped.failures)
            return Decision(rec, "failed", mapped, lead, redact_text(reason)[:1000])
        if lead is None:
            return Decision(rec, "created", mapped, None, "new record")
        if lead.content_hash == mapped.content_hash() and not lead.archived and not self.rewrite:
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
                if attempt == WRITE_ATTEMPTS or not _transient(exc):
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
                self._store_counts()
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
        self._write_traffic(decisions)
        self._load_open_errors([d.record.external_id for d in decisions])
        self._events: list[dict] = []
        if self.two_way:
            self._pending = pending_fields([d.lead.id for d in decisions if d.lead is not None])
        updates = []
        for d in decisions:
            if d.bucket == "failed":
                self._record_error(d)
            elif d.bucket == "updated" or d.echo:
                updates.append(self._update_row(d))
        conn = db.session.connection()
        bulk.update_many(conn, table(CrmLead), updates)
        self._insert_leads(conn, [d for d in decisions if d.bucket == "created"])
        bulk.insert_many(conn, table(CrmLeadEvent), self._events)
        if cursor_target is not None:
            cursor_target.cursor = page.cursor
        self._store_counts()
        if self.fence is not None:
            self.fence()  # still the job's holder? (raises LeaseLost, and nothing of the page commits)
        db.session.commit()

    def _insert_leads(self, conn: sa.Connection, created: list[Decision]) -> None:
        """New leads in one executemany INSERT (one prepared statement, whatever the count; a multi-row
        INSERT … RETURNING was a new statement text, and a new cached SQLite statement, for every page
        size), then their ids, which feed the 'created' events, read back in one SELECT."""
        if not created:
            return
        rows = [{"client_id": self.client_id, "connection_id": self.connection_id,
                 "object_type": self.object_type, "external_id": d.record.external_id,
                 "source_label": self.source_label, "content_hash": mapped.content_hash(), **_lead_values(mapped),
                 "created_at": self._now, "updated_at": self._now}
                for d in created for mapped in (_mapped(d),)]
        bulk.insert_many(conn, table(CrmLead), rows)
        ids = dict(conn.execute(sa.select(CrmLead.external_id, CrmLead.id).where(
            CrmLead.connection_id == self.connection_id, CrmLead.object_type == self.object_type,
            CrmLead.external_id.in_([d.record.external_id for d in created]))).all())
        for d in created:
            self._resolve_error(d.record.external_id)
            self._event(ids[d.record.external_id], "created", None, None, None, d)

    def _write_traffic(self, decisions: list[Decision]) -> None:
        """Raw and normalized events, committed in the traffic database before any business row."""
        keys = [d.event_key for d in decisions if d.bucket != "duplicate"]
        if not keys:
            return
        with Session(db.engines["traffic"]) as traffic:
            self._add_traffic(traffic, decisions, keys)
            traffic.commit()

    def _add_traffic(self, traffic: Session, decisions: list[Decision], keys: list[str]) -> None:
        conn = traffic.connection()
        have = set(conn.scalars(sa.select(IntegrationRawEvent.event_key).where(
            IntegrationRawEvent.connection_id == self.connection_id, IntegrationRawEvent.event_key.in_(keys))))
        have_norm = set(conn.scalars(sa.select(IntegrationNormalizedEvent.source_ref).where(
            # per connection: two connections to one portal read the same record at the same version
            IntegrationNormalizedEvent.connection_id == self.connection_id,
            IntegrationNormalizedEvent.source_kind == self.source_kind,
            IntegrationNormalizedEvent.source_ref.in_(keys))))
        sensitive, now = self.spec.sensitive_fields, self._now
        raw_rows, normalized_rows = [], []
        for d in decisions:
            if d.bucket == "duplicate" or d.event_key in have:
                continue
            have.add(d.event_key)
            rec = d.record
            raw_rows.append({"connection_id": self.connection_id, "run_id": self.run_id, "object_type": self.object_type,
                             "external_id": rec.external_id, "event_key": d.event_key, "created_at": now,
                             "payload": self._payload(rec.properties, sensitive),
                             "provider_updated_at": d.occurred})
            if d.bucket in ("created", "updated") and d.event_key not in have_norm:
                normalized_rows.append({
                    "connection_id": self.connection_id, "source_kind": self.source_kind, "source_ref": d.event_key,
                    "object_type": self.object_type, "external_id": rec.external_id,
                    "lead_id": d.lead.id if d.lead else None, "created_at": now,
                    "event_type": "archived" if rec.archived else d.bucket,
                    "summary": {"changed": sorted(_changes(d).keys())}, "occurred_at": d.occurred,
                    "lag_ms": self._lag_ms(d, now)})
        for model, rows in ((IntegrationRawEvent, raw_rows), (IntegrationNormalizedEvent, normalized_rows)):
            bulk.insert_many(conn, table(model), rows)

    def _payload(self, properties: dict, sensitive: set[str]) -> dict:
        """The properties without the sensitive ones (dropped, not masked). Which keys to drop is
        decided once per key name: pages repeat the same names."""
        if not sensitive:
            return properties
        dropping = self._dropping
        for key in properties:
            if key not in dropping:
                dropping[key] = not drop_keys({key: None}, sensitive)
        if not any(dropping[key] for key in properties):
            return properties
        return {k: v for k, v in properties.items() if not dropping[k]}

    def _lag_ms(self, d: Decision, now: datetime) -> int | None:
        """Our write minus the provider's modification time (a clock ahead of ours counts as no lag)."""
        if not self.measure_lag or d.occurred is None:
            return None
        return max(0, int((now - d.occurred).total_seconds() * 1000))

    def _update_row(self, d: Decision) -> dict:
        """The new column values of an updated lead (one row of the page's UPDATE), with its events."""
        self._resolve_error(d.record.external_id)
        lead = d.lead
        assert lead is not None, "an update decision always carries its lead"
        if d.record.archived:  # an archived record may come without mapped values
            self._event(lead.id, "archived", None, None, None, d)
            return {"_id": lead.id, "archived": True, "archived_at": d.occurred, "updated_at": self._now}
        mapped = _mapped(d)
        values = _lead_values(mapped)
        for name in self._pending.get(lead.id, ()):  # the console's change waits for its outbound write
            values.pop(name, None)
        if d.echo:  # the version our write produced: stored as it is, no change to report
            return {"_id": lead.id, **values, "content_hash": mapped.content_hash(), "updated_at": self._now}
        for name, value in values.items():
            if name in TRACKED:
                old = getattr(lead, name)
                if _norm(old) != _norm(value):
                    self._event(lead.id, TRACKED[name], name, old, value, d)
        row = {"_id": lead.id, **values, "content_hash": mapped.content_hash(), "updated_at": self._now}
        if lead.archived:
            row["archived"], row["archived_at"] = False, None
            self._event(lead.id, "restored", None, None, None, d)
        return row

    def _event(self, lead_id: int, kind: str, field: str | None, old: Any, new: Any, d: Decision) -> None:
        self._events.append({"lead_id": lead_id, "connection_id": self.connection_id, "run_id": self.run_id,
                             "kind": kind, "field": field, "old_value": _short(old), "new_value": _short(new),
                             "occurred_at": d.occurred, "created_at": self._now})

    def _open_error(self, external_id: str) -> IntegrationSyncError | None:
        return self._errors.get(external_id)

    def _record_error(self, d: Decision) -> None:
        first = _mapped(d).failures[0]
        stage = ErrorStage.VALIDATE.value if first.code in ("required_missing", "invalid_email") else ErrorStage.MAP.value
        value = self._offending_value(d.record, first.field)
        err = self._open_error(d.record.external_id)
        if err is None:
            self._errors[d.record.external_id] = err = IntegrationSyncError(
                run_id=self.run_id, connection_id=self.connection_id, object_type=self.object_type,
                external_id=d.record.external_id, stage=stage, code=first.code, message=d.reason,
                status=ErrorStatus.OPEN.value, attempts=1, next_retry_at=retry_at(1), field=first.field[:80],
                value=value)
            db.session.add(err)
            return
        err.field, err.value = first.field[:80], value
        if err.status == ErrorStatus.IGNORED.value and err.code == first.code:
            err.run_id, err.message = self.run_id, d.reason  # still the value a person accepted: stays ignored
        else:
            if err.status == ErrorStatus.IGNORED.value:  # a new kind of failure: nobody accepted this one
                err.status, err.attempts, err.next_retry_at = ErrorStatus.OPEN.value, 1, retry_at(1)
                err.resolved_at = err.resolved_by_user_id = err.resolution_reason = None
            err.run_id, err.code, err.message, err.stage = self.run_id, first.code, d.reason, stage

    def _offending_value(self, rec: SourceRecord, target: str) -> str | None:
        """The source value a failure is about, for triage: masked when its field is sensitive."""
        for rule in self.spec.rules:
            if rule.target == target:
                if rule.sensitive or rule.source in self.spec.sensitive_fields:
                    return "[sensitive: hidden]"
                raw = rec.properties.get(rule.source)
                return None if raw is None else redact_text(str(raw))[:200]
        return None

    def _resolve_error(self, external_id: str) -> None:
        err = self._open_error(external_id)
        if err is not None:
            err.status, err.resolved_at = ErrorStatus.RESOLVED.value, utcnow()
            err.resolution_reason = "the record synced successfully"

    def _store_counts(self) -> None:
        assert self.run is not None, "only a preview has no run, and a preview writes nothing"
        self.tally.store_on(self.run)
        self.run.heartbeat_at = utcnow()
        if self.before_commit is not None:
            self.before_commit()


def _transient(exc: Exception) -> bool:
    """A duplicate key from a concurrent insert, a deadlock or lock timeout, a busy SQLite file."""
    if isinstance(exc, IntegrityError):
        return True
    code = getattr(getattr(exc, "orig", None), "args", [None])[0]
    return code in (1205, 1213) or "database is locked" in str(exc)


def _older(rec: SourceRecord, lead: Stored | None) -> bool:
    """A late or reordered delivery must never overwrite newer data with older."""
    if lead is None or lead.provider_updated_at is None or not rec.updated_ms:
        return False
    return _ms_to_dt(rec.updated_ms) < lead.provider_updated_at


def _lead_values(mapped: Mapped) -> dict:
    return {k: v for k, v in mapped.values.items() if k in LEAD_FIELDS or k == "follow_up_state"}


def retry_at(attempts: int) -> datetime:
    return utcnow() + timedelta(minutes=min(240, 5 * 2 ** (attempts - 1)))


def _changes(d: Decision) -> dict:
    if d.mapped is None or d.lead is None:
        return {}
    return {k: v for k, v in d.mapped.values.items() if k in TRACKED and _norm(getattr(d.lead, k, None)) != _norm(v)}


def _norm(value: Any) -> str | None:
    return None if value is None else str(value)


def _short(value: Any) -> str | None:
    return None if value is None else str(value)[:500]


_EPOCH = datetime(1970, 1, 1)


def _ms_to_dt(ms: int | None) -> datetime | None:
    """Naive UTC from epoch milliseconds, in integer arithmetic (the same instant fromtimestamp gives,
    without the float and time-zone round trip: it runs two or three times per record)."""
    return None if not ms else _EPOCH + timedelta(milliseconds=ms)


def _mapped(d: Decision) -> Mapped:
    """A decision's mapped values; every created, updated or failed decision has them."""
    assert d.mapped is not None, f"{d.bucket} decision of {d.record.external_id} without mapped values"
    return d.mapped
