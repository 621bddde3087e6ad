"""Data-quality checks taken after each sync run, per connection and object type.

- required-field completeness: records that arrived without a required field are held back as open
  sync errors (`required_missing`), so completeness is clean records over clean + held-back ones;
- duplicate rate: extra copies of one contact email or one company name among the clean records;
- references that do not resolve: records held back for an unknown owner or deal stage, plus clean
  records whose owner the provider no longer lists.
Each is compared with the connection's thresholds (wizard, monitor step)."""
from __future__ import annotations

import logging
from dataclasses import dataclass

import sqlalchemy as sa

from ..choices import AlertSeverity, ErrorStatus, RunKind, RunStatus
from ..extensions import db
from ..mapping.objects import label as object_label
from ..models import (
    CrmLead,
    CsvImport,
    DataQualityCheck,
    IntegrationConnection,
    IntegrationSyncError,
    IntegrationSyncJob,
    IntegrationSyncRun,
)
from ..sync.runs.events import run_finished, safely

log = logging.getLogger(__name__)
DUPLICATE_KEY = {"contacts": ("email", CrmLead.email), "companies": ("company name", CrmLead.company_name)}
REFERENCE_CODES = ("unknown_owner", "unknown_stage")
DEFAULT_OBJECTS = ("contacts", "companies", "deals")
HELD_BACK = (ErrorStatus.OPEN.value, ErrorStatus.RETRYING.value, ErrorStatus.DEAD_LETTER.value)


@dataclass(frozen=True)
class Breach:
    check: str  # completeness | duplicates | references
    severity: AlertSeverity
    message: str


def measure(connection_id: int, object_type: str, owners: set[str] | None = None,
            run_id: int | None = None) -> DataQualityCheck:
    """Measure one object type of a connection as it stands now (the caller adds and commits)."""
    live = sa.and_(CrmLead.connection_id == connection_id, CrmLead.object_type == object_type,
                   CrmLead.archived.is_(False))
    stored = db.session.scalar(sa.select(sa.func.count()).select_from(CrmLead).where(live)) or 0
    held = dict(db.session.execute(
        sa.select(IntegrationSyncError.code, sa.func.count()).where(
            IntegrationSyncError.connection_id == connection_id, IntegrationSyncError.object_type == object_type,
            IntegrationSyncError.status.in_(HELD_BACK)).group_by(IntegrationSyncError.code)).all())
    unresolved = sum(held.get(code, 0) for code in REFERENCE_CODES)
    if owners:
        unresolved += db.session.scalar(sa.select(sa.func.count()).select_from(CrmLead).where(
            live, CrmLead.owner_external_id.isnot(None), CrmLead.owner_external_id.notin_(sorted(owners)))) or 0
    duplicates, key_name = 0, None
    if object_type in DUPLICATE_KEY:
        key_name, column = DUPLICATE_KEY[object_type]
        total, distinct = db.session.execute(sa.select(
            sa.func.count(column), sa.func.count(sa.distinct(sa.func.lower(column)))).where(live)).one()
        duplicates = int(total or 0) - int(distinct or 0)
    return DataQualityCheck(connection_id=connection_id, object_type=object_type, run_id=run_id,
                            records=stored + sum(held.values()), incomplete=held.get("required_missing", 0),
                            duplicates=duplicates, unresolved=unresolved,
                            details={"duplicate_key": key_name})


def after_run(run: IntegrationSyncRun, owners: set[str] | None) -> DataQualityCheck | None:
    """Check after a real sync that finished; never breaks the run that triggered it."""
    if run.dry_run or run.kind == RunKind.TEST_BATCH or run.status not in (RunStatus.SUCCEEDED, RunStatus.PARTIAL):
        return None
    try:
        check = measure(run.connection_id, run.object_type, owners, run.id)
        db.session.add(check)
        db.session.commit()
        return check
    except Exception:
        db.session.rollback()
        log.exception("data-quality check after run %s failed", run.id)
        return None


@run_finished.connect
@safely
def _on_run_finished(run: IntegrationSyncRun, owners: set[str] | None = None, **_: object) -> None:
    after_run(run, owners)


def latest(connection_ids: list[int]) -> dict[int, list[DataQualityCheck]]:
    """The newest check of each object type, per connection: one index lookup per connection and object
    type (those of its jobs and imports, and the CRM's own three), not a scan of every check taken."""
    if not connection_ids:
        return {}
    c = DataQualityCheck
    kinds = sorted(set(DEFAULT_OBJECTS) | set(db.session.scalars(sa.select(IntegrationSyncJob.object_type).distinct()))
                   | set(db.session.scalars(sa.select(CsvImport.object_type).distinct())))
    types = sa.union_all(*(sa.select(sa.literal(k).label("object_type")) for k in kinds)).subquery()
    newest = (sa.select(sa.func.max(c.id)).where(c.connection_id == IntegrationConnection.id,
                                                 c.object_type == types.c.object_type).scalar_subquery())
    ids = [i for i in db.session.scalars(sa.select(newest).select_from(IntegrationConnection).join(types, sa.true())
                                         .where(IntegrationConnection.id.in_(connection_ids))) if i]
    out: dict[int, list[DataQualityCheck]] = {}
    for check in db.session.scalars(sa.select(c).where(c.id.in_(ids)).order_by(c.object_type)):
        out.setdefault(check.connection_id, []).append(check)
    return out


def breaches(check: DataQualityCheck, conn: IntegrationConnection) -> list[Breach]:
    """What crosses the connection's thresholds; twice as far past a threshold is critical."""
    if not check.records:
        return []
    out, kind = [], check.object_type
    gap = conn.quality_completeness_pct - check.completeness_pct
    if gap > 0:
        out.append(Breach("completeness", AlertSeverity.CRITICAL if check.completeness_pct < 100 - 2 * (
            100 - conn.quality_completeness_pct) else AlertSeverity.WARNING,
            f"{object_label(kind, conn.id)}: {check.completeness_pct:.1f}% arrive with every required field "
            f"({check.incomplete} of {check.records} held back); the minimum is {conn.quality_completeness_pct}%."))
    for name, part, limit, words in (
            ("duplicates", check.duplicates, conn.quality_duplicate_pct,
             f"are extra copies of the same {(check.details or {}).get('duplicate_key') or 'key'}"),
            ("references", check.unresolved, conn.quality_unresolved_pct,
             "point at an owner or stage the provider does not know")):
        pct = check.pct(part)
        if pct > limit:
            out.append(Breach(name, AlertSeverity.CRITICAL if pct > 2 * limit else AlertSeverity.WARNING,
                              f"{object_label(kind, conn.id)}: {pct:.1f}% ({part} of {check.records}) {words}; "
                              f"the limit is {limit}%."))
    return out
