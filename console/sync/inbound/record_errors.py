"""The per-record failures of a page: a failed record's error opened or updated, a record that synced
closing its error, with the retry schedule failed records are read again on."""
from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from ...choices import ErrorStage, ErrorStatus
from ...connectors.base import SourceRecord
from ...extensions import db
from ...mapping.mapper import MappingSpec
from ...models import IntegrationErrorNote, IntegrationSyncError
from ...models.base import utcnow
from ...security.redact import redact_text
from .decision import Decision, mapped_of

MAX_ERROR_ATTEMPTS = 5


def retry_at(attempts: int) -> datetime:
    return utcnow() + timedelta(minutes=min(240, 5 * 2 ** (attempts - 1)))


class RecordErrors:
    """The open errors of one page's records, for the page writer."""

    def __init__(self, connection_id: int, object_type: str, spec: MappingSpec, run_id: int | None) -> None:
        self.connection_id, self.object_type, self.spec, self.run_id = connection_id, object_type, spec, run_id
        self.open: dict[str | None, IntegrationSyncError] = {}

    def load(self, ids: list[str]) -> None:
        """The page's records' open, retrying and ignored errors, read once per page."""
        self.open = {e.external_id: e for e in db.session.scalars(sa.select(IntegrationSyncError).where(
            IntegrationSyncError.connection_id == self.connection_id,
            IntegrationSyncError.object_type == self.object_type, IntegrationSyncError.external_id.in_(ids),
            IntegrationSyncError.status.in_([ErrorStatus.OPEN.value, ErrorStatus.RETRYING.value,
                                             ErrorStatus.IGNORED.value])))} if ids else {}

    def record(self, d: Decision) -> None:
        """A failed record's error: opened, or kept open with the new failure (an accepted one stays ignored)."""
        first = mapped_of(d).failures[0]
        stage = ErrorStage.VALIDATE.value if first.code in ("required_missing", "invalid_email") else ErrorStage.MAP.value
        value = self._offending_value(d.record, first.field)
        err = self.open.get(d.record.external_id)
        if err is None:
            self.open[d.record.external_id] = err = IntegrationSyncError(
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

    def resolve(self, external_id: str) -> None:
        err = self.open.get(external_id)
        if err is not None:
            err.status, err.resolved_at = ErrorStatus.RESOLVED.value, utcnow()
            by = f" in run #{self.run_id}" if self.run_id else ""
            err.resolution_reason = f"the record synced successfully{by}"
            if err.assignee_user_id is not None:  # the assignee's list says what closed it, and when
                db.session.add(IntegrationErrorNote(error_id=err.id, user_id=None,
                                                    body=f"Resolved{by}: the record synced successfully."))
