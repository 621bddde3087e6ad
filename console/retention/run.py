"""Apply the retention policies: archive, then delete, the rows past their age, a batch at a time (each
batch its own short transaction: no long locks). A dry run counts what would go and changes nothing.
A crash between a batch's archive and its delete archives the batch again next time, into the same file."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import current_app

from ..extensions import db
from ..mapping.service import governed_fields
from ..models import IntegrationFieldMapping
from ..models.base import utcnow
from . import archive, uploads
from .policy import Policy, policies

BATCH = 1000
log = logging.getLogger(__name__)


@dataclass
class Outcome:
    table: str
    days: int | None
    cutoff: datetime | None
    due: int = 0  # rows past their age (a dry run stops here)
    archived: int = 0
    deleted: int = 0
    files: int = 0


def archive_dir() -> Path:
    folder = Path(current_app.config.get("ARCHIVE_DIR") or Path(current_app.instance_path) / "archive")
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def run(dry_run: bool = False, now: datetime | None = None, batch: int = BATCH) -> list[Outcome]:
    now = now or utcnow()
    folder = None if dry_run else archive_dir()
    out = []
    for policy in policies():
        if policy.model is None or policy.days is None:
            out.append(Outcome(policy.table, None, None))
            continue
        cutoff = now - timedelta(days=policy.days)
        outcome = Outcome(policy.table, policy.days, cutoff, due=count_due(policy, cutoff))
        if not dry_run and outcome.due:
            assert folder is not None
            _apply(policy, cutoff, folder, batch, outcome)
        out.append(outcome)
    cutoff, due, expired = uploads.expire(now, dry_run)
    out.append(Outcome(uploads.TABLE, uploads.keep_days(), cutoff, due=due, deleted=expired))
    return out


def _where(policy: Policy, cutoff: datetime) -> list:
    model = policy.model
    where: list[Any] = [getattr(model, policy.time_column) < cutoff]
    if policy.states:
        where.append(getattr(model, policy.state_column).in_(policy.states))
    for ref, column in policy.referenced_by:
        where.append(~sa.exists().where(getattr(ref, column) == model.id))
    if policy.rollup:  # keep the day's last reading of each series
        keep = (sa.select(sa.func.max(model.id)).where(getattr(model, policy.time_column) < cutoff)
                .group_by(model.connection_id, model.metric_key, sa.func.date(getattr(model, policy.time_column))))
        where.append(model.id.not_in(keep.scalar_subquery()))
    return where


def count_due(policy: Policy, cutoff: datetime) -> int:
    n = db.session.scalar(sa.select(sa.func.count()).select_from(policy.model).where(*_where(policy, cutoff)))
    db.session.rollback()
    return int(n or 0)


def _apply(policy: Policy, cutoff: datetime, folder: Path, batch: int, outcome: Outcome) -> None:
    model, sensitive = policy.model, _Sensitive()
    last_id = 0
    while True:
        rows = db.session.scalars(sa.select(model).where(*_where(policy, cutoff), model.id > last_id)
                                  .order_by(model.id).limit(batch)).all()
        if not rows:
            return
        last_id = rows[-1].id
        ids = [r.id for r in rows]
        dicts = [archive.row_dict(r, sensitive.of(getattr(r, "connection_id", None))) for r in rows]
        for day, group in archive.by_day(dicts, policy.time_column).items():
            archive.write(folder, policy.table, day, group)
            outcome.files += 1
        outcome.archived += len(dicts)
        db.session.rollback()  # nothing read is kept open while deleting
        # still past its age and in a removable state (a webhook event replayed meanwhile stays; its
        # archived copy is harmless)
        guard = [getattr(model, policy.time_column) < cutoff]
        if policy.states:
            guard.append(getattr(model, policy.state_column).in_(policy.states))
        deleted = db.session.execute(sa.delete(model).where(model.id.in_(ids), *guard)
                                     .execution_options(synchronize_session=False))
        outcome.deleted += int(deleted.rowcount)  # type: ignore[attr-defined]
        db.session.commit()


class _Sensitive:
    """Per connection, the field names whose values never leave the source (both the provider's property
    and our field), read once per run."""

    def __init__(self) -> None:
        self._by_connection: dict[int | None, set[str]] = {}

    def of(self, connection_id: int | None) -> set[str]:
        if connection_id not in self._by_connection:
            names: set[str] = set()
            if connection_id is not None:
                for source, target in db.session.execute(sa.select(
                        IntegrationFieldMapping.source_field, IntegrationFieldMapping.target_field).where(
                        IntegrationFieldMapping.connection_id == connection_id,
                        IntegrationFieldMapping.sensitive.is_(True))):
                    names.update({source.lower(), target.lower()})
                names.update(*governed_fields(connection_id))
            self._by_connection[connection_id] = names
        return self._by_connection[connection_id]
